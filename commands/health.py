"""`/cdc health`, `/cdc lag`, `/cdc freshness`, `/cdc alarms [ensure]`: the morning check on demand.

`/cdc alarms` is registered here only: reading the alarms is for anyone, `ensure` (which creates
the runbook's alarms in AWS) for operators, decided by the router before the ack.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.alarms.runbook_alarms import ensure_alarms
from bot.checks import CHECK_NAMES
from bot.core.access import Role
from bot.render.scheduled import render_alarms_ensure
from bot.render.slack import render_check_detail, render_error, render_health_report
from commands.deps import CommandDeps
from commands.router import CdcRouter, CommandContext

# Subcommand → the single check it shows in full.
DETAIL_COMMANDS = {
    "lag": "consumer_lag",
    "freshness": "data_freshness",
    "alarms": "alarms",
    "connector": "connector",
    "workloads": "kubernetes_workloads",
}
SUMMARIES = {
    "lag": "Consumer lag per group, topic and partition",
    "freshness": "Redshift staging data freshness",
    "alarms": "CloudWatch alarms and since when; `ensure` creates the runbook's alarms if missing",
    "connector": "Debezium connector and task states",
    "workloads": "pii-masking and Connect pods, restarts, Warning events",
}
USAGES = {"alarms": "/cdc alarms [pipeline] | /cdc alarms ensure [pipeline]"}


def _pipeline_arg(ctx: CommandContext) -> str | None:
    return ctx.args[0] if ctx.args else None


def health(ctx: CommandContext) -> None:
    if len(ctx.args) > 1:
        ctx.reply_private(render_error("Usage: `/cdc health [pipeline]`"))
        return
    pipeline = ctx.pipeline(_pipeline_arg(ctx))
    report = ctx.services.health(pipeline.name)
    ctx.post_to_channel(render_health_report(report, tz=ctx.services.config.slack.timezone))


def detail(subcommand: str) -> Callable[[CommandContext], None]:
    check_name = DETAIL_COMMANDS[subcommand]

    def handler(ctx: CommandContext) -> None:
        if len(ctx.args) > 1:
            ctx.reply_private(render_error(f"Usage: `/cdc {subcommand} [pipeline]`"))
            return
        pipeline = ctx.pipeline(_pipeline_arg(ctx))
        report = ctx.services.health(pipeline.name, [check_name])
        ctx.post_to_channel(render_check_detail(report.checks[0], pipeline.name, tz=ctx.services.config.slack.timezone))

    return handler


def alarms_ensure(ctx: CommandContext) -> None:
    """Create the runbook's CloudWatch alarms where missing; the router checked the operator role."""
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


def _wants_ensure(args: list[str]) -> bool:
    return args[:1] == ["ensure"]


def alarms(ctx: CommandContext) -> None:
    if _wants_ensure(ctx.args):
        alarms_ensure(ctx)
    else:
        detail("alarms")(ctx)


def register(router: CdcRouter, deps: CommandDeps) -> None:
    names = ", ".join(deps.services.config.pipeline_names)
    router.add(
        "health",
        health,
        f"Run all {len(CHECK_NAMES)} health checks and post the verdict (pipelines: {names})",
        "/cdc health [pipeline]",
        ack_text=lambda args: f":hourglass_flowing_sand: Checking `{args[0] if args else 'the pipeline'}`…",
    )
    for subcommand in DETAIL_COMMANDS:
        router.add(
            subcommand,
            alarms if subcommand == "alarms" else detail(subcommand),
            SUMMARIES[subcommand],
            USAGES.get(subcommand, f"/cdc {subcommand} [pipeline]"),
            # `ensure` changes AWS: operators only; reading the alarms stays open to anyone.
            role_for=(lambda args: Role.OPERATOR if _wants_ensure(args) else Role.ANYONE)
            if subcommand == "alarms"
            else None,
        )
