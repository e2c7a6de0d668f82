"""The audit log: who did what to which pipeline, append-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import AuditEntry


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(
        self,
        actor: str,
        event_name: str,
        pipeline: str | None = None,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        entry = AuditEntry(actor=actor, event=event_name, pipeline=pipeline, subject=subject, details=details or {})
        with self._sessions.begin() as session:
            session.add(entry)

    def recent(self, limit: int = 20) -> list[AuditEntry]:
        """Newest first."""
        with self._sessions.begin() as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
