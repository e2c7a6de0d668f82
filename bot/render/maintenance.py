"""Messages for workflow threads (steps, notes), `/cdc maintenance status` and `/cdc upgrade msk-versions`.

Pure: records in, a `Message` (rendered as a `SlackMessage`) out.
Buttons carry only the workflow id; what they do is decided
server-side from the stored workflow.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.actions.maintenance import MaintenanceStatus
from bot.actions.upgrades import MskVersions
from bot.actions.workflows import StepView, WorkflowNote
from bot.render.blockkit import SlackMessage, to_slack_message
from bot.render.format import (
    LINE_MAX,
    SECTION_TEXT_MAX,
    clip,
    fit_lines,
    format_clock,
    format_elapsed_ms,
    format_timestamp,
    mention,
)
from bot.render.message import Actions, Button, Confirm, Context, Header, Part, Section, escape

ABORT_ACTION_ID = "workflow_abort"
RESUME_PIPELINE_ACTION_ID = "maintenance_resume_pipeline"

STEP_EMOJI = {
    "pending": ":white_circle:",
    "running": ":hourglass_flowing_sand:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "aborted": ":octagonal_sign:",
    "interrupted": ":double_vertical_bar:",
}
NOTE_EMOJI = {
    "resumed": ":arrows_counterclockwise:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "aborted": ":octagonal_sign:",
}


def _bullets(lines: Sequence[str], limit: int = SECTION_TEXT_MAX) -> str:
    return fit_lines([f"• {escape(line)}" for line in lines], limit) if lines else ""


def _step_line(step: StepView) -> str:
    return f"{STEP_EMOJI.get(step.state, ':grey_question:')} *{step.index}/{step.total} · {escape(step.title)}*"


def render_workflow_step(step: StepView, tz: str = "UTC") -> SlackMessage:
    """One step's thread message, in any state; a running abortable step has an Abort button."""
    head = f"{_step_line(step)}  _{escape(step.workflow_title)}_"
    body = escape(clip(step.text, LINE_MAX * 2)) if step.text else ""
    parts: list[Part] = [Section(f"{head}\n{body}" if body else head)]
    footer = []
    if step.started_at:
        footer.append(f"started {format_clock(step.started_at, tz)}")
    if step.finished_at:
        footer.append(f"finished {format_clock(step.finished_at, tz)}")
        if step.started_at:
            footer.append(f"took {format_elapsed_ms(int((step.finished_at - step.started_at).total_seconds() * 1000))}")
    if step.state == "running" and step.abort_requested_by:
        footer.append(f"abort requested by {mention(step.abort_requested_by)}")
    if footer:
        parts.append(Context.of(" · ".join(footer)))
    if step.state == "running" and step.abortable and not step.abort_requested_by:
        confirm = Confirm(
            title="Abort this workflow?",
            text="It stops at its next check and says what state things are in. Nothing is undone by itself.",
            confirm="Abort",
            deny="Keep going",
        )
        parts.append(
            Actions(
                [Button("Abort", ABORT_ACTION_ID, step.workflow_id, style="danger", confirm=confirm)],
                block_id="workflow_step_buttons",
            )
        )
    fallback = f"{step.workflow_title}: step {step.index}/{step.total} {step.title}: {step.state}"
    return to_slack_message(fallback, parts)


def render_workflow_note(workflow_id: str, note: WorkflowNote) -> SlackMessage:
    """A thread message about the whole workflow; a stopped one says what state things are in."""
    parts: list[Part] = [Section(f"{NOTE_EMOJI.get(note.kind, ':information_source:')} {escape(note.text)}")]
    if note.lines:
        title = "*State now*" if note.kind in ("failed", "aborted") else ""
        bullets = _bullets(note.lines, SECTION_TEXT_MAX - len(title) - 1)
        parts.append(Section(f"{title}\n{bullets}" if title else bullets))
    if note.recovery:
        parts.append(
            Actions(
                [Button(note.recovery, RESUME_PIPELINE_ACTION_ID, workflow_id, style="primary")],
                block_id="workflow_recovery",
            )
        )
        parts.append(Context.of("The button asks for `/cdc maintenance end` here: it runs after an approval."))
    return to_slack_message(note.text, parts)


