"""Formatting shared by every renderer: labels, times, numbers, tables, and fitting text into a budget.

Pure: values in, strings out. Fitting cuts at whole lines and says what it left out ("…and N more"),
so a long list reads as a summary rather than stopping mid-word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.durations import format_duration
from bot.core.results import CheckResult, Finding, HealthReport, Status
from bot.render.message import escape

# Slack's documented limits, which also keep terminal output readable.
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
# One runaway summary or trace must not eat a whole section's budget.
LINE_MAX = 1000
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def mention(user: str | None) -> str:
    """A Slack user id becomes a mention; anything else (a name, "cdc-bot") stays text."""
    if not user:
        return "someone"
    return f"<@{user}>" if _USER_ID.fullmatch(user) else escape(user)


CHECK_LABELS: dict[str, str] = {
    "msk_cluster": "MSK cluster",
    "redshift_cluster": "Redshift",
    "data_freshness": "Data freshness",
    "consumer_lag": "Consumer lag",
    "connector": "Debezium connector",
    "kubernetes_workloads": "Kubernetes workloads",
    "alarms": "CloudWatch alarms",
}

# Findings shown under a non-OK check in a report; the rest become "…and N more".
FINDINGS_PER_CHECK = 5
# Rows of the worst-partitions table: a detail view, not a dump of every partition.
WORST_PARTITION_ROWS = 20

LAG_HEADERS = ["topic", "partition", "committed", "end", "lag"]
LAG_RIGHT = {1, 2, 3, 4}
FRESHNESS_HEADERS = ["table", "latest update", "age", "status"]

# tzdata dropped invented abbreviations for these zones ("+08"); people in them still say SGT.
_ZONE_ABBREVIATIONS = {
    "Asia/Singapore": "SGT",
    "Asia/Kuala_Lumpur": "MYT",
    "Asia/Bangkok": "ICT",
    "Asia/Ho_Chi_Minh": "ICT",
    "Asia/Dubai": "GST",
}


def check_label(name: str) -> str:
    return CHECK_LABELS.get(name, name.replace("_", " ").capitalize())


def fmt_int(value: int) -> str:
    return f"{value:,}"


def more(count: int, noun: str = "") -> str:
    return f"…and {count} more{' ' + noun if noun else ''}"


def zone(tz: str) -> tzinfo:
    # A renderer must not fail a report over a bad zone name; config validation is where that is caught.
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _abbreviation(local: datetime, tz: str) -> str:
    name = local.tzname() or ""
    if name and name[0] not in "+-":
        return name
    if tz in _ZONE_ABBREVIATIONS:
        return _ZONE_ABBREVIATIONS[tz]
    offset = local.utcoffset()
    if offset is None:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}" + (f":{mins:02d}" if mins else "")


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def format_clock(value: datetime, tz: str = "UTC") -> str:
    """`09:00 SGT`: the time of day in the team's zone."""
    local = _aware(value).astimezone(zone(tz))
    return f"{local:%H:%M} {_abbreviation(local, tz)}"


def format_timestamp(value: datetime, tz: str = "UTC") -> str:
    """`2026-11-26 09:00 SGT`."""
    local = _aware(value).astimezone(zone(tz))
    return f"{local:%Y-%m-%d %H:%M} {_abbreviation(local, tz)}"


