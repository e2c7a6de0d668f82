"""Block Kit renderers: results → Slack messages, built with slack_sdk's block models.

Pure (no I/O, no client). The models validate Slack's limits when serialised; the functions here
stay inside those limits by cutting long content to "…and N more" instead of letting them raise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core.results import CheckResult, Finding, HealthReport, Status
from bot.render.text import (
    FINDINGS_PER_CHECK,
    FRESHNESS_HEADERS,
    LAG_HEADERS,
    LAG_RIGHT,
    WORST_PARTITION_ROWS,
    as_int,
    check_label,
    connector_extra_findings,
    first_line,
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
    unlisted_alarm_findings,
)

MAX_BLOCKS = 50
SECTION_TEXT_MAX = SectionBlock.text_max_length  # 3000
SECTION_FIELDS_MAX = SectionBlock.fields_max_length  # 10
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = HeaderBlock.text_max_length  # 150
CONTEXT_TEXT_MAX = 3000
FALLBACK_TEXT_MAX = 4000
# One runaway summary or trace must not eat a whole section's budget.
LINE_MAX = 1000

ALARM_EMOJI = {"ALARM": ":red_circle:", "INSUFFICIENT_DATA": ":white_circle:", "OK": ":large_green_circle:"}
TASK_EMOJI = {
    "RUNNING": ":large_green_circle:",
    "FAILED": ":red_circle:",
    "PAUSED": ":large_yellow_circle:",
    "STOPPED": ":large_yellow_circle:",
}


@dataclass(frozen=True)
class SlackMessage:
    """What `chat.postMessage` needs: `text` is the notification / accessibility fallback."""

    text: str
    blocks: list[dict[str, Any]]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


# --- text helpers --------------------------------------------------------------------------------

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """Slack's three control characters; also stops an exception message from pinging `<!channel>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_TEXT_MAX)))


def _header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, HEADER_TEXT_MAX), emoji=True))


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(
        elements=[MarkdownTextObject(text=clip(t, CONTEXT_TEXT_MAX)) for t in texts[: ContextBlock.elements_max_length]]
    )


def _message(fallback: str, blocks: list[Block]) -> SlackMessage:
    # to_dict() runs slack_sdk's validators: a limit we missed fails here, in tests, not at Slack.
    return SlackMessage(text=clip(fallback, FALLBACK_TEXT_MAX), blocks=[b.to_dict() for b in blocks[:MAX_BLOCKS]])


def _finding_bullets(findings: list[Finding], cap: int | None = None) -> tuple[list[str], int]:
    shown = findings if cap is None else findings[:cap]
    return [f"• {escape(f.text)}" for f in shown], len(findings) - len(shown)


# --- health report --------------------------------------------------------------------------------


def _check_section_text(check: CheckResult) -> str:
    head = f"{check.status.emoji} *{check_label(check.name)}* — {escape(check.summary)}"
    if check.status is Status.OK:
        return clip(head, SECTION_TEXT_MAX)
    bullets, hidden = _finding_bullets(non_ok_findings(check), FINDINGS_PER_CHECK)
    head = clip(head, LINE_MAX)
    body = fit_lines(bullets, SECTION_TEXT_MAX - len(head) - 1, hidden=hidden) if bullets or hidden else ""
    return f"{head}\n{body}" if body else head


def _report_fallback(report: HealthReport, heading: str) -> str:
    verdict = f"{heading}: {report.status.value}"
    bad = [c for c in report.worst_first() if c.status is not Status.OK]
    if not bad:
        return f"{verdict}, all {len(report.checks)} checks OK"
    parts = [f"{check_label(c.name)} {c.status.value}: {escape(c.summary)}" for c in bad]
    lead = f"{verdict} — "
    return lead + fit_lines(parts, FALLBACK_TEXT_MAX - len(lead), noun="checks", sep="; ")


