"""Block Kit for incidents: the root message, the declare modal, the checklist, snapshots, the timeline,
the closing summary, escalation and verify-data-flow results.

Pure: records in, `SlackMessage` (or a view dict) out. Buttons carry only the incident id; what
they do is decided server-side from the stored incident. Everything shown here already went
through the incidents' redaction; user-typed text is escaped so it cannot ping or format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.actions.service import ApprovalRecord, ApprovalState
from bot.checks.base import plural
from bot.core.durations import format_duration
from bot.core.results import Status
from bot.incidents.diff import Change
from bot.incidents.service import (
    ClosingSummary,
    IncidentRecord,
    SnapshotTaken,
    TimelineEntry,
    action_outcome,
)
from bot.incidents.severity import DEFINITIONS, Severity, StepKind, checklist
from bot.incidents.verify import OPERATIONS, VerifyResult
from bot.render.approvals import mention
from bot.render.slack import (
    CONTACT_LABELS,
    FIELD_TEXT_MAX,
    SECTION_TEXT_MAX,
    SlackMessage,
    _context,
    _header,
    _message,
    _section,
    clip,
    escape,
    fit_code_table,
    fit_lines,
)
from bot.render.snapshot_text import snapshot_json, snapshot_text
from bot.render.text import format_clock, format_table, format_timestamp

# Buttons on the root message; each carries the incident id as its value.
SNAPSHOT_ACTION_ID = "incident_snapshot"
TIMELINE_ACTION_ID = "incident_timeline"
ESCALATE_ACTION_ID = "incident_escalate"
RESOLVE_ACTION_ID = "incident_resolve"
# Checklist buttons: this prefix + the step's key (`incident_step_restart-streams`).
STEP_ACTION_PREFIX = "incident_step_"
DECLARE_CALLBACK_ID = "incident_declare"
# Block and action ids of the declare modal's inputs.
SEVERITY_INPUT, TITLE_INPUT, PIPELINE_INPUT, AFFECTED_INPUT = "severity", "title", "pipeline", "affected"

SEVERITY_EMOJI = {
    Severity.SEV1: ":red_circle:",
    Severity.SEV2: ":large_orange_circle:",
    Severity.SEV3: ":large_yellow_circle:",
    Severity.SEV4: ":large_blue_circle:",
}
SUMMARY_LINES = 10
CHANGE_LINES = 25


def _duration(seconds: float) -> str:
    return format_duration(max(0.0, seconds))


def _fields(pairs: Sequence[tuple[str, str]]) -> SectionBlock:
    return SectionBlock(
        fields=[MarkdownTextObject(text=clip(f"*{label}*\n{value}", FIELD_TEXT_MAX)) for label, value in pairs[:10]]
    )


def _button(text: str, action_id: str, value: str, style: str | None = None, confirm: Any = None) -> ButtonElement:
    return ButtonElement(text=clip(text, 75), action_id=action_id, value=value, style=style, confirm=confirm)


# --- the root message ----------------------------------------------------------------------------------------


def render_root(incident: IncidentRecord, tz: str = "UTC", now: datetime | None = None) -> SlackMessage:
    """The incident's message in the ops channel; the incident runs in its thread."""
    sev = incident.severity
    state = "Open" if incident.is_open else "Resolved"
    emoji = SEVERITY_EMOJI[sev] if incident.is_open else ":white_check_mark:"
    blocks: list[Block] = [_header(f"{emoji} {incident.ref} · {sev.value} · {incident.title}")]
    pairs = [
        ("Severity", f"{sev.value}: {escape(sev.definition)}"),
        ("Status", state),
        ("Commander", mention(incident.commander)),
        ("Started", format_timestamp(incident.started_at, tz)),
        ("Pipeline", f"`{escape(incident.pipeline)}`"),
    ]
    if incident.affected:
        pairs.append(("Affected", escape(incident.affected)))
    if not incident.is_open and incident.resolved_at:
        pairs.append(
            (
                "Resolved",
                f"{format_timestamp(incident.resolved_at, tz)} by {mention(incident.resolved_by)} "
                f"after {_duration(incident.duration().total_seconds())}",
            )
        )
    blocks.append(_fields(pairs))
    if incident.summary and not incident.is_open:
        blocks.append(_section(f"*Summary:* {escape(incident.summary)}"))
    value = str(incident.id)
    if incident.is_open:
        blocks.append(_context("The incident runs in this thread. `/cdc incident note TEXT` adds to its timeline."))
        confirm = ConfirmObject(
            title="Resolve this incident?",
            text=clip(f"{incident.ref} will be marked resolved and its closing summary posted.", 300),
            confirm="Resolve",
            deny="Cancel",
        )
        blocks.append(
            ActionsBlock(
                block_id="incident_buttons",
                elements=[
                    _button("Snapshot", SNAPSHOT_ACTION_ID, value),
                    _button("Timeline", TIMELINE_ACTION_ID, value),
                    _button("Escalate", ESCALATE_ACTION_ID, value, style="danger"),
                    _button("Resolve", RESOLVE_ACTION_ID, value, style="primary", confirm=confirm),
                ],
            )
        )
    else:
        blocks.append(
            ActionsBlock(block_id="incident_buttons", elements=[_button("Timeline", TIMELINE_ACTION_ID, value)])
        )
    fallback = f"{incident.ref} {sev.value} ({state.lower()}): {incident.title}"
    return _message(escape(fallback), blocks)


