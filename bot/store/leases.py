"""Leases in `leader_leases`: who leads the scheduler, who runs a workflow; taken and renewed atomically."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import LeaderLease, utcnow


class LeaseRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
        """Take or renew a lease; True while `holder` holds it. Atomic: one UPDATE, else one INSERT.

        The UPDATE matches only when the holder already has it or it has expired, so two replicas
        racing for an expired lease both run it and the row lock lets exactly one match; the INSERT
        of a lease nobody held yet is decided by the primary key.
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
            )
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            if session.execute(renew).rowcount == 1:  # type: ignore[attr-defined]
                return True
        try:
            with self._sessions.begin() as session:
                session.add(
                    LeaderLease(name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=now + ttl)
                )
            return True
        except IntegrityError:
            return False

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