def render_health_report(
    report: HealthReport, title: str | None = None, tz: str = "UTC", late: str | None = None
) -> SlackMessage:
    """The `/cdc health` answer and the 9:00 report: verdict, one line per check worst first, findings."""
    heading = title or f"Pipeline {report.pipeline}"
    # Plain text header: backticks would show literally, so the pipeline name goes in bare.
    blocks: list[Block] = [_header(f"{report.status.emoji} {heading}: {report.status.value}")]
    if report.notes:
        notes = [f":information_source: {escape(n)}" for n in report.notes]
        blocks.append(_context(fit_lines(notes, CONTEXT_TEXT_MAX, noun="notes")))

    footer = [f"Generated {format_clock(report.generated_at, tz)} · {format_elapsed_ms(report.duration_ms)}"]
    if title:
        footer[0] = f"Pipeline `{escape(report.pipeline)}` · {footer[0]}"
    if late:
        footer.append(f":hourglass_flowing_sand: {escape(late)}")

    checks = report.worst_first()
    room = MAX_BLOCKS - len(blocks) - 2  # divider + footer
    if not checks:
        blocks.append(_section("No checks ran."))
    shown = checks if len(checks) <= room else checks[: room - 1]
    blocks += [_section(_check_section_text(c)) for c in shown]
    if len(shown) < len(checks):
        # More checks than blocks: the rest share one section, still worst first.
        rest = [f"{c.status.emoji} *{check_label(c.name)}* — {escape(c.summary)}" for c in checks[len(shown) :]]
        blocks.append(_section(fit_lines(rest, SECTION_TEXT_MAX, noun="checks")))
    blocks += [DividerBlock(), _context(*footer)]
    return _message(_report_fallback(report, heading), blocks)


# --- one check in full ----------------------------------------------------------------------------


def _lag_blocks(result: CheckResult, tz: str, room: int) -> list[Block]:
    groups = result.details.get("groups")
    if not isinstance(groups, dict) or not groups:
        return []
    blocks: list[Block] = []
    items = [(g, d) for g, d in groups.items() if isinstance(d, dict)]
    # Worst group first, so a cut drops the healthy ones.
    items.sort(key=lambda gd: -(gd[1].get("total") or 0))
    for index, (group, detail) in enumerate(items):
        # Each group takes up to two blocks; keep one free for "…and N more groups" unless this is the last.
        reserve = 1 if index < len(items) - 1 else 0
        if len(blocks) + 2 + reserve > room:
            left = len(items) - index
            blocks.append(_section(more(left, "groups" if left > 1 else "group")))
            break
        if detail.get("total") is None:
            blocks.append(_section(f"*{escape(group)}* — no committed offsets (never committed, or no such group)"))
            continue
        topics = sorted((detail.get("topics") or {}).items(), key=lambda kv: -as_int(kv[1]))
        head = f"*{escape(group)}* — {fmt_int(as_int(detail['total']))} behind"
        lines = [f"• `{escape(str(t))}`: {fmt_int(as_int(lag))}" for t, lag in topics]
        if lines:
            head += "\n" + fit_lines(lines, SECTION_TEXT_MAX - len(head) - 1, noun="topics")
        blocks.append(_section(head))
        lagging = lagging_partitions(detail)
        if not lagging:
            blocks.append(_context("No partition is behind."))
            continue
        shown = lagging[:WORST_PARTITION_ROWS]
        table = [escape(line) for line in format_table(LAG_HEADERS, [lag_row(p) for p in shown], LAG_RIGHT)]
        blocks.append(
            _section(
                fit_code_table(table, SECTION_TEXT_MAX, hidden=len(lagging) - len(shown), lead="Worst partitions:")
            )
        )
    return blocks


def _freshness_blocks(result: CheckResult, tz: str, room: int) -> list[Block]:
    entries = freshness_entries(result.details)
    if not entries:
        return []
    table = [escape(line) for line in format_table(FRESHNESS_HEADERS, [freshness_row(e, tz) for e in entries])]
    blocks: list[Block] = [_section(fit_code_table(table, SECTION_TEXT_MAX))]
    errors = [f"• `{escape(str(e.get('table')))}`: {escape(str(e['error']))}" for e in entries if e.get("error")]
    if errors:
        blocks.append(_section(fit_lines(errors, SECTION_TEXT_MAX, noun="errors")))
    return blocks


def _alarm_blocks(result: CheckResult, tz: str, room: int) -> list[Block]:
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
    blocks: list[Block] = [_section(fit_lines(lines, SECTION_TEXT_MAX, noun="alarms"))]
    missing, hidden = _finding_bullets(unlisted_alarm_findings(result, alarms))
    if missing:
        blocks.append(_section(fit_lines(missing, SECTION_TEXT_MAX, hidden=hidden)))
    return blocks


def _connector_blocks(result: CheckResult, tz: str, room: int) -> list[Block]:
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
    blocks: list[Block] = [_section(text)]
    extra, _ = _finding_bullets(connector_extra_findings(result))
    if extra:
        blocks.append(_section(fit_lines(extra, SECTION_TEXT_MAX)))
    return blocks