def render_declared_notice(incident: IncidentRecord) -> SlackMessage:
    text = f":rotating_light: Declared {incident.ref} ({incident.severity.value}); it runs in its thread."
    return _message(text, [_section(text)])


# --- the declare modal -----------------------------------------------------------------------------------------


def render_declare_modal(pipelines: Sequence[str], private_metadata: str = "") -> dict[str, Any]:
    """`/cdc incident declare` without arguments: severity (with the runbook's definitions), title,
    pipeline, what is affected."""
    severities = [Option(value=s.value, label=s.value, description=clip(DEFINITIONS[s], 75)) for s in Severity]
    pipeline_options = [Option(value=name, label=clip(name, 75)) for name in pipelines[:100]]
    blocks: list[Block] = [
        InputBlock(
            block_id=SEVERITY_INPUT,
            label="Severity",
            element=StaticSelectElement(action_id=SEVERITY_INPUT, placeholder="How bad is it?", options=severities),
        ),
        InputBlock(
            block_id=TITLE_INPUT,
            label="Title",
            element=PlainTextInputElement(
                action_id=TITLE_INPUT, placeholder="What is wrong, in a few words", max_length=200
            ),
        ),
        InputBlock(
            block_id=PIPELINE_INPUT,
            label="Pipeline",
            element=StaticSelectElement(
                action_id=PIPELINE_INPUT, options=pipeline_options, initial_option=pipeline_options[0]
            ),
        ),
        InputBlock(
            block_id=AFFECTED_INPUT,
            label="What is affected",
            optional=True,
            element=PlainTextInputElement(
                action_id=AFFECTED_INPUT, multiline=True, placeholder="Tables, consumers, reports…", max_length=1000
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=DECLARE_CALLBACK_ID,
        title="Declare an incident",
        submit="Declare",
        close="Cancel",
        blocks=blocks,
        private_metadata=private_metadata,
    )
    return view.to_dict()


# --- the checklist ---------------------------------------------------------------------------------------------


def render_checklist(incident: IncidentRecord) -> SlackMessage:
    """The severity's checklist from the runbook, each step with the buttons that do it."""
    sev = incident.severity
    blocks: list[Block] = [_header(f"{sev.value} checklist: {sev.definition}")]
    value = str(incident.id)
    for phase in checklist(sev):
        blocks.append(_section(f"*{escape(phase.title)}*"))
        for step in phase.steps:
            blocks.append(_section(step.text))
            if step.buttons:
                blocks.append(
                    ActionsBlock(
                        elements=[
                            _button(
                                (":warning: " if b.kind is StepKind.ACTION else "") + b.label,
                                f"{STEP_ACTION_PREFIX}{b.key}",
                                value,
                                style=b.style,
                            )
                            for b in step.buttons
                        ]
                    )
                )
    blocks.append(
        _context(
            ":warning: buttons ask for a runbook action: it is posted here and runs only once an approver "
            "other than you approves it. The others run read-only checks and post the result here."
        )
    )
    return _message(f"{incident.ref} {sev.value} checklist", blocks)


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
    status = _status(taken.snapshot.get("status"))
    blocks: list[Block] = [
        _header(f":camera_with_flash: Snapshot #{taken.number} of {taken.incident.ref}: {status.value}")
    ]
    if taken.summary:
        lines = [f"{line.status.emoji} {escape(line.text)}" for line in taken.summary[:SUMMARY_LINES]]
        head = "*What is wrong (worst first)*"
        blocks.append(
            _section(
                f"{head}\n"
                + fit_lines(
                    lines, SECTION_TEXT_MAX - len(head) - 1, hidden=len(taken.summary) - len(lines), noun="findings"
                )
            )
        )
    else:
        blocks.append(_section(":large_green_circle: Every check is OK; no pod is failing."))
    if taken.changes is not None:
        since = f"*Since snapshot #{taken.previous_number}*"
        if taken.previous_at:
            since += f" ({format_clock(taken.previous_at, tz)})"
        if taken.changes:
            lines = _change_lines(taken.changes[:CHANGE_LINES])
            body = fit_lines(
                lines, SECTION_TEXT_MAX - len(since) - 1, hidden=len(taken.changes) - len(lines), noun="changes"
            )
            blocks.append(_section(f"{since}\n{body}"))
        else:
            blocks.append(_section(f"{since}: nothing changed."))
    blocks.append(_section(_kube_overview(taken.snapshot)))
    blocks.append(
        _context(
            f"Full snapshot in the files below: `{snapshot_filename(taken, 'txt')}` (readable) and `.json` · "
            f"secrets redacted · pipeline `{escape(taken.incident.pipeline)}` · taken {format_clock(taken.at, tz)} "
            f"in {taken.snapshot.get('duration_ms', '?')} ms"
        )
    )
    fallback = f"Snapshot #{taken.number} of {taken.incident.ref}: {status.value}"
    if taken.summary:
        fallback += " — " + "; ".join(line.text for line in taken.summary[:3])
    return _message(escape(fallback), blocks)


def snapshot_files(taken: SnapshotTaken) -> list[dict[str, str]]:
    """The whole snapshot as two uploads: a text file to read and the JSON to grep or diff."""
    heading = (
        f"cdc-bot diagnostic snapshot #{taken.number} of {taken.incident.ref} "
        f"({taken.incident.severity.value}: {taken.incident.title})"
    )
    return [
        {
            "content": snapshot_text(taken.snapshot, heading),
            "filename": snapshot_filename(taken, "txt"),
            "title": f"{taken.incident.ref} snapshot #{taken.number}",
        },
        {
            "content": snapshot_json(taken.snapshot),
            "filename": snapshot_filename(taken, "json"),
            "title": f"{taken.incident.ref} snapshot #{taken.number} (JSON)",
        },
    ]


def render_snapshot_failed(incident: IncidentRecord, reason: str) -> SlackMessage:
    text = f":warning: Could not take a snapshot of {incident.ref}: {escape(reason)}"
    return _message(text, [_section(text)])


def render_files_not_uploaded(incident: IncidentRecord, number: int) -> SlackMessage:
    text = (
        f":warning: The files of snapshot #{number} could not be uploaded (does the bot have `files:write`?). "
        f"The snapshot is stored with {incident.ref}'s timeline."
    )
    return _message(text, [_section(text)])


def _status(value: Any) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        return Status.UNKNOWN


# --- thread updates ---------------------------------------------------------------------------------------------


def render_severity_change(incident: IncidentRecord, old: Severity, actor: str) -> SlackMessage:
    text = (
        f"{SEVERITY_EMOJI[incident.severity]} {mention(actor)} changed the severity of {incident.ref}: "
        f"*{old.value} → {incident.severity.value}* ({escape(incident.severity.definition)})"
    )
    return _message(f"{incident.ref}: {old.value} → {incident.severity.value}", [_section(text)])


def render_note(incident: IncidentRecord, actor: str, text: str, at: datetime, tz: str = "UTC") -> SlackMessage:
    body = f":memo: *Note* by {mention(actor)} at {format_clock(at, tz)}\n{escape(text)}"
    return _message(f"{incident.ref} note: {escape(text)}", [_section(body)])


def render_acknowledged(incident: IncidentRecord, actor: str) -> SlackMessage:
    text = f":eyes: {mention(actor)} acknowledged {incident.ref} (PagerDuty acknowledgement is theirs to do)."
    return _message(text, [_section(text)])


def render_escalation(
    incident: IncidentRecord, actor: str, contacts: dict[str, str | None], ops_channel: str, alerts_channel: str
) -> SlackMessage:
    """The runbook's escalation path and key contacts, posted in the incident thread."""
    path = [
        f"{i}. *{CONTACT_LABELS[k]}*: {escape(contacts[k] or '')}"
        for i, k in enumerate(("L1", "L2", "L3"), 1)
        if contacts.get(k)
    ]
    keys = [
        f"• *{CONTACT_LABELS.get(k, k)}*: {escape(v)}" for k, v in contacts.items() if v and k not in ("L1", "L2", "L3")
    ]
    blocks: list[Block] = [
        _header(f":rotating_light: Escalating {incident.ref} ({incident.severity.value})"),
        _section(f"{mention(actor)} escalated: *{escape(incident.title)}*"),
        _section(
            "*Escalation path*\n"
            + ("\n".join(path) if path else "No escalation path configured (`contacts:` in the config).")
        ),
    ]
    if keys:
        blocks.append(_section("*Key contacts*\n" + "\n".join(keys)))
    blocks.append(
        _context(f"Ops: {escape(ops_channel)} · Alerts: {escape(alerts_channel)} · Bridge: #incident-response")
    )
    return _message(
        f"Escalating {incident.ref}: " + "; ".join(p.split(". ", 1)[1] for p in path).replace("*", ""), blocks
    )


_KIND_EMOJI = {
    "declared": ":rotating_light:",
    "snapshot": ":camera_with_flash:",
    "note": ":memo:",
    "severity": ":arrow_up_down:",
    "escalated": ":telephone_receiver:",
    "acknowledged": ":eyes:",
    "check": ":mag:",
    "action": ":gear:",
    "resolved": ":white_check_mark:",
}


def render_timeline(incident: IncidentRecord, entries: Sequence[TimelineEntry], tz: str = "UTC") -> SlackMessage:
    lines = [
        f"`{format_clock(e.at, tz)}` {_KIND_EMOJI.get(e.kind, ':small_blue_diamond:')} "
        f"{mention(e.actor) if e.actor != 'cdc-bot' else 'cdc-bot'} {escape(e.text)}"
        for e in entries
    ]
    blocks: list[Block] = [_header(f"{incident.ref} timeline ({len(entries)} entries)")]
    chunk: list[str] = []
    for line in lines:
        line = clip(line, 1000)
        if chunk and len("\n".join([*chunk, line])) > SECTION_TEXT_MAX:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    if not lines:
        blocks.append(_section("Nothing yet."))
    state = "open" if incident.is_open else "resolved"
    blocks.append(
        _context(
            f"{incident.severity.value} · {state} · started {format_timestamp(incident.started_at, tz)} · "
            f"{_duration(incident.duration().total_seconds())}"
        )
    )
    return _message(f"{incident.ref} timeline: {len(entries)} entries", blocks)


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
    blocks: list[Block] = [
        _header(f":white_check_mark: {incident.ref} resolved after {_duration(closing.duration.total_seconds())}")
    ]
    resolved_at = format_timestamp(incident.resolved_at, tz) if incident.resolved_at else "?"
    pairs = [
        ("Severity", incident.severity.value),
        ("Commander", mention(incident.commander)),
        ("Started", format_timestamp(incident.started_at, tz)),
        ("Resolved", f"{resolved_at} by {mention(incident.resolved_by)}"),
    ]
    blocks.append(_fields(pairs))
    if incident.summary:
        blocks.append(_section(f"*Summary:* {escape(incident.summary)}"))
    if closing.severity_changes:
        lines = [
            f"`{format_clock(at, tz)}` {escape(old)} → {escape(new)} by {mention(actor)}"
            for at, actor, old, new in closing.severity_changes
        ]
        blocks.append(_section("*Severity changes*\n" + fit_lines(lines, SECTION_TEXT_MAX - 20)))
    else:
        blocks.append(_section(f"*Severity:* {incident.severity.value} throughout"))
    head = f"*Actions ({len(closing.actions)})*"
    if closing.actions:
        lines = [_action_line(a, tz) for a in closing.actions]
        blocks.append(_section(f"{head}\n" + fit_lines(lines, SECTION_TEXT_MAX - len(head) - 1, noun="actions")))
    else:
        blocks.append(_section(f"{head}\nNo runbook action was requested in this thread."))
    if closing.snapshots:
        lines = [f"#{n} `{format_clock(at, tz)}` {escape(status)}" for n, at, status in closing.snapshots]
        blocks.append(_section(f"*Snapshots ({len(lines)})*\n" + fit_lines(lines, SECTION_TEXT_MAX - 30, sep=" · ")))
    blocks.append(
        _context(
            f"{closing.notes} notes · {closing.escalations} escalations · {closing.checks} checks run · "
            f"`/cdc incident timeline {incident.ref}` shows every entry"
        )
    )
    fallback = (
        f"{incident.ref} resolved after {_duration(closing.duration.total_seconds())}; {len(closing.actions)} actions"
    )
    return _message(fallback, blocks)


def render_incident_choice(
    intro: str, incidents: Sequence[IncidentRecord], command: str, tz: str = "UTC"
) -> SlackMessage:
    """Ephemeral: which open incident? Each with the command to type again, its id filled in."""
    blocks: list[Block] = [_section(f":warning: {escape(intro)}")]
    if incidents:
        lines = [
            f"• *{i.ref}* {i.severity.value} · {escape(i.title)} · since {format_clock(i.started_at, tz)} "
            f"· `{escape(command.replace('INC-?', i.ref))}`"
            for i in incidents
        ]
        blocks.append(_section(fit_lines(lines, SECTION_TEXT_MAX, noun="incidents")))
    return _message(escape(intro), blocks)


def render_incident_list(incidents: Sequence[IncidentRecord], tz: str = "UTC") -> SlackMessage:
    if not incidents:
        text = "No incident is open."
        return _message(text, [_section(text)])
    lines = [
        f"{SEVERITY_EMOJI[i.severity]} *{i.ref}* {i.severity.value} · {escape(i.title)} · {mention(i.commander)} · "
        f"since {format_timestamp(i.started_at, tz)} · pipeline `{escape(i.pipeline)}`"
        for i in incidents
    ]
    return _message(
        f"{len(incidents)} open incidents",
        [_header(f"Open incidents ({len(incidents)})"), _section(fit_lines(lines, SECTION_TEXT_MAX))],
    )


# --- verify data flow ---------------------------------------------------------------------------------------------

VERIFY_HEADERS = ["partition", "offset", "timestamp", "op", "key (sha256)", "after fields", "before fields"]


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
    blocks: list[Block] = [_header(f"{icon} Data flow on {result.topic}: {count} latest messages")]
    if not count:
        blocks.append(_section("The topic has no messages: nothing has been captured into it."))
    else:
        newest = result.newest
        parts = []
        if newest:
            parts.append(
                f"newest {_duration((result.checked_at - newest).total_seconds())} ago ({format_timestamp(newest, tz)})"
            )
        ops = ", ".join(f"{n} {escape(op)}" for op, n in result.operations().items())
        parts.append(f"operations: {ops}")
        blocks.append(_section(" · ".join(parts)))
        rows = [
            [
                str(m.partition),
                str(m.offset),
                format_clock(m.timestamp, tz) if m.timestamp else "-",
                m.op or (m.note or "-"),
                m.key_hash or "(no key)",
                _names(m.after_fields),
                _names(m.before_fields),
            ]
            for m in result.messages
        ]
        table = [escape(line) for line in format_table(VERIFY_HEADERS, rows, {0, 1})]
        blocks.append(_section(fit_code_table(table, SECTION_TEXT_MAX)))
    legend = ", ".join(f"{k}={v}" for k, v in OPERATIONS.items())
    footer = f"Pipeline `{escape(pipeline)}` · field names only, never values (the raw topics carry PII) · op: {legend}"
    if incident is not None:
        footer += f" · {incident.ref}"
    blocks.append(_context(footer))
    return _message(f"Data flow on {escape(result.topic)}: {count} latest messages", blocks)


def render_step_refused(reason: str) -> SlackMessage:
    return _message(escape(reason), [_section(f":warning: {escape(reason)}")])
