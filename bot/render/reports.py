"""Scheduled reports rendered for Slack and for a terminal; pure, like the other renderers."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock

from bot.core.durations import format_duration
from bot.render.slack import (
    MAX_BLOCKS,
    SECTION_TEXT_MAX,
    SlackMessage,
    _check_section_text,
    _context,
    _header,
    _message,
    _section,
    escape,
    fit_lines,
)
from bot.render.text import check_label, format_clock, format_elapsed_ms, health_report_text, zone
from bot.reports.morning import MorningReport, OvernightAlarms

# The runbook's morning steps, in its order: dashboard, freshness, lag, then the rest.
MORNING_ORDER = [
    "msk_cluster",
    "redshift_cluster",
    "data_freshness",
    "consumer_lag",
    "connector",
    "kubernetes_workloads",
    "alarms",
]


def _day(value: datetime, tz: str) -> str:
    return value.astimezone(zone(tz)).strftime("%a %d %b %Y")


def late_notice(report: MorningReport) -> str | None:
    if report.late_by is None:
        return None
    return f"Posted {format_duration(report.late_by)} late: the bot was not running at the scheduled time."


def overnight_lines(overnight: OvernightAlarms, now: datetime) -> list[str]:
    if overnight.error:
        return [f":white_circle: Overnight alarms unknown: {overnight.error}"]
    lines = []
    for alarm in overnight.firing:
        since = f" for {format_duration(now - alarm.updated_at)}" if alarm.updated_at else ""
        lines.append(f":red_circle: {alarm.name} in ALARM{since}: {alarm.reason}")
    for alarm in overnight.changed:
        ago = f" {format_duration(now - alarm.updated_at)} ago" if alarm.updated_at else ""
        lines.append(f":large_yellow_circle: {alarm.name} changed to {alarm.state}{ago}")
    if not lines:
        lines.append(":large_green_circle: No alarm in ALARM or changed in the last 24 h")
    return lines


def render_morning_report(report: MorningReport, tz: str = "UTC") -> SlackMessage:
    blocks: list[Block] = [_header(f"{report.status.emoji} Morning health check · {_day(report.generated_at, tz)}")]
    notice = late_notice(report)
    if notice:
        blocks.append(_context(f":hourglass_flowing_sand: {notice}"))
    fallback = [f"Morning health check: {report.status.value}"]
    for item in report.pipelines:
        health = item.health
        if len(blocks) > MAX_BLOCKS - 6:
            blocks.append(
                _section(
                    f"…and {len(report.pipelines) - report.pipelines.index(item)} more pipelines: "
                    "`/cdc health PIPELINE` shows each"
                )
            )
            break
        order = {name: i for i, name in enumerate(MORNING_ORDER)}
        checks = sorted(health.checks, key=lambda c: order.get(c.name, 99))
        lines = [_check_section_text(c) for c in checks]
        blocks.append(DividerBlock())
        blocks.append(_section(f"{health.status.emoji} *Pipeline `{escape(health.pipeline)}`: {health.status.value}*"))
        if health.notes:
            blocks.append(_context(*[f":information_source: {escape(n)}" for n in health.notes]))
        blocks.append(_section(fit_lines(lines, SECTION_TEXT_MAX, noun="checks")))
        overnight = [escape(line) for line in overnight_lines(item.overnight, report.generated_at)]
        blocks.append(_section("*Overnight*\n" + fit_lines(overnight, SECTION_TEXT_MAX - 20, noun="alarms")))
        blocks.append(
            _context(f"Checked in {format_elapsed_ms(health.duration_ms)} · alarms {item.overnight.limitation}")
        )
        bad = [f"{check_label(c.name)} {c.status.value}" for c in health.worst_first() if c.status.value != "OK"]
        fallback.append(f"{health.pipeline} {health.status.value}" + (f" ({', '.join(bad)})" if bad else ""))
    blocks.append(_context(f"Generated {format_clock(report.generated_at, tz)} · `/cdc health` for a fresh run"))
    return _message("; ".join(fallback), blocks)


def morning_report_text(report: MorningReport, tz: str = "UTC") -> str:
    out = [f"Morning health check · {_day(report.generated_at, tz)}: {report.status.value}"]
    notice = late_notice(report)
    if notice:
        out.append(notice)
    for item in report.pipelines:
        out.append("")
        out.append(health_report_text(item.health, tz=tz))
        out.append("  Overnight:")
        out += [f"    {line.split(' ', 1)[1]}" for line in overnight_lines(item.overnight, report.generated_at)]
        out.append(f"    ({item.overnight.limitation})")
    return "\n".join(out)
