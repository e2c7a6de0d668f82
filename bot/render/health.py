"""The health report and one check in full: `/cdc health`, the 9:00 report's checks, `/cdc lag` and friends.

Each is built once, as a `Message`; Slack gets it through `bot.render.blockkit`, the CLI and the
shell through `bot.render.text`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.results import CheckResult, Finding, HealthReport, Status
from bot.render.blockkit import CONTEXT_TEXT_MAX, FALLBACK_TEXT_MAX, MAX_BLOCKS, SlackMessage, to_slack
from bot.render.format import (
    FINDINGS_PER_CHECK,
    FRESHNESS_HEADERS,
    LAG_HEADERS,
    LAG_RIGHT,
    SECTION_TEXT_MAX,
    WORST_PARTITION_ROWS,
    as_int,
    check_label,
    clip,
    connector_extra_findings,
    first_line,
    fit_code_table,
    fit_lines,
    fmt_int,
    format_clock,
    format_elapsed_ms,
    format_table,
    format_timestamp,
    freshness_entries,
    freshness_row,
    lag_row,
    lagging_partitions,
    more,
    non_ok_findings,
    parse_time,
    sorted_alarms,
    status_counts,
    unlisted_alarm_findings,
)
from bot.render.message import (
    Context,
    Divider,
    Fields,
    Header,
    Message,
    Part,
    Section,
    StatusRow,
    StatusRows,
    escape,
)
from bot.render.text import render_text

ALARM_EMOJI = {"ALARM": ":red_circle:", "INSUFFICIENT_DATA": ":white_circle:", "OK": ":large_green_circle:"}
TASK_EMOJI = {
    "RUNNING": ":large_green_circle:",
    "FAILED": ":red_circle:",
    "PAUSED": ":large_yellow_circle:",
    "STOPPED": ":large_yellow_circle:",
}


# --- health report --------------------------------------------------------------------------------


def status_row(check: CheckResult) -> StatusRow:
    """A check's line; findings only under a check that is not OK."""
    findings = [] if check.status is Status.OK else [f.text for f in non_ok_findings(check)]
    return StatusRow(check.status, check.name, check_label(check.name), check.summary, findings, FINDINGS_PER_CHECK)


def _report_fallback(report: HealthReport, heading: str) -> str:
    verdict = f"{heading}: {report.status.value}"
    bad = [c for c in report.worst_first() if c.status is not Status.OK]
    if not bad:
        return f"{verdict}, all {len(report.checks)} checks OK"
    parts = [f"{check_label(c.name)} {c.status.value}: {escape(c.summary)}" for c in bad]
    lead = f"{verdict} — "
    return lead + fit_lines(parts, FALLBACK_TEXT_MAX - len(lead), noun="checks", sep="; ")


def health_message(report: HealthReport, title: str | None = None, tz: str = "UTC", late: str | None = None) -> Message:
    """The `/cdc health` answer and `cdc-bot check`: verdict, one line per check worst first, findings."""
    heading = title or f"Pipeline {report.pipeline}"
    # Plain text header: backticks would show literally, so the pipeline name goes in bare.
    counts = f"({status_counts(report)})" if report.checks else "(no checks ran)"
    parts: list[Part] = [Header(f"{heading}: {report.status.value}", emoji=report.status.emoji, detail=counts)]
    if report.notes:
        notes = [f":information_source: {escape(n)}" for n in report.notes]
        parts.append(Context([fit_lines(notes, CONTEXT_TEXT_MAX, noun="notes")]))
    footer = [f"Generated {format_clock(report.generated_at, tz)} · {format_elapsed_ms(report.duration_ms)}"]
    if title:
        footer[0] = f"Pipeline `{escape(report.pipeline)}` · {footer[0]}"
    if late:
        footer.append(f":hourglass_flowing_sand: {escape(late)}")
    parts.append(StatusRows([status_row(c) for c in report.worst_first()]))
    parts += [Divider(), Context(footer)]
    return Message(_report_fallback(report, heading), parts)


