"""Prometheus metrics served on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from bot.core.results import HealthReport

COMMANDS = Counter("cdc_bot_commands_total", "Slash commands handled", ["subcommand", "outcome"])
CHECK_DURATION = Histogram(
    "cdc_bot_check_duration_seconds",
    "Time a health check took",
    ["pipeline", "check"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CHECK_STATUS = Gauge(
    "cdc_bot_check_status", "Last status of a check: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN", ["pipeline", "check"]
)
SCHEDULED_POSTS = Counter("cdc_bot_scheduled_posts_total", "Scheduled reports", ["kind", "outcome"])


def observe_report(report: HealthReport) -> None:
    for check in report.checks:
        CHECK_DURATION.labels(report.pipeline, check.name).observe(check.duration_ms / 1000)
        CHECK_STATUS.labels(report.pipeline, check.name).set(check.status.exit_code)
