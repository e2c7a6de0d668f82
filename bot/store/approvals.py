"""Approval rows: store, read, and move between states by compare-and-set (see `bot.actions.service`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Approval


class ApprovalState(StrEnum):
    """The `approvals.state` column; the state machine over it is `bot.actions.service`."""

    PENDING = "pending"
    APPROVED = "approved"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DENIED = "denied"
    EXPIRED = "expired"
    DRIFTED = "drifted"


class ApprovalRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, approval: Approval) -> Approval:
        with self._sessions.begin() as session:
            session.add(approval)
        return approval

    def get(self, approval_id: str) -> Approval | None:
        with self._sessions.begin() as session:
            return session.get(Approval, approval_id)

    def transition(
        self,
        approval_id: str,
        from_states: Iterable[str],
        to_state: str,
        *,
        unexpired_at: datetime | None = None,
        expired_at: datetime | None = None,
        not_requester: str | None = None,
        **values: Any,
    ) -> bool:
        """Compare-and-set: move one approval from one of `from_states` to `to_state`.

        True for exactly one caller, whichever replica or thread asks first; the row lock the
        UPDATE takes makes the others re-read the state and match nothing. `unexpired_at` /
        `expired_at` add `expires_at > t` / `expires_at <= t`; `not_requester` excludes a user.
        """
        # str(): callers pass StrEnum members, which some drivers would bind by name.
        states = sorted(str(s) for s in from_states)
        statement = update(Approval).where(Approval.id == approval_id, Approval.state.in_(states))
        if unexpired_at is not None:
            statement = statement.where(Approval.expires_at > unexpired_at)
        if expired_at is not None:
            statement = statement.where(Approval.expires_at <= expired_at)
        if not_requester is not None:
            statement = statement.where(Approval.requester != not_requester)
        statement = statement.values(state=str(to_state), **values).execution_options(synchronize_session=False)
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    def set_fields(self, approval_id: str, **values: Any) -> None:
        """Fields that are not state (the message ts once posted); never used to change `state`."""
        assert "state" not in values
        statement = (
            update(Approval)
            .where(Approval.id == approval_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            session.execute(statement)

    def abandoned(self, approved_before: datetime, running_before: datetime, limit: int = 100) -> list[Approval]:
        """Approved but never started, or running far past any action's deadline: their bot stopped."""
        query = (
            select(Approval)
            .where(
                ((Approval.state == ApprovalState.APPROVED.value) & (Approval.decided_at < approved_before))
                | ((Approval.state == ApprovalState.RUNNING.value) & (Approval.started_at < running_before))
            )
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return list(session.scalars(query))

    def expired_pending(self, now: datetime, limit: int = 100) -> list[Approval]:
        query = (
            select(Approval)
            .where(Approval.state == ApprovalState.PENDING.value, Approval.expires_at <= now)
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return list(session.scalars(query))

    def in_thread(self, channel: str, thread_ts: str) -> list[Approval]:
        """Requests posted in one Slack thread (an incident's), oldest first."""
        query = (
            select(Approval)
            .where(Approval.channel == channel, Approval.thread_ts == thread_ts)
            .order_by(Approval.created_at)
        )
        with self._sessions.begin() as session:
            return list(session.scalars(query))

    def running(self, actions: Iterable[str]) -> list[tuple[str, datetime | None]]:
        """(id, started_at) of `running` approvals of these actions: a workflow run, or one whose bot stopped."""
        query = select(Approval.id, Approval.started_at).where(
            Approval.state == ApprovalState.RUNNING.value, Approval.action.in_(list(actions))
        )
        with self._sessions.begin() as session:
            return [(row.id, row.started_at) for row in session.execute(query)]
