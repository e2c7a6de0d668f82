"""Incident reports in the thread: diagnostic snapshots (summary + files), the closing summary, and
verify-data-flow. Pure, like the other renderers; everything shown already went through redaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.actions.service import ApprovalRecord, ApprovalState
from bot.checks.base import plural
from bot.incidents.diff import Change
from bot.incidents.service import ClosingSummary, IncidentRecord, SnapshotTaken, action_outcome
from bot.incidents.verify import OPERATIONS, VerifyResult
from bot.render.blockkit import SlackMessage, to_slack, to_slack_message
from bot.render.format import (
    SECTION_TEXT_MAX,
    fit_code_table,
    fit_lines,
    format_clock,
    format_span,
    format_table,
    format_timestamp,
    mention,
    status_of,
)
from bot.render.message import Attachment, Context, Fields, Header, Message, Part, Section, escape
from bot.render.snapshot_text import snapshot_json, snapshot_text

SUMMARY_LINES = 10
CHANGE_LINES = 25

# --- snapshots -------------------------------------------------------------------------------------------------

_CHANGE_EMOJI = {True: ":white_check_mark:", False: ":small_red_triangle:", None: ":small_blue_diamond:"}


def _change_lines(changes: Sequence[Change]) -> list[str]:
    return [f"{_CHANGE_EMOJI[c.better]} {escape(c.text)}" for c in changes]


def _kube_overview(snapshot: dict[str, Any]) -> str:
    kube = snapshot.get("kubernetes") or {}
    pods = kube.get("pods") or []
    not_ready = [p for p in pods if not p.get("is_ready") and p.get("phase") != "Succeeded"]
    restarts = sum(int(p.get("restarts") or 0) for p in pods)
    parts = [f"{plural(len(pods), 'pod')} ({len(not_ready)} not Ready, {plural(restarts, 'restart')})"]
    parts.append(plural(len(kube.get("deployments") or []), "deployment"))
    parts.append(plural(len(kube.get("events") or []), "Warning event"))
    connector = kube.get("connector") or {}
    if connector.get("found"):
        tasks = connector.get("tasks") or []
        running = sum(1 for t in tasks if t.get("state") == "RUNNING")
        parts.append(f"connector {connector.get('state')}, {running}/{len(tasks)} tasks running")
    msk = snapshot.get("msk") or {}
    if msk.get("state"):
        parts.append(f"MSK {msk.get('state')}")
    return f"`kubectl get all -n {escape(str(kube.get('namespace')))}`: " + " · ".join(escape(p) for p in parts)


def snapshot_filename(taken: SnapshotTaken, extension: str) -> str:
    stamp = taken.at.strftime("%Y%m%dT%H%M%SZ")
    return f"{taken.incident.ref}-snapshot-{taken.number}-{stamp}.{extension}"


def render_snapshot(taken: SnapshotTaken, tz: str = "UTC") -> SlackMessage:
    """The thread's short version: what is wrong, worst first, and what changed since the last one."""
    status = status_of(taken.snapshot.get("status"))
    parts: list[Part] = [
        Header(f":camera_with_flash: Snapshot #{taken.number} of {taken.incident.ref}: {status.value}")
    ]
    if taken.summary:
        lines = [f"{line.status.emoji} {escape(line.text)}" for line in taken.summary[:SUMMARY_LINES]]
        head = "*What is wrong (worst first)*"
        parts.append(
            Section(
                f"{head}\n"
                + fit_lines(
                    lines, SECTION_TEXT_MAX - len(head) - 1, hidden=len(taken.summary) - len(lines), noun="findings"
                )
            )
        )
    else:
        parts.append(Section(":large_green_circle: Every check is OK; no pod is failing."))
    if taken.changes is not None:
        since = f"*Since snapshot #{taken.previous_number}*"
        if taken.previous_at:
            since += f" ({format_clock(taken.previous_at, tz)})"
        if taken.changes:
            lines = _change_lines(taken.changes[:CHANGE_LINES])
            body = fit_lines(
                lines, SECTION_TEXT_MAX - len(since) - 1, hidden=len(taken.changes) - len(lines), noun="changes"
            )
            parts.append(Section(f"{since}\n{body}"))
        else:
            parts.append(Section(f"{since}: nothing changed."))
    parts.append(Section(_kube_overview(taken.snapshot)))
    parts.append(
        Context.of(
            f"Full snapshot in the files below: `{snapshot_filename(taken, 'txt')}` (readable) and `.json` · "
            f"secrets redacted · pipeline `{escape(taken.incident.pipeline)}` · taken {format_clock(taken.at, tz)} "
            f"in {taken.snapshot.get('duration_ms', '?')} ms"
        )
    )
    fallback = f"Snapshot #{taken.number} of {taken.incident.ref}: {status.value}"
    if taken.summary:
        fallback += " — " + "; ".join(line.text for line in taken.summary[:3])
    # The files go into the thread beside the summary; a text front end lists them.
    return to_slack(Message(escape(fallback), parts, snapshot_attachments(taken)))


