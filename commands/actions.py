"""`/cdc action NAME [args] [pipeline]` (ask for a runbook action) and `/cdc audit [N]`."""

from __future__ import annotations

import re

from bot.actions import ACTIONS, ActionError
from bot.actions.service import ApprovalPublisher, request_action
from bot.core.access import Role
from bot.render.approvals import render_action_list, render_audit
from bot.render.slack import render_error
from commands.deps import CommandDeps
from commands.router import CdcRouter, CommandContext

AUDIT_DEFAULT = 10
AUDIT_MAX = 50


def action(ctx: CommandContext, publisher: ApprovalPublisher) -> None:
    if not ctx.args:
        ctx.reply_private(render_action_list([(a.usage, a.summary) for a in ACTIONS.values() if not a.command]))
        return
    own = ACTIONS.get(ctx.args[0].lower())
    if own is not None and own.command:
        # Its arguments (a free-text reason, a trailing pipeline) are parsed by its own command.
        ctx.reply_private(render_error(f"`{own.name}` is asked for with `{own.command}`."))
        return
    try:
        request_action(
            ctx.services,
            publisher,
            action=ctx.args[0].lower(),
            words=ctx.args[1:],
            requester=ctx.user_id,
            channel=ctx.channel_id,
        )
    except ActionError as exc:
        ctx.reply_private(render_error(str(exc)))


def audit(ctx: CommandContext) -> None:
    if len(ctx.args) > 1 or (ctx.args and not re.fullmatch(r"[0-9]{1,4}", ctx.args[0])):
        ctx.reply_private(render_error(f"Usage: `/cdc audit [N]` (N up to {AUDIT_MAX}, default {AUDIT_DEFAULT})"))
        return
    count = min(max(int(ctx.args[0]), 1), AUDIT_MAX) if ctx.args else AUDIT_DEFAULT
    entries = ctx.services.store.recent_audit(count)
    ctx.reply_private(render_audit(entries, ctx.services.config.slack.timezone))


def register(router: CdcRouter, deps: CommandDeps) -> None:
    router.add(
        "action",
        lambda ctx: action(ctx, deps.approval_publisher),
        "Ask for a runbook action (restart, scale, pause, rotate…); it runs after another person approves",
        "/cdc action [NAME [args] [pipeline]]",
        role=Role.OPERATOR,
        ack_text=lambda args: ":hourglass_flowing_sand: Preparing the approval request…" if args else "",
    )
    router.add(
        "audit",
        audit,
        "The latest entries of the audit log (requests, approvals, results)",
        "/cdc audit [N]",
        role=Role.OPERATOR,
    )
