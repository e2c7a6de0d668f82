"""`/cdc health`, `/cdc lag`, `/cdc freshness`, `/cdc alarms`: the morning check on demand."""

from __future__ import annotations

from bot.checks import CHECK_NAMES
from bot.render.slack import render_check_detail, render_error, render_health_report
from commands.router import CdcRouter, CommandContext

# Subcommand → the single check it shows in full.
DETAIL_COMMANDS = {
    "lag": "consumer_lag",
    "freshness": "data_freshness",
    "alarms": "alarms",
    "connector": "connector",
    "workloads": "kubernetes_workloads",
}


def _pipeline_arg(ctx: CommandContext) -> str | None:
    return ctx.args[0] if ctx.args else None


def health(ctx: CommandContext) -> None:
    if len(ctx.args) > 1:
        ctx.reply_private(render_error("Usage: `/cdc health [pipeline]`"))
        return
    pipeline = ctx.pipeline(_pipeline_arg(ctx))
    report = ctx.services.health(pipeline.name)
    ctx.post_to_channel(render_health_report(report, tz=ctx.services.config.slack.timezone))


def detail(subcommand: str) -> object:
    check_name = DETAIL_COMMANDS[subcommand]

    def handler(ctx: CommandContext) -> None:
        if len(ctx.args) > 1:
            ctx.reply_private(render_error(f"Usage: `/cdc {subcommand} [pipeline]`"))
            return
        pipeline = ctx.pipeline(_pipeline_arg(ctx))
        report = ctx.services.health(pipeline.name, [check_name])
        ctx.post_to_channel(render_check_detail(report.checks[0], pipeline.name, tz=ctx.services.config.slack.timezone))

    return handler


def register(router: CdcRouter) -> None:
    names = ", ".join(router.services.config.pipeline_names)
    router.add(
        "health",
        health,
        f"Run all {len(CHECK_NAMES)} health checks and post the verdict (pipelines: {names})",
        "/cdc health [pipeline]",
        ack_text=lambda args: f":hourglass_flowing_sand: Checking `{args[0] if args else 'the pipeline'}`…",
    )
    summaries = {
        "lag": "Consumer lag per group, topic and partition",
        "freshness": "Redshift staging data freshness",
        "alarms": "CloudWatch alarms and since when",
        "connector": "Debezium connector and task states",
        "workloads": "pii-masking and Connect pods, restarts, Warning events",
    }
    for subcommand in DETAIL_COMMANDS:
        router.add(
            subcommand,
            detail(subcommand),
            summaries[subcommand],  # type: ignore[arg-type]
            f"/cdc {subcommand} [pipeline]",
        )
