"""Scheduled posts in `report_runs`: one row per (kind, scheduled time), so each is posted once.

A claim is a lease, not a tombstone: its owner holds it until `expires_at`, renews it while it
builds, and ends it by setting `outcome` (or by handing the built post to the outbox). A replica
that dies in between leaves an unfinished claim that expires, and the next leader takes it over
and posts; one that is merely slow finds, when it tries to finish, that it no longer owns it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import OutboxPost, ReportRun, utcnow

# Long enough for a report's checks to run; the owner renews it while building anyway.
DEFAULT_CLAIM_TTL = timedelta(minutes=2)
QUEUED = "queued"  # the outcome of a claim whose post went to the outbox


def run_key(kind: str, scheduled_for: datetime) -> str:
    return f"{kind}@{scheduled_for.astimezone(UTC).isoformat()}"


class ReportRunRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claim(
        self,
        kind: str,
        scheduled_for: datetime,
        claimed_by: str,
        ttl: timedelta = DEFAULT_CLAIM_TTL,
        now: datetime | None = None,
    ) -> bool:
        """True for exactly one caller per (kind, scheduled time) at a time: the first to ask, or the
        first to ask after an unfinished claim expired (its owner died between claim and post)."""
        now = now or utcnow()
        key = run_key(kind, scheduled_for)
        run = ReportRun(
            key=key, kind=kind, scheduled_for=scheduled_for, claimed_at=now, claimed_by=claimed_by, expires_at=now + ttl
        )
        try:
            with self._sessions.begin() as session:
                session.add(run)
            return True
        except IntegrityError:
            pass
        # One UPDATE decides a takeover race: the row lock lets exactly one replica match.
        takeover = (
            update(ReportRun)
            .where(
                ReportRun.key == key,
                ReportRun.outcome.is_(None),
                # A claim from before claims expired has no expiry: it counts as lasting one ttl.
                (ReportRun.expires_at <= now) | (ReportRun.expires_at.is_(None) & (ReportRun.claimed_at <= now - ttl)),
            )
            .values(claimed_by=claimed_by, claimed_at=now, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return bool(session.execute(takeover).rowcount == 1)  # type: ignore[attr-defined]

    def renew(
        self,
        kind: str,
        scheduled_for: datetime,
        claimed_by: str,
        ttl: timedelta = DEFAULT_CLAIM_TTL,
        now: datetime | None = None,
    ) -> bool:
        """Extend a live claim; False when it is no longer `claimed_by`'s (taken over, or finished)."""
        now = now or utcnow()
        statement = (
            update(ReportRun)
            .where(
                ReportRun.key == run_key(kind, scheduled_for),
                ReportRun.claimed_by == claimed_by,
                ReportRun.outcome.is_(None),
            )
            .values(expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]

    def finish(self, kind: str, scheduled_for: datetime, outcome: str, claimed_by: str | None = None) -> bool:
        """Record the outcome; with `claimed_by`, only while that replica still owns the unfinished claim."""
        statement = update(ReportRun).where(ReportRun.key == run_key(kind, scheduled_for))
        if claimed_by is not None:
            statement = statement.where(ReportRun.claimed_by == claimed_by, ReportRun.outcome.is_(None))
        with self._sessions.begin() as session:
            result = session.execute(statement.values(outcome=outcome).execution_options(synchronize_session=False))
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def queue_post(
        self,
        kind: str,
        scheduled_for: datetime,
        claimed_by: str,
        *,
        channel: str,
        payload: dict[str, Any],
        give_up_at: datetime,
        now: datetime | None = None,
    ) -> bool:
        """End the claim by handing its built post to the outbox, in one transaction; False (and
        nothing queued) when the claim is no longer `claimed_by`'s: a stale builder cannot post."""
        now = now or utcnow()
        key = run_key(kind, scheduled_for)
        end_claim = (
            update(ReportRun)
            .where(ReportRun.key == key, ReportRun.claimed_by == claimed_by, ReportRun.outcome.is_(None))
            .values(outcome=QUEUED)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            if session.execute(end_claim).rowcount != 1:  # type: ignore[attr-defined]
                return False
            session.add(
                OutboxPost(
                    key=key,
                    kind=kind,
                    scheduled_for=scheduled_for,
                    channel=channel,
                    payload=payload,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    give_up_at=give_up_at,
                    created_at=now,
                )
            )
        return True

    def get(self, kind: str, scheduled_for: datetime) -> ReportRun | None:
        with self._sessions.begin() as session:
            return session.get(ReportRun, run_key(kind, scheduled_for))

    def latest_by_kind(self) -> dict[str, ReportRun]:
        """Each kind's most recently scheduled run (claimed, with its outcome once finished)."""
        latest = (
            select(ReportRun.kind, func.max(ReportRun.scheduled_for).label("scheduled_for"))
            .group_by(ReportRun.kind)
            .subquery()
        )
        query = select(ReportRun).join(
            latest, (ReportRun.kind == latest.c.kind) & (ReportRun.scheduled_for == latest.c.scheduled_for)
        )
        with self._sessions.begin() as session:
            return {run.kind: run for run in session.scalars(query)}
