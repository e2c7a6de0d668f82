"""`/cdc report KIND`, `/cdc schedule`, `/cdc alarms ensure`, and the security report's rotate button."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.actions import ActionError
from bot.actions.service import request_action
from bot.alarms.runbook_alarms import ensure_alarms
from bot.core.access import AccessPolicy, Role
from bot.core.config import UnknownPipeline
from bot.render.report_messages import REPORT_KINDS, UnknownReport, get_kind, report_message
from bot.render.scheduled import ROTATE_CREDENTIALS_ACTION_ID, render_alarms_ensure, render_schedule
from bot.render.slack import render_error
from bot.render.text import format_timestamp
from bot.services import Services
from bot.slack.posting import upload_files_to_thread
from commands.approvals import SlackApprovalPublisher
from commands.router import CdcRouter, CommandContext
from scheduler import schedule_overview

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


def schedule(ctx: CommandContext) -> None:
    tz = ctx.services.config.slack.timezone
    rows, leader = schedule_overview(ctx.services)
    table = [
        [r.job, r.schedule, format_timestamp(r.next_run, tz) if r.next_run else "", r.last_run or "never"] for r in rows
    ]
    ctx.reply_private(render_schedule(table, leader, tz))


def alarms_ensure(ctx: CommandContext, access: AccessPolicy) -> None:
    if not access.allows(ctx.user_id, Role.OPERATOR):
        ctx.reply_private(render_error(access.denial(Role.OPERATOR)))
        return
    if len(ctx.args) > 2:
        ctx.reply_private(render_error("Usage: `/cdc alarms ensure [pipeline]`"))
        return
    pipeline = ctx.pipeline(ctx.args[1] if len(ctx.args) > 1 else None)
    result = ensure_alarms(ctx.services.clients(pipeline).aws, pipeline.name)
    ctx.services.store.audit(
        ctx.user_id,
        "alarms.ensure",
        pipeline=pipeline.name,
        details={"created": result.created, "existing": result.existing},
    )
    ctx.post_to_channel(render_alarms_ensure([result]))


def register(router: CdcRouter) -> None:
    router.add(
        "report",
        report,
        "Build a scheduled report now and post it here (" + ", ".join(REPORT_KINDS) + ")",
        "/cdc report KIND [pipeline ...]",
        ack_text=lambda args: f":hourglass_flowing_sand: Building the `{args[0]}` report…" if args else "",
    )
    router.add("schedule", schedule, "Scheduled jobs, their next and last runs, and which replica runs them")
    # `/cdc alarms` stays the read-only detail anyone may ask for; `ensure` changes AWS, so it is
    # checked here for operators (the router's role applies to a whole subcommand).
    shown = router.subcommands.get("alarms")
    access = router.access

    def alarms(ctx: CommandContext) -> None:
        if ctx.args[:1] == ["ensure"]:
            alarms_ensure(ctx, access)
        elif shown is not None:
            shown.handler(ctx)

    router.add(
        "alarms",
        alarms,
        (shown.summary if shown else "CloudWatch alarms") + "; `ensure` creates the runbook's alarms if missing",
        "/cdc alarms [pipeline] | /cdc alarms ensure [pipeline]",
    )


def register_buttons(app: App, services: Services, access: AccessPolicy) -> None:
    """The security report's button: request `rotate-credentials` through the usual approval."""
    tz = services.config.slack.timezone

    def request_rotation(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        message_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")

        def run() -> None:
            try:
                request_action(
                    services,
                    SlackApprovalPublisher(client, tz),
                    action="rotate-credentials",
                    words=[],
                    requester=user,
                    channel=channel,
                    pipeline=str(action.get("value") or "") or None,
                    # The approval goes into the report's thread, where the finding is.
                    thread_ts=message_ts,
                    access=access,
                )
            except (ActionError, UnknownPipeline) as exc:
                respond(text=str(exc), response_type="ephemeral", replace_original=False)
            except Exception:
                log.exception("rotate-credentials request from the security report failed")
                respond(
                    text="The request failed inside the bot; see its log.",
                    response_type="ephemeral",
                    replace_original=False,
                )

        # Reading the Secret and the pods for the preview takes a moment: after the ack, off the request thread.
        services.background.submit(run)

    app.action(ROTATE_CREDENTIALS_ACTION_ID)(request_rotation)