def render_maintenance_status(status: MaintenanceStatus, tz: str = "UTC") -> SlackMessage:
    window = status.window
    if status.running is not None:
        heading = f":construction: {status.running_title} running on {status.pipeline}"
    elif window is not None and window.enabled:
        heading = f":construction: Maintenance window open on {status.pipeline}"
    else:
        heading = f":white_check_mark: No maintenance window on {status.pipeline}"
    parts: list[Part] = [Header(heading)]
    if status.running is not None:
        wf = status.running
        lines = [f"Requested by {mention(wf.requested_by)} at {format_timestamp(wf.created_at, tz)}"]
        for step in status.steps:
            line = _step_line(step)
            if step.text and step.state != "pending":
                line += f" — {escape(clip(step.text.splitlines()[0], 300))}"
            lines.append(line)
        if wf.abort_requested_by:
            lines.append(f":octagonal_sign: abort requested by {mention(wf.abort_requested_by)}")
        parts.append(Section(fit_lines(lines, SECTION_TEXT_MAX)))
    if window is not None and window.enabled:
        text = f"*{escape(window.describe(status.generated_at))}*"
        if window.overdue(status.generated_at):
            text = f":warning: {text}\nEnd it with `/cdc maintenance end {escape(status.pipeline)}`."
        parts.append(Section(text))
    if status.error:
        parts.append(Section(f":warning: {escape(status.error)}"))
    parts.append(Section(f"*Now*\n{_bullets(status.state_lines)}"))
    if status.last is not None:
        last = status.last
        when = format_timestamp(last.finished_at or last.updated_at, tz)
        text = f"Last: {escape(status.last_title)} {last.status.value} at {when}"
        if last.error:
            text += f" — {escape(clip(last.error, 300))}"
        parts.append(Context.of(text))
    return to_slack_message(heading, parts)


def render_msk_versions(result: MskVersions) -> SlackMessage:
    heading = f"MSK Kafka versions for {result.pipeline}"
    parts: list[Part] = [Header(heading)]
    current = f"`{escape(result.current)}`" if result.current else "unknown"
    cluster = f" ({escape(result.cluster)})" if result.cluster else ""
    clients = ", ".join(f"{escape(name)} `{escape(v)}`" for name, v in result.clients) or "none known"
    parts.append(Section(f"Cluster{cluster} runs Kafka {current}.\nClients: {clients}"))
    if result.unavailable:
        parts.append(
            Section(
                ":warning: MSK's `ListKafkaVersions` API is unavailable here, so the versions MSK offers are "
                f"unknown: {escape(result.unavailable)}\nThe cluster's current version above comes from "
                "`DescribeCluster`. List the offered versions with `aws kafka list-kafka-versions` "
                "or in the MSK console."
            )
        )
    elif not result.candidates:
        parts.append(Section("MSK offers no ACTIVE version newer than the cluster's."))
    else:
        lines = [
            f"{':white_check_mark:' if o.supported else ':no_entry:'} `{escape(o.version)}` {escape(o.status)} — "
            f"{escape(o.note)}"
            for o in result.candidates
        ]
        parts.append(Section("*Upgrade candidates*\n" + fit_lines(lines, SECTION_TEXT_MAX - 30, noun="versions")))
        if result.skipped:
            parts.append(Context.of(f"{result.skipped} offered versions not shown: deprecated, or not newer."))
    if result.problems:
        parts.append(Section(_bullets(result.problems)))
    parts.append(
        Context.of(
            "Upgrading is the runbook's Terraform change (`msk_kafka_version`), then a rolling restart of clients."
        )
    )
    fallback = f"{heading}: now {result.current or 'unknown'}" + (
        "; ListKafkaVersions unavailable" if result.unavailable else f"; {len(result.candidates)} candidates"
    )
    return to_slack_message(fallback, parts)