def render_health_report(
    report: HealthReport, title: str | None = None, tz: str = "UTC", late: str | None = None
) -> SlackMessage:
    return to_slack(health_message(report, title, tz, late))


def health_report_text(report: HealthReport, tz: str = "UTC") -> str:
    return render_text(health_message(report, tz=tz))


# --- one check in full ----------------------------------------------------------------------------


def _finding_bullets(findings: list[Finding], cap: int | None = None) -> tuple[list[str], int]:
    shown = findings if cap is None else findings[:cap]
    return [f"• {escape(f.text)}" for f in shown], len(findings) - len(shown)


def _lag_parts(result: CheckResult, tz: str, room: int) -> list[Part]:
    groups = result.details.get("groups")
    if not isinstance(groups, dict) or not groups:
        return []
    parts: list[Part] = []
    items = [(g, d) for g, d in groups.items() if isinstance(d, dict)]
    # Worst group first, so a cut drops the healthy ones.
    items.sort(key=lambda gd: -(gd[1].get("total") or 0))
    for index, (group, detail) in enumerate(items):
        # Each group takes up to two blocks; keep one free for "…and N more groups" unless this is the last.
        reserve = 1 if index < len(items) - 1 else 0
        if len(parts) + 2 + reserve > room:
            left = len(items) - index
            parts.append(Section(more(left, "groups" if left > 1 else "group")))
            break
        if detail.get("total") is None:
            parts.append(Section(f"*{escape(group)}* — no committed offsets (never committed, or no such group)"))
            continue
        topics = sorted((detail.get("topics") or {}).items(), key=lambda kv: -as_int(kv[1]))
        head = f"*{escape(group)}* — {fmt_int(as_int(detail['total']))} behind"
        lines = [f"• `{escape(str(t))}`: {fmt_int(as_int(lag))}" for t, lag in topics]
        if lines:
            head += "\n" + fit_lines(lines, SECTION_TEXT_MAX - len(head) - 1, noun="topics")
        parts.append(Section(head))
        lagging = lagging_partitions(detail)
        if not lagging:
            parts.append(Context(["No partition is behind."]))
            continue
        shown = lagging[:WORST_PARTITION_ROWS]
        table = [escape(line) for line in format_table(LAG_HEADERS, [lag_row(p) for p in shown], LAG_RIGHT)]
        parts.append(
            Section(fit_code_table(table, SECTION_TEXT_MAX, hidden=len(lagging) - len(shown), lead="Worst partitions:"))
        )
    return parts


def _freshness_parts(result: CheckResult, tz: str, room: int) -> list[Part]:
    entries = freshness_entries(result.details)
    if not entries:
        return []
    table = [escape(line) for line in format_table(FRESHNESS_HEADERS, [freshness_row(e, tz) for e in entries])]
    parts: list[Part] = [Section(fit_code_table(table, SECTION_TEXT_MAX))]
    errors = [f"• `{escape(str(e.get('table')))}`: {escape(str(e['error']))}" for e in entries if e.get("error")]
    if errors:
        parts.append(Section(fit_lines(errors, SECTION_TEXT_MAX, noun="errors")))
    return parts


def _alarm_parts(result: CheckResult, tz: str, room: int) -> list[Part]:
    alarms = sorted_alarms(result.details)
    if not alarms:
        return []
    lines = []
    for alarm in alarms:
        state = str(alarm.get("state", "UNKNOWN"))
        since = parse_time(alarm.get("updated_at"))
        line = f"{ALARM_EMOJI.get(state, ':white_circle:')} *{escape(str(alarm.get('name')))}* — {state}"
        if since:
            line += f" since {format_timestamp(since, tz)}"
        if alarm.get("reason"):
            line += f"\n>{escape(first_line(str(alarm['reason']), 500))}"
        lines.append(line)
    parts: list[Part] = [Section(fit_lines(lines, SECTION_TEXT_MAX, noun="alarms"))]
    missing, hidden = _finding_bullets(unlisted_alarm_findings(result, alarms))
    if missing:
        parts.append(Section(fit_lines(missing, SECTION_TEXT_MAX, hidden=hidden)))
    return parts


