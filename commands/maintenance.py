"""`/cdc maintenance start|status|end` and the Abort / Resume pipeline buttons of workflow threads.

Thin: parse, authorize, hand over. Start and end are approval requests like any runbook action;
the workflow runs after a second person approves, in the approval message's thread. The sweeper
that resumes workflows a stopped bot left running is built and started by the app, not here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.actions import ActionError
from bot.actions.maintenance import END, START, START_USAGE, maintenance_status, split_start_words
from bot.actions.service import ApprovalPublisher, action_context, request_action
from bot.core.access import AccessPolicy, Role
from bot.core.config import UnknownPipeline
from bot.core.durations import format_duration
from bot.render.maintenance import ABORT_ACTION_ID, RESUME_PIPELINE_ACTION_ID, render_maintenance_status
from bot.render.slack import render_error
from bot.store.workflows import WorkflowRecord, get_workflow, request_abort
from commands.deps import CommandDeps
from commands.router import CdcRouter, CommandContext

log = logging.getLogger(__name__)

USAGE = f"`{START_USAGE}` · `/cdc maintenance status [pipeline]` · `/cdc maintenance end [pipeline]`"


def _request(
    ctx: CommandContext,
    access: AccessPolicy,
    publisher: ApprovalPublisher,
    action: str,
    words: list[str],
    pipeline: str | None,
) -> None:
    try:
        request_action(
            ctx.services,
            publisher,
            action=action,
            words=words,
            requester=ctx.user_id,
            channel=ctx.channel_id,
            pipeline=pipeline,
            access=access,
        )
    except ActionError as exc:
        ctx.reply_private(render_error(str(exc)))


def _status(ctx: CommandContext, words: list[str]) -> None:
    if len(words) > 1:
        ctx.reply_private(render_error("Usage: `/cdc maintenance status [pipeline]`"))
        return
    pipeline = ctx.pipeline(words[0] if words else None)
    status = maintenance_status(action_context(ctx.services, pipeline))
    ctx.post_to_channel(render_maintenance_status(status, ctx.services.config.slack.timezone))


def register(router: CdcRouter, deps: CommandDeps) -> None:
    access, publisher = deps.access, deps.approval_publisher

    def maintenance(ctx: CommandContext) -> None:
        sub = ctx.args[0].lower() if ctx.args else "status"
        words = ctx.args[1:]
        if sub == "start":
            try:
                own, pipeline = split_start_words(words, ctx.services.config.pipeline_names)
            except ActionError as exc:
                ctx.reply_private(render_error(str(exc)))
                return
            _request(ctx, access, publisher, START, own, pipeline)
        elif sub == "end":
            if len(words) > 1:
                ctx.reply_private(render_error("Usage: `/cdc maintenance end [pipeline]`"))
                return
            _request(ctx, access, publisher, END, [], words[0] if words else None)
        elif sub == "status":
            _status(ctx, words)
        else:
            ctx.reply_private(render_error(f"`{sub}` is not a maintenance command. Usage: {USAGE}"))

    def ack_text(args: list[str]) -> str:
        if args and args[0].lower() in ("start", "end"):
            return ":hourglass_flowing_sand: Reading the pipeline for the approval request…"
        return ""

    router.add(
        "maintenance",
        maintenance,
        "Planned maintenance window: start (pause, drain, scale down), status, end (resume, verify); "
        "start and end need an approver",
        "/cdc maintenance start|status|end [pipeline]",
        ack_text=ack_text,
    )


def _presser(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _private(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _abort_answer(deps: CommandDeps, user: str, workflow_id: str) -> str:
    """Ask a running workflow to stop at its next check; returns what the presser is told."""
    services, access = deps.services, deps.access
    if not access.allows(user, Role.OPERATOR):
        return access.denial(Role.OPERATOR)
    workflow = get_workflow(services.store, workflow_id) if workflow_id else None
    if workflow is None:
        return "This button does not belong to a workflow of this bot. Nothing changed."
    if request_abort(services.store, workflow.id, user):
        services.store.audit(
            user,
            "workflow.abort_requested",
            pipeline=workflow.pipeline,
            subject=workflow.kind,
            details={"workflow": workflow.id, "step": workflow.step},
        )
        poll = format_duration(services.config.maintenance.poll_interval)
        return (
            f"Abort requested: the workflow stops at its next check (within {poll}) "
            "and says in the thread what state things are in."
        )
    if workflow.abort_requested_by:
        return f"An abort was already requested by <@{workflow.abort_requested_by}>."
    return f"Nothing to abort: this workflow has {workflow.status.value}."


def _request_end(deps: CommandDeps, respond: Respond, user: str, workflow: WorkflowRecord) -> None:
    """The stopped workflow's "Resume pipeline" button: ask for `maintenance end` in its thread."""
    try:
        request_action(
            deps.services,
            deps.approval_publisher,
            action=END,
            words=[],
            requester=user,
            channel=workflow.channel,
            pipeline=workflow.pipeline,
            thread_ts=workflow.thread_ts,
            access=deps.access,
        )
    except (ActionError, UnknownPipeline) as exc:
        _private(respond, str(exc))


def register_interactions(app: App, deps: CommandDeps) -> None:

    def abort(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        _private(respond, _abort_answer(deps, _presser(body), str(action.get("value") or "")[:64]))

    def resume_pipeline(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        value = str(action.get("value") or "")[:64]
        workflow = get_workflow(deps.services.store, value) if value else None
        if workflow is None:
            _private(respond, "This button does not belong to a workflow of this bot. Nothing changed.")
            return
        # Reads the pipeline for the preview: off the request thread, like slash-command work.
        deps.services.background.submit(_request_end, deps, respond, _presser(body), workflow)

    app.action(ABORT_ACTION_ID)(abort)
    app.action(RESUME_PIPELINE_ACTION_ID)(resume_pipeline)