def _generic_blocks(result: CheckResult, tz: str, room: int) -> list[Block]:
    blocks: list[Block] = []
    # Scalar details (state, brokers, version…) read well as two-column fields.
    scalars = [(k, v) for k, v in result.details.items() if isinstance(v, str | int | float | bool) and v != ""]
    if scalars:
        fields = [
            MarkdownTextObject(text=clip(f"*{escape(k)}*\n{escape(str(v))}", FIELD_TEXT_MAX))
            for k, v in scalars[:SECTION_FIELDS_MAX]
        ]
        blocks.append(SectionBlock(fields=fields))
    findings = result.sorted_findings()
    if findings:
        lines = [f"{f.status.emoji} {escape(f.text)}" for f in findings]
        blocks.append(_section(fit_lines(lines, SECTION_TEXT_MAX, noun="findings")))
    return blocks


_DETAIL_BLOCKS: dict[str, Callable[[CheckResult, str, int], list[Block]]] = {
    "consumer_lag": _lag_blocks,
    "data_freshness": _freshness_blocks,
    "alarms": _alarm_blocks,
    "connector": _connector_blocks,
}


def render_check_detail(result: CheckResult, pipeline: str, tz: str = "UTC") -> SlackMessage:
    """One check with its details: `/cdc lag`, `/cdc freshness`, `/cdc alarms` and friends."""
    label = check_label(result.name)
    blocks: list[Block] = [
        _header(f"{result.status.emoji} {label} on {pipeline}: {result.status.value}"),
        _section(clip(escape(result.summary), SECTION_TEXT_MAX)),
    ]
    room = MAX_BLOCKS - len(blocks) - 1  # footer
    # A check that could not run has no details: show what it does have rather than nothing.
    body = _DETAIL_BLOCKS.get(result.name, _generic_blocks)(result, tz, room) or _generic_blocks(result, tz, room)
    blocks += body[:room]

    footer = f"`{result.name}`"
    thresholds = result.details.get("thresholds")
    if result.name == "consumer_lag" and isinstance(thresholds, dict) and thresholds:
        footer += " · " + ", ".join(
            f"{k} > {fmt_int(as_int(v))}" for k, v in thresholds.items() if isinstance(v, int | float)
        )
    footer += f" · {format_elapsed_ms(result.duration_ms)}"
    blocks.append(_context(footer))
    return _message(f"{label} on {pipeline}: {result.status.value} — {escape(result.summary)}", blocks)


# --- ephemeral replies ----------------------------------------------------------------------------


def render_error(message: str) -> SlackMessage:
    return _message(escape(message), [_section(f":warning: {escape(message)}")])


def render_help(commands: list[tuple[str, str]], intro: str | None = None) -> SlackMessage:
    """Every command on its own line; a long list spills into further sections instead of being cut."""
    lines = [f"`{escape(cmd)}` — {escape(text)}" for cmd, text in commands]
    blocks: list[Block] = [_section(f":warning: {escape(intro)}")] if intro else []
    blocks.append(_section("*cdc-bot commands*"))
    chunk: list[str] = []
    for line in lines:
        line = clip(line, LINE_MAX)
        if chunk and len("\n".join([*chunk, line])) > SECTION_TEXT_MAX:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    fallback = (f"{intro} " if intro else "") + "cdc-bot commands: " + ", ".join(cmd for cmd, _ in commands)
    return _message(escape(fallback), blocks)


CONTACT_LABELS = {
    "L1": "L1 Support",
    "L2": "L2 Support",
    "L3": "L3 Support",
    "product_owner": "Product Owner",
    "tech_lead": "Tech Lead",
    "aws_tam": "AWS TAM",
}


def render_contacts(contacts: dict[str, str | None], channels: Any) -> SlackMessage:
    """The runbook's escalation path (L1 → L3) and key contacts, from config."""
    path = [
        f"{i}. *{CONTACT_LABELS[k]}*: {escape(contacts[k] or '')}"
        for i, k in enumerate(("L1", "L2", "L3"), 1)
        if contacts.get(k)
    ]
    keys = [
        f"• *{CONTACT_LABELS.get(k, k)}*: {escape(v)}" for k, v in contacts.items() if v and k not in ("L1", "L2", "L3")
    ]
    blocks: list[Block] = [_header(":rotating_light: Escalation path")]
    blocks.append(_section("\n".join(path) if path else "No escalation path configured (`contacts:` in the config)."))
    if keys:
        blocks.append(_section("*Key contacts*\n" + "\n".join(keys)))
    blocks.append(_context(f"Ops: {escape(channels.ops_channel)} · Alerts: {escape(channels.alerts_channel)}"))
    return _message("Escalation path: " + "; ".join(p.split(". ", 1)[1] for p in path).replace("*", ""), blocks)
