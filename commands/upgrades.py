"""`/cdc upgrade msk-versions|debezium-rebuild [pipeline]`: the runbook's Version Upgrades."""

from __future__ import annotations

from bot.actions import ActionError
from bot.actions.service import request_action
from bot.actions.upgrades import msk_versions
from bot.render.maintenance import render_msk_versions
from bot.render.slack import render_error
from commands.deps import CommandDeps
from commands.router import CdcRouter, CommandContext

USAGE = "`/cdc upgrade msk-versions [pipeline]` · `/cdc upgrade debezium-rebuild [pipeline]`"


def register(router: CdcRouter, deps: CommandDeps) -> None:
    access = deps.access

    def upgrade(ctx: CommandContext) -> None:
        sub = ctx.args[0].lower() if ctx.args else ""
        words = ctx.args[1:]
        if sub not in ("msk-versions", "debezium-rebuild") or len(words) > 1:
            ctx.reply_private(render_error(f"Usage: {USAGE}"))
            return
        pipeline = ctx.pipeline(words[0] if words else None)
        if sub == "msk-versions":
            ctx.post_to_channel(render_msk_versions(msk_versions(pipeline, ctx.services.clients(pipeline))))
            return
        try:
            request_action(
                ctx.services,
                deps.approval_publisher,
                action="debezium-rebuild",
                words=[],
                requester=ctx.user_id,
                channel=ctx.channel_id,
                pipeline=pipeline.name,
                access=access,
            )
        except ActionError as exc:
            ctx.reply_private(render_error(str(exc)))

    router.add(
        "upgrade",
        upgrade,
        "Version upgrades: the MSK Kafka versions the clients support; rebuild the Debezium Connect image "
        "(needs an approver)",
        "/cdc upgrade msk-versions|debezium-rebuild [pipeline]",
    )
