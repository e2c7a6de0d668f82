"""Leases in `leader_leases`: who leads the scheduler, who runs a workflow; taken and renewed atomically."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import LeaderLease, utcnow


class LeaseRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
        """Take or renew a lease; True while `holder` holds it (see `take`)."""
        return self.take(name, holder, ttl, now) is not None

    def take(self, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> int | None:
        """Take or renew a lease; its generation (fencing token) while `holder` holds it, else None.

        Atomic: one UPDATE, else one INSERT. The UPDATE matches only when the holder already has it
        or it has expired, so two replicas racing for an expired lease both run it and the row lock
        lets exactly one match; the INSERT of a lease nobody held yet is decided by the primary key.
        The generation goes up by one whenever the holder changes, so a holder that stalled past
        its lease can be told from the one that took over, in any write both might make.
        """
        now = now or utcnow()
        renew = (
            update(LeaderLease)
            .where(LeaderLease.name == name, (LeaderLease.holder == holder) | (LeaderLease.expires_at <= now))
            .values(
                holder=holder,
                renewed_at=now,
                expires_at=now + ttl,
                # A new holder starts its tenure now; the same holder keeps its first acquisition time.
                acquired_at=case((LeaderLease.holder == holder, LeaderLease.acquired_at), else_=now),
                generation=case(
                    (LeaderLease.holder == holder, LeaderLease.generation), else_=LeaderLease.generation + 1
                ),
            )
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            if session.execute(renew).rowcount == 1:  # type: ignore[attr-defined]
                # Read in the same transaction: the row is locked by our UPDATE until the commit.
                return session.scalar(select(LeaderLease.generation).where(LeaderLease.name == name))
        try:
            with self._sessions.begin() as session:
                session.add(
                    LeaderLease(
                        name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=now + ttl, generation=1
                    )
                )
            return 1
        except IntegrityError:
            return None

    def release(self, name: str, holder: str, now: datetime | None = None) -> None:
        """Give the lease up at once (shutdown), so another replica need not wait for it to expire."""
        statement = (
            update(LeaderLease)
            .where(LeaderLease.name == name, LeaderLease.holder == holder)
            .values(expires_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            session.execute(statement)

    def get(self, name: str) -> LeaderLease | None:
        with self._sessions.begin() as session:
            return session.get(LeaderLease, name)
