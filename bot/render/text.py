"""Terminal renderers and the plain-text helpers the Slack renderer shares (labels, times, tables).

Pure: results in, strings out. `blocks_to_text` lets the local terminal chat show what the bot would post.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.durations import format_duration
from bot.core.results import CheckResult, Finding, HealthReport, Status

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
    return sorted(tables, key=lambda t: -_status(t.get("status")).severity)


def freshness_row(entry: dict[str, Any], tz: str) -> list[str]:
    latest = parse_time(entry.get("latest_update"))
    age = entry.get("age_seconds")
    latest_text = format_timestamp(latest, tz) if latest else "empty"
    if entry.get("error"):
        latest_text = "error"
    age_text = format_duration(age) if isinstance(age, int | float) else "-"
    return [str(entry.get("table", "?")), latest_text, age_text, _status(entry.get("status")).value]


def _status(value: object) -> Status:
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


# --- terminal renderers -------------------------------------------------------------------------


def health_report_text(report: HealthReport, tz: str = "UTC") -> str:
    """Compact report: verdict, one aligned line per check (worst first), findings under non-OK checks."""
    lines = [
        f"Pipeline {report.pipeline}: {report.status.value}"
        + (f" ({status_counts(report)})" if report.checks else " (no checks ran)")
    ]
    lines += [f"Note: {note}" for note in report.notes]
    checks = report.worst_first()
    tags = [f"[{c.status.value}] {c.name}" for c in checks]
    width = max((len(t) for t in tags), default=0) + 2
    for check, tag in zip(checks, tags, strict=True):
        lines.append(f"{tag:<{width}}{check.summary}")
        if check.status is Status.OK:
            continue
        findings = non_ok_findings(check)
        lines += [f"    - {f.text}" for f in findings[:FINDINGS_PER_CHECK]]
        if len(findings) > FINDINGS_PER_CHECK:
            lines.append(f"    {more(len(findings) - FINDINGS_PER_CHECK)}")
    lines.append(f"Generated {format_timestamp(report.generated_at, tz)} · {format_elapsed_ms(report.duration_ms)}")
    return "\n".join(lines)


def check_detail_text(result: CheckResult, pipeline: str, tz: str = "UTC") -> str:
    """One check in full, for `cdc-bot check NAME` and the terminal chat."""
    lines = [f"{check_label(result.name)} on {pipeline}: {result.status.value}", result.summary, ""]
    body = _DETAIL_TEXT.get(result.name, _findings_text)(result, tz)
    if not body and result.name in _DETAIL_TEXT:
        body = _findings_text(result, tz)
    lines += body
    lines.append(f"({result.name} · {format_elapsed_ms(result.duration_ms)})")
    return "\n".join(lines)


def _findings_text(result: CheckResult, tz: str) -> list[str]:
    return [f"[{f.status.value}] {f.text}" for f in result.sorted_findings()]


def _lag_text(result: CheckResult, tz: str) -> list[str]:
    lines: list[str] = []
    for group, g in (result.details.get("groups") or {}).items():
        if not isinstance(g, dict):
            continue
        if g.get("total") is None:
            lines += [f"{group}: no committed offsets", ""]
            continue
        lines.append(f"{group}: {fmt_int(as_int(g.get('total')))} behind")
        topics = sorted((g.get("topics") or {}).items(), key=lambda kv: -as_int(kv[1]))
        lines += [f"  {topic}: {fmt_int(as_int(lag))}" for topic, lag in topics]
        parts = lagging_partitions(g)
        if parts:
            shown = parts[:WORST_PARTITION_ROWS]
            lines += ["  " + r for r in format_table(LAG_HEADERS, [lag_row(p) for p in shown], LAG_RIGHT)]
            if len(parts) > len(shown):
                lines.append(f"  {more(len(parts) - len(shown), 'rows')}")
        lines.append("")
    return lines


def _freshness_text(result: CheckResult, tz: str) -> list[str]:
    entries = freshness_entries(result.details)
    if not entries:
        return []
    lines = format_table(FRESHNESS_HEADERS, [freshness_row(e, tz) for e in entries])
    lines += [f"{e.get('table')}: {e['error']}" for e in entries if e.get("error")]
    return [*lines, ""]


def _alarms_text(result: CheckResult, tz: str) -> list[str]:
    alarms = sorted_alarms(result.details)
    if not alarms:
        return []
    lines = []
    for alarm in alarms:
        since = parse_time(alarm.get("updated_at"))
        lines.append(
            f"[{alarm.get('state')}] {alarm.get('name')}" + (f" since {format_timestamp(since, tz)}" if since else "")
        )
        if alarm.get("reason"):
            lines.append(f"    {alarm['reason']}")
    lines += [f"[{f.status.value}] {f.text}" for f in unlisted_alarm_findings(result, alarms)]
    return [*lines, ""]


def _connector_text(result: CheckResult, tz: str) -> list[str]:
    d = result.details
    if "state" not in d:
        return []
    lines = [connector_line(d)]
    for task in d.get("tasks") or []:
        lines.append(f"  task {task.get('id')} {task.get('state')} on {task.get('worker_id') or '?'}")
        if task.get("trace"):
            lines.append(f"    {first_line(task['trace'])}")
    lines += [f"[{f.status.value}] {f.text}" for f in connector_extra_findings(result)]
    return [*lines, ""]


_DETAIL_TEXT: dict[str, Callable[[CheckResult, str], list[str]]] = {
    "consumer_lag": _lag_text,
    "data_freshness": _freshness_text,
    "alarms": _alarms_text,
    "connector": _connector_text,
}

# --- details helpers shared with the Slack renderer ---------------------------------------------

ALARM_ORDER = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}


def sorted_alarms(details: dict[str, Any]) -> list[dict[str, Any]]:
    alarms = [a for a in details.get("alarms") or [] if isinstance(a, dict)]
    return sorted(alarms, key=lambda a: ALARM_ORDER.get(str(a.get("state")), 1))


def unlisted_alarm_findings(result: CheckResult, alarms: list[dict[str, Any]]) -> list[Finding]:
    """Findings about alarms the details cannot show (configured but missing in CloudWatch)."""
    names = [str(a.get("name")) for a in alarms]
    return [f for f in non_ok_findings(result) if not any(f.text.startswith(n) for n in names)]


def connector_line(details: dict[str, Any]) -> str:
    state = str(details.get("state", "UNKNOWN"))
    wanted = str(details.get("requested_state") or "")
    line = f"connector {details.get('connector', '?')}: {state}"
    if wanted and wanted != state.lower():
        line += f" (spec asks {wanted})"
    if details.get("ready") is not None:
        line += f", Ready={details['ready']}"
    if details.get("maintenance"):
        line += ", maintenance window open"
    return line


def connector_extra_findings(result: CheckResult) -> list[Finding]:
    # Task findings repeat what the task lines (from details) already show, trace included.
    return [f for f in non_ok_findings(result) if not f.text.startswith("task ")]


def first_line(text: str, limit: int = 300) -> str:
    stripped = text.strip()
    line = stripped.splitlines()[0] if stripped else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- Block Kit → plain text (the terminal chat) --------------------------------------------------

_EMOJI = {
    ":large_green_circle:": "🟢",
    ":large_yellow_circle:": "🟡",
    ":red_circle:": "🔴",
    ":white_circle:": "⚪",
    ":warning:": "⚠️",
    ":information_source:": "ℹ️",
    ":hourglass_flowing_sand:": "⏳",
    ":white_check_mark:": "✅",
    ":x:": "❌",
}
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_EMOJI_CODE = re.compile(r":[a-z0-9_+\-]+:")


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):
        return label or target
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.startswith("!"):
        # <!here>, <!channel>, <!date^…|fallback>
        return label or "@" + target[1:].split("^")[0]
    return f"{label} ({target})" if label and label != target else target


def mrkdwn_to_text(text: str) -> str:
    """Readable terminal text from Slack mrkdwn: links, entities, code fences and common emoji."""
    text = _SLACK_LINK.sub(_link, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = _EMOJI_CODE.sub(lambda m: _EMOJI.get(m.group(0), m.group(0)), text)
    lines = []
    for line in text.split("\n"):
        if line.strip() == "```":
            continue
        lines.append(line.replace("```", ""))
    return "\n".join(lines)


def _text_of(obj: object) -> str:
    if isinstance(obj, dict):
        if obj.get("type") in ("plain_text", "mrkdwn"):
            return mrkdwn_to_text(str(obj.get("text", "")))
        if obj.get("type") == "image":
            return f"[image: {obj.get('alt_text', '')}]"
    return ""


def block_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in message order: `[n]` in `blocks_to_text` is index n-1 here, so a chat can press it."""
    found = []
    for block in blocks:
        candidates = [block.get("accessory")] if block.get("type") == "section" else []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        found += [c for c in candidates if isinstance(c, dict) and c.get("type") == "button"]
    return found


