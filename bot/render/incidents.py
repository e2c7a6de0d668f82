"""Incident messages: the root message, the checklist, thread updates, escalation, the timeline, lists.

Pure: records in, a `Message` (rendered as a `SlackMessage`) out. Buttons carry only the incident id;
what they do is decided server-side from the stored incident. Everything shown here already went
through the incidents' redaction; user-typed text is escaped so it cannot ping or format.
Snapshots, the closing summary and verify-data-flow are in `incident_reports`, the declare modal in
`incident_modal`; they are re-exported here, where commands/ look for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.incidents.service import IncidentRecord, TimelineEntry
from bot.incidents.severity import Severity, StepKind, checklist
from bot.render.blockkit import SlackMessage, to_slack_message
from bot.render.format import SECTION_TEXT_MAX, fit_lines, format_clock, format_span, format_timestamp, mention
from bot.render.incident_modal import (
    AFFECTED_INPUT,
    DECLARE_CALLBACK_ID,
    PIPELINE_INPUT,
    SEVERITY_INPUT,
    TITLE_INPUT,
    render_declare_modal,
)
from bot.render.incident_reports import (
    render_closing,
    render_files_not_uploaded,
    render_snapshot,
    render_snapshot_failed,
    render_verify,
    snapshot_filename,
    snapshot_files,
)
from bot.render.message import Actions, Button, Confirm, Context, Fields, Header, Part, Section, escape
from bot.render.replies import NO_PATH, chunks, escalation_lines

__all__ = [
    "AFFECTED_INPUT",
    "DECLARE_CALLBACK_ID",
    "PIPELINE_INPUT",
    "SEVERITY_INPUT",
    "TITLE_INPUT",
    "render_closing",
    "render_declare_modal",
    "render_files_not_uploaded",
    "render_snapshot",
    "render_snapshot_failed",
    "render_verify",
    "snapshot_filename",
    "snapshot_files",
]

# Buttons on the root message; each carries the incident id as its value.
SNAPSHOT_ACTION_ID = "incident_snapshot"
TIMELINE_ACTION_ID = "incident_timeline"
ESCALATE_ACTION_ID = "incident_escalate"
RESOLVE_ACTION_ID = "incident_resolve"
# Checklist buttons: this prefix + the step's key (`incident_step_restart-streams`).
STEP_ACTION_PREFIX = "incident_step_"

SEVERITY_EMOJI = {
    Severity.SEV1: ":red_circle:",
    Severity.SEV2: ":large_orange_circle:",
    Severity.SEV3: ":large_yellow_circle:",
    Severity.SEV4: ":large_blue_circle:",
}


# --- the root message ----------------------------------------------------------------------------------------


def render_root(incident: IncidentRecord, tz: str = "UTC", now: datetime | None = None) -> SlackMessage:
    """The incident's message in the ops channel; the incident runs in its thread."""
    sev = incident.severity
    state = "Open" if incident.is_open else "Resolved"
    emoji = SEVERITY_EMOJI[sev] if incident.is_open else ":white_check_mark:"
    parts: list[Part] = [Header(f"{emoji} {incident.ref} · {sev.value} · {incident.title}")]
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
                f"after {format_span(incident.duration().total_seconds())}",
            )
        )
    parts.append(Fields(pairs))
    if incident.summary and not incident.is_open:
        parts.append(Section(f"*Summary:* {escape(incident.summary)}"))
    value = str(incident.id)
    if incident.is_open:
        parts.append(Context.of("The incident runs in this thread. `/cdc incident note TEXT` adds to its timeline."))
        confirm = Confirm(
            title="Resolve this incident?",
            text=f"{incident.ref} will be marked resolved and its closing summary posted.",
            confirm="Resolve",
            deny="Cancel",
        )
        buttons = [
            Button("Snapshot", SNAPSHOT_ACTION_ID, value),
            Button("Timeline", TIMELINE_ACTION_ID, value),
            Button("Escalate", ESCALATE_ACTION_ID, value, style="danger"),
            Button("Resolve", RESOLVE_ACTION_ID, value, style="primary", confirm=confirm),
        ]
        parts.append(Actions(buttons, block_id="incident_buttons"))
    else:
        parts.append(Actions([Button("Timeline", TIMELINE_ACTION_ID, value)], block_id="incident_buttons"))
    fallback = f"{incident.ref} {sev.value} ({state.lower()}): {incident.title}"
    return to_slack_message(escape(fallback), parts)


def render_declared_notice(incident: IncidentRecord) -> SlackMessage:
    text = f":rotating_light: Declared {incident.ref} ({incident.severity.value}); it runs in its thread."
    return to_slack_message(text, [Section(text)])


# --- the checklist ---------------------------------------------------------------------------------------------


