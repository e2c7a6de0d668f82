"""APScheduler jobs that call the same services and renderers as the slash commands."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from slack_sdk import WebClient

from bot.render.slack import SlackMessage
from bot.wiring import Services
from scheduler.jobs import REPORTS, Poster, run_due_report

log = logging.getLogger(__name__)


def slack_poster(client: WebClient) -> Poster:
    def post(channel: str, message: SlackMessage) -> None:
        client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)

    return post


def start_scheduler(services: Services, client: WebClient) -> BackgroundScheduler:
    config = services.config
    post = slack_poster(client)
    scheduler = BackgroundScheduler(timezone=config.slack.tz)
    grace = int(config.schedules.misfire_grace / timedelta(seconds=1))
    for kind, build in REPORTS.items():
        cron = getattr(config.schedules, kind)
        scheduler.add_job(
            run_due_report,
            CronTrigger.from_crontab(cron, timezone=config.slack.tz),
            args=[services, kind, cron, build, post],
            id=f"report:{kind}",
            name=f"{kind} report",
            misfire_grace_time=grace,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        # Catch up a post missed while the bot was down (within the grace); the claim prevents doubles.
        scheduler.add_job(
            run_due_report,
            args=[services, kind, cron, build, post],
            id=f"catch-up:{kind}",
            name=f"{kind} report catch-up",
        )
    scheduler.start()
    return scheduler
