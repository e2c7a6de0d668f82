"""The approval as features and renderers see it (an immutable record of its row), and the small helpers
every step of the approval flow shares: load it, audit it, show it.

Requests are made in `bot.actions.requests`; decisions and runs in `bot.actions.service`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from bot.actions import ACTIONS
from bot.services import Services
from bot.store.approvals import ApprovalState

log = logging.getLogger(__name__)

BOT_ACTOR = "cdc-bot"

FINAL_STATES = frozenset(
    {ApprovalState.SUCCEEDED, ApprovalState.FAILED, ApprovalState.DENIED, ApprovalState.EXPIRED, ApprovalState.DRIFTED}
)


class ApprovalRecord(BaseModel):
    """One approval as the renderers and callers see it: an immutable snapshot of the stored row."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    pipeline: str
    action: str
    args: dict[str, Any]
    preview: dict[str, Any]
    requester: str
    state: ApprovalState
    channel: str
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def title(self) -> str:
        return str(self.preview.get("title") or self.action)

    @property
    def risk(self) -> str:
        return str(self.preview.get("risk") or "")

    @property
    def lines(self) -> list[str]:
        return [str(line) for line in self.preview.get("lines") or []]

    @property
    def argv(self) -> list[str]:
        return [str(word) for word in self.args.get("argv") or []]

    @property
    def command(self) -> str:
        """The slash command that asks for the same thing again."""
        spec = ACTIONS.get(self.action)
        prefix = spec.command if spec is not None and spec.command else f"/cdc action {self.action}"
        return " ".join([prefix, *self.argv, self.pipeline])

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


class ApprovalPublisher(Protocol):
    """Where approval messages go (Slack in production); the domain only says what to show."""

    def post(self, approval: ApprovalRecord) -> tuple[str, str]:
        """Post the approval request; returns (channel id, message ts)."""
        ...

    def update(self, approval: ApprovalRecord, progress: str | None = None) -> None: ...


class Outcome(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    NOT_ALLOWED = "not_allowed"
    OWN_REQUEST = "own_request"
    ALREADY_DECIDED = "already_decided"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    approval: ApprovalRecord | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in (Outcome.APPROVED, Outcome.DENIED)


def load_approval(services: Services, approval_id: str) -> ApprovalRecord | None:
    row = services.store.approvals.get(approval_id)
    return ApprovalRecord.model_validate(row) if row is not None else None


def audit_approval(services: Services, actor: str, event: str, record: ApprovalRecord, **details: Any) -> None:
    # Arguments are the words typed plus parsed values; previews and results never carry secret values.
    services.store.audit_log.record(
        actor,
        event,
        pipeline=record.pipeline,
        subject=record.action,
        details={"approval": record.id, "args": record.argv, **details},
    )


def publish_quietly(publisher: ApprovalPublisher, record: ApprovalRecord, progress: str | None = None) -> None:
    # A Slack hiccup must not stop the state machine: the store is the truth, the message a view of it.
    try:
        publisher.update(record, progress)
    except Exception:
        log.exception("could not update the message of approval %s", record.id)
