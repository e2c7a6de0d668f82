"""The morning report (9:00) as one `Message`, for Slack and for a terminal; pure, like the other renderers."""

from __future__ import annotations

from datetime import datetime

from bot.core.durations import format_duration
from bot.render.blockkit import MAX_BLOCKS, SlackMessage, to_slack
from bot.render.format import SECTION_TEXT_MAX, check_label, fit_lines, format_clock, format_elapsed_ms, zone
from bot.render.health import status_row
from bot.render.message import Context, Divider, Header, Message, Part, Section, StatusRows, escape
from bot.render.text import render_text
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


def morning_message(report: MorningReport, tz: str = "UTC") -> Message:
    """The 9:00 post: per pipeline, the checks in the runbook's order and the night's alarms."""
    parts: list[Part] = [Header(f"Morning health check · {_day(report.generated_at, tz)}", status=report.status)]
    notice = late_notice(report)
    if notice:
        parts.append(Context.of(f":hourglass_flowing_sand: {notice}"))
    fallback = [f"Morning health check: {report.status.value}"]
    order = {name: i for i, name in enumerate(MORNING_ORDER)}
    for index, item in enumerate(report.pipelines):
        health = item.health
        if len(parts) > MAX_BLOCKS - 6:
            more_text = f"…and {len(report.pipelines) - index} more pipelines: `/cdc health PIPELINE` shows each"
            parts.append(Section(more_text))
            break
        checks = sorted(health.checks, key=lambda c: order.get(c.name, 99))
        parts.append(Divider())
        parts.append(Section(f"{health.status.emoji} *Pipeline `{escape(health.pipeline)}`: {health.status.value}*"))
        if health.notes:
            parts.append(Context([f":information_source: {escape(n)}" for n in health.notes]))
        parts.append(StatusRows([status_row(c) for c in checks], together=True))
        overnight = [escape(line) for line in overnight_lines(item.overnight, report.generated_at)]
        parts.append(Section("*Overnight*\n" + fit_lines(overnight, SECTION_TEXT_MAX - 20, noun="alarms")))
        parts.append(
            Context.of(f"Checked in {format_elapsed_ms(health.duration_ms)} · alarms {item.overnight.limitation}")
        )
        bad = [f"{check_label(c.name)} {c.status.value}" for c in health.worst_first() if c.status.value != "OK"]
        fallback.append(f"{health.pipeline} {health.status.value}" + (f" ({', '.join(bad)})" if bad else ""))
    parts.append(Context.of(f"Generated {format_clock(report.generated_at, tz)} · `/cdc health` for a fresh run"))
    return Message("; ".join(fallback), parts)


def render_morning_report(report: MorningReport, tz: str = "UTC") -> SlackMessage:
    return to_slack(morning_message(report, tz))


def morning_report_text(report: MorningReport, tz: str = "UTC") -> str:
    return render_text(morning_message(report, tz))
