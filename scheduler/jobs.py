"""Scheduled posts: exactly once per scheduled time, late within the grace, never stale.

A post is claimed in the state store under (kind, scheduled time) before it is built, so two
replicas, or a catch-up run at start-up and the cron firing, cannot post it twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.metrics import SCHEDULED_POSTS
from bot.render.slack import SlackMessage
from bot.wiring import Services

log = logging.getLogger(__name__)

# A report that runs this much after its time is marked late.
LATE_AFTER = timedelta(minutes=2)
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"

Builder = Callable[[Services, timedelta | None], SlackMessage]
Poster = Callable[[str, SlackMessage], None]


class Outcome(StrEnum):
    POSTED = "posted"
    NOT_DUE = "not_due"
    STALE = "stale"
    ALREADY_CLAIMED = "already_claimed"
    FAILED = "failed"


def last_fire_time(cron: str, tz: ZoneInfo, now: datetime, window: timedelta) -> datetime | None:
    """The latest time `cron` fired in (now - window, now], or None."""
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    start = now - window - timedelta(days=1)
    fire = trigger.get_next_fire_time(None, start)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def run_due_report(
    services: Services, kind: str, cron: str, build: Builder, post: Poster, now: datetime | None = None
) -> Outcome:
    config = services.config
    now = now or datetime.now(UTC)
    grace = config.schedules.misfire_grace
    scheduled = last_fire_time(cron, config.slack.tz, now, timedelta(days=1))
    if scheduled is None:
        return Outcome.NOT_DUE
    late = now - scheduled
    if late > grace:
        # Not an error: the bot was down past the grace. A stale morning report misleads more than none.
        log.info("%s report of %s not posted: %s late, grace is %s", kind, scheduled, late, grace)
        return Outcome.STALE
    if not services.store.claim_report_run(kind, scheduled, INSTANCE_ID):
        return Outcome.ALREADY_CLAIMED
    try:
        message = build(services, late if late > LATE_AFTER else None)
        post(config.slack.ops_channel, message)
    except Exception as exc:
        log.exception("%s report for %s failed", kind, scheduled)
        services.store.finish_report_run(kind, scheduled, f"failed: {exc}")
        SCHEDULED_POSTS.labels(kind, "failed").inc()
        return Outcome.FAILED
    services.store.finish_report_run(kind, scheduled, "posted")
    SCHEDULED_POSTS.labels(kind, "posted").inc()
    return Outcome.POSTED


def build_morning(services: Services, late_by: timedelta | None) -> SlackMessage:
    from bot.render.reports import render_morning_report
    from bot.reports.morning import build_morning_report

    return render_morning_report(build_morning_report(services, late_by=late_by), tz=services.config.slack.timezone)


REPORTS: dict[str, Builder] = {"morning": build_morning}