def snapshot_attachments(taken: SnapshotTaken) -> list[Attachment]:
    """The whole snapshot as two files: a text file to read and the JSON to grep or diff."""
    heading = (
        f"cdc-bot diagnostic snapshot #{taken.number} of {taken.incident.ref} "
        f"({taken.incident.severity.value}: {taken.incident.title})"
    )
    return [
        Attachment(
            snapshot_filename(taken, "txt"),
            f"{taken.incident.ref} snapshot #{taken.number}",
            snapshot_text(taken.snapshot, heading),
        ),
        Attachment(
            snapshot_filename(taken, "json"),
            f"{taken.incident.ref} snapshot #{taken.number} (JSON)",
            snapshot_json(taken.snapshot),
        ),
    ]


def snapshot_files(taken: SnapshotTaken) -> list[dict[str, str]]:
    """The uploads as `files_upload_v2` takes them."""
    return [{"content": str(a.content), "filename": a.filename, "title": a.title} for a in snapshot_attachments(taken)]


def render_snapshot_failed(incident: IncidentRecord, reason: str) -> SlackMessage:
    text = f":warning: Could not take a snapshot of {incident.ref}: {escape(reason)}"
    return to_slack_message(text, [Section(text)])


def render_files_not_uploaded(incident: IncidentRecord, number: int) -> SlackMessage:
    text = (
        f":warning: The files of snapshot #{number} could not be uploaded (does the bot have `files:write`?). "
        f"The snapshot is stored with {incident.ref}'s timeline."
    )
    return to_slack_message(text, [Section(text)])


_ACTION_EMOJI = {
    ApprovalState.SUCCEEDED: ":white_check_mark:",
    ApprovalState.FAILED: ":x:",
    ApprovalState.DENIED: ":no_entry:",
    ApprovalState.EXPIRED: ":hourglass:",
    ApprovalState.DRIFTED: ":warning:",
}


def _action_line(a: ApprovalRecord, tz: str) -> str:
    emoji = _ACTION_EMOJI.get(a.state, ":gear:")
    line = f"{emoji} `{format_clock(a.created_at, tz)}` {escape(action_outcome(a))} — asked by {mention(a.requester)}"
    if a.decided_by and a.state not in (ApprovalState.DENIED, ApprovalState.EXPIRED):
        line += f", approved by {mention(a.decided_by)}"
    elif a.state is ApprovalState.DENIED and a.decided_by != a.requester:
        line += f", denied by {mention(a.decided_by)}"
    return line