def render_checklist(incident: IncidentRecord) -> SlackMessage:
    """The severity's checklist from the runbook, each step with the buttons that do it."""
    sev = incident.severity
    parts: list[Part] = [Header(f"{sev.value} checklist: {sev.definition}")]
    value = str(incident.id)
    for phase in checklist(sev):
        parts.append(Section(f"*{escape(phase.title)}*"))
        for step in phase.steps:
            parts.append(Section(step.text))
            if step.buttons:
                buttons = [
                    Button(
                        (":warning: " if b.kind is StepKind.ACTION else "") + b.label,
                        f"{STEP_ACTION_PREFIX}{b.key}",
                        value,
                        style=b.style,
                    )
                    for b in step.buttons
                ]
                parts.append(Actions(buttons))
    parts.append(
        Context.of(
            ":warning: buttons ask for a runbook action: it is posted here and runs only once an approver "
            "other than you approves it. The others run read-only checks and post the result here."
        )
    )
    return to_slack_message(f"{incident.ref} {sev.value} checklist", parts)


# --- thread updates ---------------------------------------------------------------------------------------------


def render_severity_change(incident: IncidentRecord, old: Severity, actor: str) -> SlackMessage:
    text = (
        f"{SEVERITY_EMOJI[incident.severity]} {mention(actor)} changed the severity of {incident.ref}: "
        f"*{old.value} → {incident.severity.value}* ({escape(incident.severity.definition)})"
    )
    return to_slack_message(f"{incident.ref}: {old.value} → {incident.severity.value}", [Section(text)])


def render_note(incident: IncidentRecord, actor: str, text: str, at: datetime, tz: str = "UTC") -> SlackMessage:
    body = f":memo: *Note* by {mention(actor)} at {format_clock(at, tz)}\n{escape(text)}"
    return to_slack_message(f"{incident.ref} note: {escape(text)}", [Section(body)])


def render_acknowledged(incident: IncidentRecord, actor: str) -> SlackMessage:
    text = f":eyes: {mention(actor)} acknowledged {incident.ref} (PagerDuty acknowledgement is theirs to do)."
    return to_slack_message(text, [Section(text)])


def render_escalation(
    incident: IncidentRecord, actor: str, contacts: dict[str, str | None], ops_channel: str, alerts_channel: str
) -> SlackMessage:
    """The runbook's escalation path and key contacts, posted in the incident thread."""
    path, keys = escalation_lines(contacts)
    parts: list[Part] = [
        Header(f":rotating_light: Escalating {incident.ref} ({incident.severity.value})"),
        Section(f"{mention(actor)} escalated: *{escape(incident.title)}*"),
        Section("*Escalation path*\n" + ("\n".join(path) if path else NO_PATH)),
    ]
    if keys:
        parts.append(Section("*Key contacts*\n" + "\n".join(keys)))
    parts.append(
        Context.of(f"Ops: {escape(ops_channel)} · Alerts: {escape(alerts_channel)} · Bridge: #incident-response")
    )
    return to_slack_message(
        f"Escalating {incident.ref}: " + "; ".join(p.split(". ", 1)[1] for p in path).replace("*", ""), parts
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
    parts: list[Part] = [Header(f"{incident.ref} timeline ({len(entries)} entries)")]
    parts += [Section(chunk) for chunk in chunks(lines)]
    if not lines:
        parts.append(Section("Nothing yet."))
    state = "open" if incident.is_open else "resolved"
    parts.append(
        Context.of(
            f"{incident.severity.value} · {state} · started {format_timestamp(incident.started_at, tz)} · "
            f"{format_span(incident.duration().total_seconds())}"
        )
    )
    return to_slack_message(f"{incident.ref} timeline: {len(entries)} entries", parts)


def render_incident_choice(
    intro: str, incidents: Sequence[IncidentRecord], command: str, tz: str = "UTC"
) -> SlackMessage:
    """Ephemeral: which open incident? Each with the command to type again, its id filled in."""
    parts: list[Part] = [Section(f":warning: {escape(intro)}")]
    if incidents:
        lines = [
            f"• *{i.ref}* {i.severity.value} · {escape(i.title)} · since {format_clock(i.started_at, tz)} "
            f"· `{escape(command.replace('INC-?', i.ref))}`"
            for i in incidents
        ]
        parts.append(Section(fit_lines(lines, SECTION_TEXT_MAX, noun="incidents")))
    return to_slack_message(escape(intro), parts)


def render_incident_list(incidents: Sequence[IncidentRecord], tz: str = "UTC") -> SlackMessage:
    if not incidents:
        text = "No incident is open."
        return to_slack_message(text, [Section(text)])
    lines = [
        f"{SEVERITY_EMOJI[i.severity]} *{i.ref}* {i.severity.value} · {escape(i.title)} · {mention(i.commander)} · "
        f"since {format_timestamp(i.started_at, tz)} · pipeline `{escape(i.pipeline)}`"
        for i in incidents
    ]
    return to_slack_message(
        f"{len(incidents)} open incidents",
        [Header(f"Open incidents ({len(incidents)})"), Section(fit_lines(lines, SECTION_TEXT_MAX))],
    )


def render_step_refused(reason: str) -> SlackMessage:
    return to_slack_message(escape(reason), [Section(f":warning: {escape(reason)}")])
