"""The outbox of scheduled posts (`report_outbox`): built posts kept until Slack has them or their grace ends.

Delivery is leased like a claim: `take` hands a due post to one replica at a time (compare-and-set
on its state, lease and due time), and only that owner can mark it sent, put it back for later, or
give it up. Each end also records the report run's outcome, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import OutboxPost, ReportRun, utcnow

PENDING, SENT, GIVEN_UP = "pending", "sent", "given_up"
# What `last_error` says while a try is under way; still there at the next take, it means the try's
# end was never seen (its replica died mid-post) and Slack may have the post already.
IN_FLIGHT = "in flight"
# The prefix of an error after which Slack may have the post (a timeout, a 5xx after sending).
UNKNOWN = "unknown"


class OutboxRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, key: str) -> OutboxPost | None:
        with self._sessions.begin() as session:
            return session.get(OutboxPost, key)

    def due(self, now: datetime | None = None, limit: int = 20) -> list[str]:
        """Keys of pending posts whose next try is due and which nobody is delivering now; oldest first."""
        now = now or utcnow()
        query = (
            select(OutboxPost.key)
            .where(
                OutboxPost.state == PENDING,
                OutboxPost.next_attempt_at <= now,
                OutboxPost.lease_expires_at.is_(None) | (OutboxPost.lease_expires_at <= now),
            )
            .order_by(OutboxPost.next_attempt_at)
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return list(session.scalars(query))

    def pending(self) -> list[OutboxPost]:
        with self._sessions.begin() as session:
            return list(session.scalars(select(OutboxPost).where(OutboxPost.state == PENDING)))

    def take(self, key: str, owner: str, ttl: timedelta, now: datetime | None = None) -> OutboxPost | None:
        """Hold a due post for one try; the row as it was before this try (its `last_error` says whether
        an earlier try may have reached Slack), or None when it is not due or someone else holds it."""
        now = now or utcnow()
        with self._sessions.begin() as session:
            before = session.get(OutboxPost, key)
            if before is None:
                return None
            session.expunge(before)
            statement = (
                update(OutboxPost)
                .where(
                    OutboxPost.key == key,
                    OutboxPost.state == PENDING,
                    OutboxPost.next_attempt_at <= now,
                    OutboxPost.lease_expires_at.is_(None) | (OutboxPost.lease_expires_at <= now),
                    OutboxPost.attempts == before.attempts,  # nobody took it since we read it
                )
                .values(
                    owner=owner,
                    lease_expires_at=now + ttl,
                    attempts=OutboxPost.attempts + 1,
                    last_error=f"{IN_FLIGHT} since {now.isoformat()} on {owner}",
                )
                .execution_options(synchronize_session=False)
            )
            if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
                return None
        return before

    def mark_sent(self, key: str, owner: str, ts: str | None, now: datetime | None = None) -> bool:
        return self._end(key, owner, SENT, ts=ts, error=None, outcome="posted", now=now)

    def give_up(self, key: str, owner: str, error: str, now: datetime | None = None) -> bool:
        return self._end(key, owner, GIVEN_UP, ts=None, error=error, outcome=f"given up: {error}", now=now)

    def retry_later(self, key: str, owner: str, error: str, at: datetime) -> bool:
        """Put the post back, due again at `at`, with why this try failed."""
        statement = (
            update(OutboxPost)
            .where(OutboxPost.key == key, OutboxPost.owner == owner, OutboxPost.state == PENDING)
            .values(next_attempt_at=at, last_error=error, owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]

    def _end(
        self, key: str, owner: str, state: str, *, ts: str | None, error: str | None, outcome: str, now: datetime | None
    ) -> bool:
        now = now or utcnow()
        statement = (
            update(OutboxPost)
            .where(OutboxPost.key == key, OutboxPost.owner == owner, OutboxPost.state == PENDING)
            .values(state=state, ts=ts, last_error=error, finished_at=now, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
                return False
            # The run's outcome shows in `/cdc schedule`; it said "queued" until now.
            session.execute(
                update(ReportRun)
                .where(ReportRun.key == key)
                .values(outcome=outcome)
                .execution_options(synchronize_session=False)
            )
        return True