def _element_text(element: dict[str, Any], number: int | None) -> str:
    if number is not None:
        return f"[{number}] {_text_of(element.get('text'))}"
    label = _text_of(element.get("placeholder")) or _text_of(element.get("text")) or element.get("type", "")
    return f"<{label}>"


def blocks_to_text(blocks: list[dict[str, Any]]) -> str:
    """Plain-text rendering of Block Kit blocks for a terminal; buttons are numbered across the message."""
    out: list[str] = []
    button_no = 0

    def element(el: dict[str, Any]) -> str:
        nonlocal button_no
        if el.get("type") == "button":
            button_no += 1
            return _element_text(el, button_no)
        return _element_text(el, None)

    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block.get("text"))
            out += [title, "=" * min(len(title), 60)]
        elif kind == "section":
            if block.get("text"):
                out.append(_text_of(block["text"]))
            out += [_text_of(f) for f in block.get("fields") or []]
            if isinstance(block.get("accessory"), dict) and block["accessory"].get("type") != "image":
                out.append(element(block["accessory"]))
        elif kind == "context":
            out.append(" | ".join(t for t in (_text_of(e) for e in block.get("elements") or []) if t))
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "actions":
            out.append("  ".join(element(e) for e in block.get("elements") or [] if isinstance(e, dict)))
        elif kind == "image":
            out.append(f"[image: {block.get('alt_text', '')}]")
        else:
            # rich_text and friends: the words, without their styling.
            out.append(" ".join(_collect_text(block)).strip())
    return "\n".join(out)


def _collect_text(obj: object) -> list[str]:
    if isinstance(obj, dict):
        own = [str(obj["text"])] if isinstance(obj.get("text"), str) else []
        return own + [t for k, v in obj.items() if k != "text" for t in _collect_text(v)]
    if isinstance(obj, list):
        return [t for v in obj for t in _collect_text(v)]
    return []
