"""Approval requests (every state), decision notices, the action list and the audit log, as messages.

Pure: records in, a `Message` (rendered as a `SlackMessage`) out. The Approve / Deny buttons carry
only the approval id; what they approve lives in the state store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.actions.service import ApprovalRecord, ApprovalState, Decision, Outcome
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
from bot.render.message import Actions, Bullets, Button, Confirm, Context, Divider, Header, Part, Section, escape
from bot.render.replies import chunks

APPROVE_ACTION_ID = "approval_approve"
DENY_ACTION_ID = "approval_deny"
ACTIONS_BLOCK_ID = "approval_buttons"

_HEADERS = {
    ApprovalState.PENDING: ":raised_hand: Approval needed",
    ApprovalState.APPROVED: ":gear: Approved",
    ApprovalState.RUNNING: ":gear: Running",
    ApprovalState.SUCCEEDED: ":white_check_mark: Done",
    ApprovalState.FAILED: ":x: Failed",
    ApprovalState.DENIED: ":no_entry: Denied",
    ApprovalState.EXPIRED: ":hourglass: Expired",
    ApprovalState.DRIFTED: ":warning: Not run, the pipeline changed",
}


def _bullets(lines: Sequence[str], limit: int = SECTION_TEXT_MAX, noun: str = "") -> str:
    return fit_lines([f"• {escape(str(line))}" for line in lines], limit, noun=noun) if lines else "• (nothing)"


def _titled(title: str, lines: Sequence[str]) -> Bullets:
    return Bullets([escape(str(line)) for line in lines], title=title, empty="• (nothing)")


def _state_parts(a: ApprovalRecord, tz: str, progress: str | None) -> list[Part]:
    result = a.result or {}
    decided = format_clock(a.decided_at, tz) if a.decided_at else "?"
    if a.state in (ApprovalState.APPROVED, ApprovalState.RUNNING):
        text = f":gear: Approved by {mention(a.decided_by)} at {decided}."
        if a.started_at:
            text += f" Running since {format_clock(a.started_at, tz)}."
        text += f"\n{escape(clip(progress or 'Starting…', LINE_MAX))}"
        return [Section(text)]
    if a.state is ApprovalState.SUCCEEDED:
        lead = f":white_check_mark: *{escape(str(result.get('summary', 'Done')))}*"
        parts: list[Part] = [Section(lead)]
        parts.append(_titled("Before", result.get("before") or []))
        parts.append(_titled("After", result.get("after") or []))
        return parts
    if a.state is ApprovalState.FAILED:
        lead = f":x: *Failed:* {escape(clip(a.error or 'unknown error', LINE_MAX))}"
        return [Section(lead), (_titled("State now", result.get("state_now") or []))]
    if a.state is ApprovalState.DENIED:
        who = "Withdrawn by the requester" if a.decided_by == a.requester else f"Denied by {mention(a.decided_by)}"
        return [Section(f":no_entry: {who} at {decided}. Nothing was run.")]
    if a.state is ApprovalState.EXPIRED:
        return [
            Section(
                f":hourglass: Expired at {format_clock(a.expires_at, tz)}: nobody approved it in time. "
                f"Nothing was run. To ask again: `{escape(a.command)}`"
            )
        ]
    if a.state is ApprovalState.DRIFTED:
        head = ":warning: *Not run:* the pipeline changed between the preview and the approval:"
        tail = f"Nothing was run. Look at the new state and request again: `{escape(a.command)}`"
        changes = _bullets(result.get("changes") or [], SECTION_TEXT_MAX - len(head) - len(tail) - 2)
        parts = [Section(f"{head}\n{changes}\n{tail}")]
        if result.get("state_now"):
            parts.append(_titled("State now", result["state_now"]))
        return parts
    return []


def _footer(a: ApprovalRecord, tz: str) -> str:
    parts = [f"Requested {format_timestamp(a.created_at, tz)}"]
    if a.state is ApprovalState.PENDING:
        parts.append(f"expires {format_clock(a.expires_at, tz)}")
        parts.append(f"needs an approver other than {mention(a.requester)}")
    if a.decided_by and a.state not in (ApprovalState.DENIED, ApprovalState.PENDING):
        parts.append(f"approved by {mention(a.decided_by)}")
    if a.finished_at:
        parts.append(f"finished {format_clock(a.finished_at, tz)}")
    duration = (a.result or {}).get("duration_ms")
    if isinstance(duration, int):
        parts.append(f"took {format_elapsed_ms(duration)}")
    parts.append(f"approval `{escape(a.id[:8])}`")
    return " · ".join(parts)


def _buttons(a: ApprovalRecord) -> Actions:
    confirm = Confirm(
        title="Run this action?",
        text=f"{a.action} on {a.pipeline} runs as soon as you confirm.",
        confirm="Approve and run",
        deny="Cancel",
    )
    return Actions(
        [
            Button("Approve", APPROVE_ACTION_ID, a.id, style="primary", confirm=confirm),
            Button("Deny", DENY_ACTION_ID, a.id, style="danger"),
        ],
        block_id=ACTIONS_BLOCK_ID,
    )


def render_approval(a: ApprovalRecord, tz: str = "UTC", progress: str | None = None) -> SlackMessage:
    """The approval message in any state; only a pending one has buttons."""
    heading = _HEADERS.get(a.state, a.state.value)
    parts: list[Part] = [Header(f"{heading}: {a.action} on {a.pipeline}")]
    parts.append(
        Section(
            f"{mention(a.requester)} asks to *{escape(a.title)}* on pipeline `{escape(a.pipeline)}`\n"
            f"`{escape(a.command)}`"
        )
    )
    parts.append(_titled("Preview", a.lines))
    if a.risk:
        parts.append(Section(f":warning: *Risk:* {escape(a.risk)}"))
    state_parts = _state_parts(a, tz, progress)
    if state_parts:
        parts.append(Divider())
        parts += state_parts
    parts.append(Context.of(_footer(a, tz)))
    if a.state is ApprovalState.PENDING:
        parts.append(_buttons(a))
    fallback = f"{heading}: {a.action} on {a.pipeline}, asked by {mention(a.requester)}"
    return to_slack_message(fallback, parts)


def decision_notice(decision: Decision, tz: str = "UTC") -> str | None:
    """What the person who pressed a button is told privately; None when the message itself says it."""
    a = decision.approval
    if decision.outcome is Outcome.UNKNOWN:
        return (
            "This approval request is unknown: the button does not belong to a request of this bot "
            "(or was altered). Nothing was run."
        )
    if decision.outcome is Outcome.NOT_ALLOWED:
        return (
            "Only approvers (`access.approvers` in the bot's config) can approve or deny a runbook action. "
            "Nothing changed."
        )
    if decision.outcome is Outcome.OWN_REQUEST:
        return "You asked for this action, so someone else has to approve it (four eyes). Nothing changed."
    if decision.outcome is Outcome.EXPIRED and a is not None:
        return (
            f"This request expired at {format_clock(a.expires_at, tz)}; nothing was run. "
            f"Ask again with `{escape(a.command)}`."
        )
    if decision.outcome is Outcome.ALREADY_DECIDED and a is not None:
        by = ""
        if a.decided_by:
            by = (
                f" by {mention(a.decided_by)}"
                if a.state is ApprovalState.DENIED
                else f" (approved by {mention(a.decided_by)})"
            )
        return f"This request is already {a.state.value}{by}; your press changed nothing."
    return None


def render_action_list(actions: Sequence[tuple[str, str]], intro: str | None = None) -> SlackMessage:
    """`/cdc action` without a name: every action with its one-line description."""
    lines = [f"`/cdc action {escape(usage)} [pipeline]` — {escape(summary)}" for usage, summary in actions]
    parts: list[Part] = [Section(f":warning: {escape(intro)}")] if intro else []
    parts.append(
        Section(
            "*Runbook actions* — each posts an approval request here; it runs only when an approver "
            "other than you presses Approve."
        )
    )
    parts += [Section(chunk) for chunk in chunks(lines)]
    return to_slack_message("Runbook actions: " + ", ".join(usage for usage, _ in actions), parts)


class AuditLine(Protocol):
    at: datetime
    actor: str
    event: str
    pipeline: str | None
    subject: str | None
    details: dict[str, Any]


def _audit_extra(details: dict[str, Any]) -> str:
    parts = []
    if details.get("args"):
        parts.append("args " + " ".join(str(a) for a in details["args"]))
    for key in ("reason", "summary", "error"):
        if details.get(key):
            parts.append(f"{key}: {first_line(str(details[key]))}")
    if details.get("changes"):
        parts.append("changed: " + "; ".join(str(c) for c in details["changes"][:3]))
    if details.get("approval"):
        parts.append(f"approval {str(details['approval'])[:8]}")
    return " · ".join(parts)


def first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return clip(line, limit)


def render_audit(entries: Sequence[AuditLine], tz: str = "UTC") -> SlackMessage:
    """`/cdc audit [N]`: the latest entries, newest first, one line each."""
    if not entries:
        return to_slack_message("The audit log is empty.", [Section("The audit log is empty.")])
    lines = []
    for e in entries:
        where = f" `{escape(e.subject)}`" if e.subject else ""
        where += f" on `{escape(e.pipeline)}`" if e.pipeline else ""
        extra = _audit_extra(e.details or {})
        line = f"`{format_timestamp(e.at, tz)}` {mention(e.actor)} *{escape(e.event)}*{where}"
        lines.append(line + (f" — {escape(extra)}" if extra else ""))
    parts: list[Part] = [Header(f"Audit log: latest {len(entries)}")]
    parts += [Section(chunk) for chunk in chunks(lines)]
    return to_slack_message(f"Audit log: latest {len(entries)} entries", parts)