def render_closing(closing: ClosingSummary, tz: str = "UTC") -> SlackMessage:
    """The closing summary: duration, severity changes, actions with outcomes, snapshots."""
    incident = closing.incident
    parts: list[Part] = [
        Header(f":white_check_mark: {incident.ref} resolved after {format_span(closing.duration.total_seconds())}")
    ]
    resolved_at = format_timestamp(incident.resolved_at, tz) if incident.resolved_at else "?"
    pairs = [
        ("Severity", incident.severity.value),
        ("Commander", mention(incident.commander)),
        ("Started", format_timestamp(incident.started_at, tz)),
        ("Resolved", f"{resolved_at} by {mention(incident.resolved_by)}"),
    ]
    parts.append(Fields(pairs))
    if incident.summary:
        parts.append(Section(f"*Summary:* {escape(incident.summary)}"))
    if closing.severity_changes:
        lines = [
            f"`{format_clock(at, tz)}` {escape(old)} → {escape(new)} by {mention(actor)}"
            for at, actor, old, new in closing.severity_changes
        ]
        parts.append(Section("*Severity changes*\n" + fit_lines(lines, SECTION_TEXT_MAX - 20)))
    else:
        parts.append(Section(f"*Severity:* {incident.severity.value} throughout"))
    head = f"*Actions ({len(closing.actions)})*"
    if closing.actions:
        lines = [_action_line(a, tz) for a in closing.actions]
        parts.append(Section(f"{head}\n" + fit_lines(lines, SECTION_TEXT_MAX - len(head) - 1, noun="actions")))
    else:
        parts.append(Section(f"{head}\nNo runbook action was requested in this thread."))
    if closing.snapshots:
        lines = [f"#{n} `{format_clock(at, tz)}` {escape(status)}" for n, at, status in closing.snapshots]
        parts.append(Section(f"*Snapshots ({len(lines)})*\n" + fit_lines(lines, SECTION_TEXT_MAX - 30, sep=" · ")))
    parts.append(
        Context.of(
            f"{closing.notes} notes · {closing.escalations} escalations · {closing.checks} checks run · "
            f"`/cdc incident timeline {incident.ref}` shows every entry"
        )
    )
    fallback = (
        f"{incident.ref} resolved after {format_span(closing.duration.total_seconds())}; {len(closing.actions)} actions"
    )
    return to_slack_message(fallback, parts)


# --- verify data flow ---------------------------------------------------------------------------------------------

VERIFY_HEADERS = ["partition", "offset", "timestamp", "op", "key", "after fields", "before fields"]


def _names(fields: list[str] | None) -> str:
    if fields is None:
        return "-"
    return ",".join(fields) if fields else "(empty)"


def render_verify(
    result: VerifyResult, pipeline: str, tz: str = "UTC", incident: IncidentRecord | None = None
) -> SlackMessage:
    """The shape of the latest messages: never a value (the raw topics carry PII)."""
    count = len(result.messages)
    icon = ":large_green_circle:" if count else ":red_circle:"
    parts: list[Part] = [Header(f"{icon} Data flow on {result.topic}: {count} latest messages")]
    if not count:
        parts.append(Section("The topic has no messages: nothing has been captured into it."))
    else:
        newest = result.newest
        facts = []
        if newest:
            age = format_span((result.checked_at - newest).total_seconds())
            facts.append(f"newest {age} ago ({format_timestamp(newest, tz)})")
        ops = ", ".join(f"{n} {escape(op)}" for op, n in result.operations().items())
        facts.append(f"operations: {ops}")
        parts.append(Section(" · ".join(facts)))
        rows = [
            [
                str(m.partition),
                str(m.offset),
                format_clock(m.timestamp, tz) if m.timestamp else "-",
                m.op or (m.note or "-"),
                m.key_info or "(no key)",
                _names(m.after_fields),
                _names(m.before_fields),
            ]
            for m in result.messages
        ]
        table = [escape(line) for line in format_table(VERIFY_HEADERS, rows, {0, 1})]
        parts.append(Section(fit_code_table(table, SECTION_TEXT_MAX)))
    legend = ", ".join(f"{k}={v}" for k, v in OPERATIONS.items())
    footer = f"Pipeline `{escape(pipeline)}` · field names only, never values (the raw topics carry PII) · op: {legend}"
    if incident is not None:
        footer += f" · {incident.ref}"
    parts.append(Context.of(footer))
    return to_slack_message(f"Data flow on {escape(result.topic)}: {count} latest messages", parts)
