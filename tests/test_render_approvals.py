"""The approval message in each of its states, decision notices, the action list and the audit log.

Regenerate the goldens after an intended change: `UPDATE_GOLDEN=1 python -m pytest tests/test_render_approvals.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.actions import ACTIONS
from bot.actions.service import ApprovalRecord, ApprovalState, Decision, Outcome
from bot.render.approvals import decision_notice, render_action_list, render_approval, render_audit
from bot.render.slack import SlackMessage
from tests.test_render import assert_golden, assert_within_limits

TZ = "Asia/Singapore"
AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 SGT

PENDING = ApprovalRecord(
    id="k3J9xQ2vTnW8mZr4LpYs5bDe",
    pipeline="prod",
    action="scale-streams",
    args={"argv": ["5"], "replicas": 5},
    preview={
        "title": "Scale the Kafka Streams deployment",
        "risk": "Scaling to 0 stops PII masking: nothing reaches Redshift until it is scaled up again.",
        "lines": ["Deployment kafka/pii-masking: 3 → 5 replicas", "Ready now: 3"],
        "fingerprint": {"replicas": 3},
        "plan": {},
    },
    requester="U0OPERATOR",
    state=ApprovalState.PENDING,
    channel="C0OPS",
    created_at=AT,
    expires_at=AT + timedelta(minutes=15),
    message_ts="1795700000.000100",
)
APPROVED_AT = AT + timedelta(minutes=2)


def in_state(state: ApprovalState, **changes: Any) -> ApprovalRecord:
    decided = {"decided_by": "U0APPROVER", "decided_at": APPROVED_AT}
    started = {**decided, "started_at": APPROVED_AT + timedelta(seconds=1)}
    finished = {**started, "finished_at": APPROVED_AT + timedelta(seconds=43)}
    base: dict[ApprovalState, dict[str, Any]] = {
        ApprovalState.PENDING: {},
        ApprovalState.APPROVED: decided,
        ApprovalState.RUNNING: started,
        ApprovalState.SUCCEEDED: {
            **finished,
            "result": {
                "summary": "Deployment kafka/pii-masking scaled from 3 to 5 replicas",
                "before": ["Replicas: 3"],
                "after": ["Replicas: 5 (5/5 ready, 5 pods)"],
                "details": {"replicas_before": 3, "replicas_after": 5},
                "duration_ms": 42_100,
            },
        },
        ApprovalState.FAILED: {
            **finished,
            "error": "timed out after 300s waiting for scaling",
            "result": {"state_now": ["3/5 ready, 5 pods"], "details": {}, "duration_ms": 300_000},
        },
        ApprovalState.DENIED: decided | {"decided_by": "U0LEAD"},
        ApprovalState.EXPIRED: {"finished_at": AT + timedelta(minutes=20)},
        ApprovalState.DRIFTED: {
            **decided,
            "finished_at": APPROVED_AT,
            "error": "the pipeline changed since the preview; nothing was run",
            "result": {
                "changes": ["replicas: 3 → 4"],
                "state_now": ["Deployment kafka/pii-masking: 4 → 5 replicas", "Ready now: 4"],
            },
        },
    }
    return PENDING.model_copy(update={"state": state, **base[state], **changes})


def actions_blocks(message: SlackMessage) -> list[dict[str, Any]]:
    return [b for b in message.blocks if b["type"] == "actions"]


def everything(message: SlackMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def test_pending_request_golden_and_buttons_carry_only_the_id() -> None:
    message = render_approval(PENDING, TZ)
    assert_within_limits(message)
    assert_golden("approval_pending", message)
    [block] = actions_blocks(message)
    buttons = block["elements"]
    assert [b["action_id"] for b in buttons] == ["approval_approve", "approval_deny"]
    assert [b["value"] for b in buttons] == [PENDING.id, PENDING.id]
    assert buttons[0]["confirm"]["confirm"]["text"] == "Approve and run"
    text = everything(message)
    for expected in (
        "<@U0OPERATOR> asks",
        "`/cdc action scale-streams 5 prod`",
        "3 → 5 replicas",
        "*Risk:*",
        "expires 09:15 SGT",
        "needs an approver other than <@U0OPERATOR>",
    ):
        assert expected in text
    assert "asked by <@U0OPERATOR>" in message.text


@pytest.mark.parametrize(
    ("state", "header", "expected"),
    [
        (ApprovalState.APPROVED, ":gear: Approved", ["Approved by <@U0APPROVER> at 09:02 SGT", "Starting…"]),
        (ApprovalState.RUNNING, ":gear: Running", ["Running since 09:02 SGT", "scaling: 4/5 ready"]),
        (ApprovalState.SUCCEEDED, ":white_check_mark: Done", ["*Before*", "Replicas: 5 (5/5 ready", "took 42.1 s"]),
        (ApprovalState.FAILED, ":x: Failed", ["*Failed:* timed out after 300s", "*State now*", "3/5 ready"]),
        (ApprovalState.DENIED, ":no_entry: Denied", ["Denied by <@U0LEAD> at 09:02 SGT. Nothing was run."]),
        (ApprovalState.EXPIRED, ":hourglass: Expired", ["Expired at 09:15 SGT", "`/cdc action scale-streams 5 prod`"]),
        (ApprovalState.DRIFTED, ":warning: Not run", ["replicas: 3 → 4", "request again", "Ready now: 4"]),
    ],
)
def test_every_later_state_replaces_the_buttons_with_what_happened(
    state: ApprovalState, header: str, expected: list[str]
) -> None:
    progress = "scaling: 4/5 ready, 5 pods" if state is ApprovalState.RUNNING else None
    message = render_approval(in_state(state), TZ, progress=progress)
    assert_within_limits(message)
    assert message.blocks[0]["text"]["text"].startswith(header)
    assert not actions_blocks(message)
    text = everything(message)
    for line in expected:
        assert line in text, line
    assert "3 → 5 replicas" in text  # the preview stays, so the message reads as a record


def test_final_state_goldens() -> None:
    assert_golden("approval_succeeded", render_approval(in_state(ApprovalState.SUCCEEDED), TZ))
    assert_golden("approval_drifted", render_approval(in_state(ApprovalState.DRIFTED), TZ))


def test_withdrawn_by_the_requester_says_so() -> None:
    message = render_approval(in_state(ApprovalState.DENIED, decided_by="U0OPERATOR"), TZ)
    assert "Withdrawn by the requester" in everything(message)


def test_huge_previews_and_hostile_text_stay_within_limits_and_are_escaped() -> None:
    lines = [f"pod-{i:04d} <!channel> & friends" for i in range(2000)]
    record = in_state(
        ApprovalState.FAILED,
        preview={**PENDING.preview, "lines": lines},
        error="boom <!here> " + "x" * 5000,
        result={"state_now": lines, "details": {}, "duration_ms": 1},
    )
    message = render_approval(record, TZ)
    assert_within_limits(message)
    text = everything(message)
    assert "<!channel>" not in text and "<!here>" not in text and "&lt;!channel&gt;" in text
    assert "more" in text


def test_decision_notices() -> None:
    assert "unknown" in (decision_notice(Decision(Outcome.UNKNOWN)) or "")
    assert "Only approvers" in (decision_notice(Decision(Outcome.NOT_ALLOWED, PENDING)) or "")
    assert "someone else" in (decision_notice(Decision(Outcome.OWN_REQUEST, PENDING)) or "")
    expired = decision_notice(Decision(Outcome.EXPIRED, in_state(ApprovalState.EXPIRED)), TZ) or ""
    assert "expired at 09:15 SGT" in expired and "/cdc action scale-streams 5 prod" in expired
    already = decision_notice(Decision(Outcome.ALREADY_DECIDED, in_state(ApprovalState.RUNNING))) or ""
    assert "already running (approved by <@U0APPROVER>)" in already
    assert decision_notice(Decision(Outcome.APPROVED, in_state(ApprovalState.APPROVED))) is None


def test_action_list_has_one_line_per_action() -> None:
    message = render_action_list([(a.usage, a.summary) for a in ACTIONS.values()])
    assert_within_limits(message)
    text = everything(message)
    assert all(f"/cdc action {a.usage} [pipeline]" in text for a in ACTIONS.values())


@dataclass
class Entry:
    at: datetime
    actor: str
    event: str
    pipeline: str | None = None
    subject: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def test_audit_lines() -> None:
    entries = [
        Entry(
            AT,
            "cdc-bot",
            "action.succeeded",
            "prod",
            "scale-streams",
            {"approval": PENDING.id, "args": ["5"], "summary": "scaled from 3 to 5"},
        ),
        Entry(AT, "U0APPROVER", "action.approved", "prod", "scale-streams", {"approval": PENDING.id, "args": ["5"]}),
    ] * 30
    message = render_audit(entries, TZ)
    assert_within_limits(message)
    text = everything(message)
    assert "`2026-11-26 09:00 SGT` cdc-bot *action.succeeded* `scale-streams` on `prod`" in text
    assert "<@U0APPROVER> *action.approved*" in text and "approval k3J9xQ2v" in text
    assert render_audit([], TZ).text == "The audit log is empty."