def _connector_parts(result: CheckResult, tz: str, room: int) -> list[Part]:
    d = result.details
    if "state" not in d:
        return []
    state = str(d.get("state"))
    head = f"{TASK_EMOJI.get(state, ':white_circle:')} Connector `{escape(str(d.get('connector', '?')))}`: *{state}*"
    wanted = str(d.get("requested_state") or "")
    if wanted and wanted != state.lower():
        head += f" (spec asks {escape(wanted)})"
    if d.get("ready") is not None:
        head += f" · Ready `{escape(str(d['ready']))}`"
    if d.get("maintenance"):
        head += " · maintenance window open"
    tasks = []
    for task in d.get("tasks") or []:
        task_state = str(task.get("state"))
        line = (
            f"{TASK_EMOJI.get(task_state, ':white_circle:')} task {task.get('id')} *{escape(task_state)}*"
            f" on `{escape(str(task.get('worker_id') or '?'))}`"
        )
        if task.get("trace"):
            line += f"\n```{escape(first_line(str(task['trace'])))}```"
        tasks.append(line)
    text = head if not tasks else f"{head}\n" + fit_lines(tasks, SECTION_TEXT_MAX - len(head) - 1, noun="tasks")
    parts: list[Part] = [Section(text)]
    extra, _ = _finding_bullets(connector_extra_findings(result))
    if extra:
        parts.append(Section(fit_lines(extra, SECTION_TEXT_MAX)))
    return parts


def _generic_parts(result: CheckResult, tz: str, room: int) -> list[Part]:
    parts: list[Part] = []
    # Scalar details (state, brokers, version…) read well as two-column fields.
    scalars = [(k, v) for k, v in result.details.items() if isinstance(v, str | int | float | bool) and v != ""]
    if scalars:
        parts.append(Fields([(escape(k), escape(str(v))) for k, v in scalars]))
    findings = result.sorted_findings()
    if findings:
        lines = [f"{f.status.emoji} {escape(f.text)}" for f in findings]
        parts.append(Section(fit_lines(lines, SECTION_TEXT_MAX, noun="findings")))
    return parts


_DETAIL_PARTS: dict[str, Callable[[CheckResult, str, int], list[Part]]] = {
    "consumer_lag": _lag_parts,
    "data_freshness": _freshness_parts,
    "alarms": _alarm_parts,
    "connector": _connector_parts,
}


def check_detail_message(result: CheckResult, pipeline: str, tz: str = "UTC") -> Message:
    """One check with its details: `/cdc lag`, `/cdc freshness`, `/cdc alarms` and friends."""
    label = check_label(result.name)
    parts: list[Part] = [
        Header(f"{label} on {pipeline}: {result.status.value}", emoji=result.status.emoji),
        Section(clip(escape(result.summary), SECTION_TEXT_MAX)),
    ]
    room = MAX_BLOCKS - len(parts) - 1  # footer
    # A check that could not run has no details: show what it does have rather than nothing.
    body = _DETAIL_PARTS.get(result.name, _generic_parts)(result, tz, room) or _generic_parts(result, tz, room)
    parts += body[:room]

    footer = f"`{result.name}`"
    thresholds = result.details.get("thresholds")
    if result.name == "consumer_lag" and isinstance(thresholds, dict) and thresholds:
        footer += " · " + ", ".join(
            f"{k} > {fmt_int(as_int(v))}" for k, v in thresholds.items() if isinstance(v, int | float)
        )
    footer += f" · {format_elapsed_ms(result.duration_ms)}"
    parts.append(Context([footer]))
    return Message(f"{label} on {pipeline}: {result.status.value} — {escape(result.summary)}", parts)


def render_check_detail(result: CheckResult, pipeline: str, tz: str = "UTC") -> SlackMessage:
    return to_slack(check_detail_message(result, pipeline, tz))


def check_detail_text(result: CheckResult, pipeline: str, tz: str = "UTC") -> str:
    """One check in full, for `cdc-bot check NAME` and the terminal chat."""
    return render_text(check_detail_message(result, pipeline, tz))