def parse_time(value: object) -> datetime | None:
    """Timestamps in check details are ISO strings (JSON-safe); tolerate datetimes and garbage."""
    if isinstance(value, datetime):
        return _aware(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def format_span(seconds: float) -> str:
    """A duration that cannot be negative (clock skew between replicas must not show "-3s")."""
    return format_duration(max(0.0, seconds))


def format_size(value: int | None) -> str:
    """Bytes as people read them; empty when unknown."""
    if value is None:
        return ""
    if value < 1024:
        return f"{value} B"
    return f"{value / 1024:.1f} KiB" if value < 1024 * 1024 else f"{value / 1024 / 1024:.1f} MiB"


def format_elapsed_ms(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return format_duration(ms / 1000)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Iterable[int] = ()) -> list[str]:
    """Fixed-width lines: header first, numbers right-aligned so digits line up."""
    right_cols = set(right)
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(widths[i]) if i in right_cols else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "  ".join(parts).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def as_int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def lagging_partitions(group: dict[str, Any]) -> list[dict[str, Any]]:
    """Partitions of one group that are behind, worst first (the details keep every partition)."""
    parts = [p for p in group.get("partitions") or [] if isinstance(p, dict) and as_int(p.get("lag")) > 0]
    return sorted(parts, key=lambda p: (-as_int(p.get("lag")), str(p.get("topic")), as_int(p.get("partition"))))


def lag_row(p: dict[str, Any]) -> list[str]:
    return [
        str(p.get("topic", "?")),
        str(p.get("partition", "?")),
        fmt_int(as_int(p.get("committed"))),
        fmt_int(as_int(p.get("end"))),
        fmt_int(as_int(p.get("lag"))),
    ]


def freshness_entries(details: dict[str, Any]) -> list[dict[str, Any]]:
    tables = [t for t in details.get("tables") or [] if isinstance(t, dict)]
    # Stable sort: worst first, config order within a status.
    return sorted(tables, key=lambda t: -status_of(t.get("status")).severity)


def freshness_row(entry: dict[str, Any], tz: str) -> list[str]:
    latest = parse_time(entry.get("latest_update"))
    age = entry.get("age_seconds")
    latest_text = format_timestamp(latest, tz) if latest else "empty"
    if entry.get("error"):
        latest_text = "error"
    age_text = format_duration(age) if isinstance(age, int | float) else "-"
    return [str(entry.get("table", "?")), latest_text, age_text, status_of(entry.get("status")).value]


def status_of(value: object) -> Status:
    """A status from JSON-ish details; anything unreadable is UNKNOWN, never OK."""
    try:
        return Status(str(value))
    except ValueError:
        return Status.UNKNOWN


def non_ok_findings(result: CheckResult) -> list[Finding]:
    return [f for f in result.sorted_findings() if f.status is not Status.OK]


def status_counts(report: HealthReport) -> str:
    """`1 CRIT, 2 WARN, 4 OK`, worst first, only the statuses present."""
    counts: dict[Status, int] = {}
    for c in report.checks:
        counts[c.status] = counts.get(c.status, 0) + 1
    return ", ".join(f"{n} {s.value}" for s, n in sorted(counts.items(), key=lambda kv: -kv[0].severity))


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    # Never leave half an `&amp;` behind: Slack would show the fragment.
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def fit_lines(lines: Sequence[str], limit: int, hidden: int = 0, noun: str = "", sep: str = "\n") -> str:
    """Join whole lines while they fit in `limit`, then one "…and N more" line for what was left out.

    `hidden` counts items the caller already dropped (a cap), so the tail reports both.
    """
    lines = [clip(line, LINE_MAX) for line in lines]
    full = sep.join(lines)
    if hidden == 0 and len(full) <= limit:
        return full
    kept: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        left_after = len(lines) - i - 1 + hidden
        cost = len(line) + (len(sep) if kept else 0)
        tail_cost = len(more(left_after, noun)) + len(sep) if left_after else 0
        if used + cost + tail_cost > limit:
            break
        kept.append(line)
        used += cost
    left = len(lines) - len(kept) + hidden
    if left:
        kept.append(more(left, noun))
    return clip(sep.join(kept), limit)


def fit_code_table(table: Sequence[str], limit: int, hidden: int = 0, lead: str = "") -> str:
    """A ``` block: the header row always, then as many rows as fit, then "…and N more rows" outside it."""
    head, rows = [clip(table[0], LINE_MAX)], [clip(r, LINE_MAX) for r in table[1:]]
    opening = f"{lead}\n```\n" if lead else "```\n"

    def render(count: int) -> str:
        body = "\n".join(head + list(rows[:count]))
        left = len(rows) - count + hidden
        return f"{opening}{body}\n```" + (f"\n{more(left, 'rows')}" if left else "")

    count = len(rows)
    text = render(count)
    # Rows have similar widths: estimate, then step back until it fits.
    if len(text) > limit:
        count = max(0, min(count, (limit - len(render(0))) // (max((len(r) for r in rows), default=1) + 1)))
        while count > 0 and len(render(count)) > limit:
            count -= 1
        text = render(count)
    return clip(text, limit)


# --- details helpers shared with the Slack renderer ---------------------------------------------

ALARM_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


def sorted_alarms(details: dict[str, Any]) -> list[dict[str, Any]]:
    alarms = [a for a in details.get("alarms") or [] if isinstance(a, dict)]
    return sorted(alarms, key=lambda a: ALARM_ORDER.get(str(a.get("state")), 1))


def unlisted_alarm_findings(result: CheckResult, alarms: list[dict[str, Any]]) -> list[Finding]:
    """Findings about alarms the details cannot show (configured but missing in CloudWatch)."""
    names = [str(a.get("name")) for a in alarms]
    return [f for f in non_ok_findings(result) if not any(f.text.startswith(n) for n in names)]


def connector_extra_findings(result: CheckResult) -> list[Finding]:
    # Task findings repeat what the task lines (from details) already show, trace included.
    return [f for f in non_ok_findings(result) if not f.text.startswith("task ")]


def first_line(text: str, limit: int = 300) -> str:
    stripped = text.strip()
    line = stripped.splitlines()[0] if stripped else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
