"""Scheduled posts in `report_runs`: one row per (kind, scheduled time), so each is posted once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import ReportRun


def run_key(kind: str, scheduled_for: datetime) -> str:
    return f"{kind}@{scheduled_for.astimezone(UTC).isoformat()}"


class ReportRunRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def claim(self, kind: str, scheduled_for: datetime, claimed_by: str) -> bool:
        """True for exactly one caller per (kind, scheduled time), whichever replica asks first."""
        run = ReportRun(key=run_key(kind, scheduled_for), kind=kind, scheduled_for=scheduled_for, claimed_by=claimed_by)
        try:
            with self._sessions.begin() as session:
                session.add(run)
            return True
        except IntegrityError:
            return False

    def finish(self, kind: str, scheduled_for: datetime, outcome: str) -> None:
        with self._sessions.begin() as session:
            run = session.get(ReportRun, run_key(kind, scheduled_for))
            if run is not None:
                run.outcome = outcome

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
