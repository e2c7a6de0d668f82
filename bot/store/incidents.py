"""Incident rows and their timelines (`incidents`, `incident_events`); the feature is `bot.incidents.service`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Incident, IncidentEvent


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IncidentRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # --- incidents -----------------------------------------------------------------------------

    def add(self, incident: Incident) -> Incident:
        """Store a new incident; the row comes back with its id."""
        with self._sessions.begin() as session:
            session.add(incident)
            session.flush()
        return incident

    def get(self, incident_id: int) -> Incident | None:
        with self._sessions.begin() as session:
            return session.get(Incident, incident_id)

    def open(self, channel: str | None = None) -> list[Incident]:
        """Open incidents (of one channel, when given), oldest first."""
        query = select(Incident).where(Incident.status == IncidentStatus.OPEN.value).order_by(Incident.id)
        if channel is not None:
            query = query.where(Incident.channel == channel)
        with self._sessions.begin() as session:
            return list(session.scalars(query))

    def attach_thread(self, incident_id: int, channel: str, thread_ts: str) -> Incident | None:
        with self._sessions.begin() as session:
            row = session.get(Incident, incident_id)
            if row is not None:
                row.channel, row.thread_ts = channel, thread_ts
            return row

    def change_severity(self, incident_id: int, from_severity: str, to_severity: str) -> bool:
        """Compare-and-set on the severity read: True only if it is still open and `from_severity`."""
        statement = (
            update(Incident)
            .where(
                Incident.id == incident_id,
                Incident.status == IncidentStatus.OPEN.value,
                Incident.severity == str(from_severity),
            )
            .values(severity=str(to_severity))
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    def resolve(self, incident_id: int, at: datetime, by: str, summary: str | None) -> bool:
        """Open → resolved; True for the one caller that resolved it."""
        statement = (
            update(Incident)
            .where(Incident.id == incident_id, Incident.status == IncidentStatus.OPEN.value)
            .values(status=IncidentStatus.RESOLVED.value, resolved_at=at, resolved_by=by, summary=summary)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    # --- timeline ------------------------------------------------------------------------------

    def add_event(
        self, incident_id: int, actor: str, kind: str, text: str = "", data: dict[str, Any] | None = None
    ) -> IncidentEvent:
        row = IncidentEvent(incident_id=incident_id, actor=actor, kind=str(kind), text=text, data=data or {})
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
        return row

    def events(self, incident_id: int, kind: str | None = None) -> list[IncidentEvent]:
        """The timeline in the order it was written."""
        query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
        if kind is not None:
            query = query.where(IncidentEvent.kind == str(kind))
        with self._sessions.begin() as session:
            return list(session.scalars(query.order_by(IncidentEvent.id)))

    def last_event(self, incident_id: int, kind: str) -> IncidentEvent | None:
        query = (
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == str(kind))
            .order_by(IncidentEvent.id.desc())
            .limit(1)
        )
        with self._sessions.begin() as session:
            return session.scalars(query).first()

    def count_events(self, incident_id: int, kind: str) -> int:
        query = select(func.count(IncidentEvent.id)).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.kind == str(kind)
        )
        with self._sessions.begin() as session:
            return int(session.scalar(query) or 0)
