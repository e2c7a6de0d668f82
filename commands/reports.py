"""`/cdc report KIND`, `/cdc schedule`, and the security report's rotate button."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.actions import ActionError
from bot.actions.service import request_action
from bot.core.config import UnknownPipeline
from bot.render.report_messages import REPORT_KINDS, UnknownReport, get_kind, report_message
from bot.render.scheduled import ROTATE_CREDENTIALS_ACTION_ID, render_schedule
from bot.render.slack import render_error
from bot.render.text import format_timestamp
from bot.slack.posting import upload_files_to_thread
from commands.deps import CommandDeps, ScheduleOverview
from commands.router import CdcRouter, CommandContext

log = logging.getLogger(__name__)


def report(ctx: CommandContext) -> None:
    if not ctx.args:
        ctx.reply_private(
            render_error(f"Usage: `/cdc report KIND [pipeline ...]`; KIND is one of {', '.join(REPORT_KINDS)}")
        )
        return
    try:
        kind = get_kind(ctx.args[0])
    except UnknownReport as exc:
        ctx.reply_private(render_error(str(exc)))
        return
    pipelines = ctx.args[1:] or None
    for name in pipelines or []:
        ctx.pipeline(name)  # UnknownPipeline → the router's did-you-mean
    message = report_message(ctx.services, kind.name, pipelines)
    ts = ctx.post_to_channel(message.message)
    if ts and message.files:
        upload_files_to_thread(ctx.client, ctx.channel_id, ts, message)


def schedule(ctx: CommandContext, overview: ScheduleOverview) -> None:
    tz = ctx.services.config.slack.timezone
    rows, leader = overview()
    table = [
        [r.job, r.schedule, format_timestamp(r.next_run, tz) if r.next_run else "", r.last_run or "never"] for r in rows
    ]
    ctx.reply_private(render_schedule(table, leader, tz))


def register(router: CdcRouter, deps: CommandDeps) -> None:
    router.add(
        "report",
        report,
        "Build a scheduled report now and post it here (" + ", ".join(REPORT_KINDS) + ")",
        "/cdc report KIND [pipeline ...]",
        ack_text=lambda args: f":hourglass_flowing_sand: Building the `{args[0]}` report…" if args else "",
    )
    router.add(
        "schedule",
        lambda ctx: schedule(ctx, deps.schedule_overview),
        "Scheduled jobs, their next and last runs, and which replica runs them",
    )


def _private(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def register_interactions(app: App, deps: CommandDeps) -> None:
    """The security report's button: request `rotate-credentials` through the usual approval."""
    services = deps.services

    def request_rotation(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        message_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
        pipeline = str(action.get("value") or "") or None
        # Reading the Secret and the pods for the preview takes a moment: after the ack, off the request thread.
        services.background.submit(_request_rotation, deps, respond, user, channel, message_ts, pipeline)

    app.action(ROTATE_CREDENTIALS_ACTION_ID)(request_rotation)


def _request_rotation(
    deps: CommandDeps, respond: Respond, user: str, channel: str, message_ts: str | None, pipeline: str | None
) -> None:
    try:
        request_action(
            deps.services,
            deps.approval_publisher,
            action="rotate-credentials",
            words=[],
            requester=user,
            channel=channel,
            pipeline=pipeline,
            # The approval goes into the report's thread, where the finding is.
            thread_ts=message_ts,
            access=deps.access,
        )
    except (ActionError, UnknownPipeline) as exc:
        _private(respond, str(exc))
    except Exception:
        log.exception("rotate-credentials request from the security report failed")
        _private(respond, "The request failed inside the bot; see its log.")
