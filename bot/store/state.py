"""The state store: one engine on CDC_BOT_DATABASE_URL and a repository per aggregate over it.

Features reach the tables only through the repositories (`store.approvals`, `store.incidents`,
`store.workflows`, `store.leases`, `store.report_runs`, `store.outbox`, `store.audit_log`); only bot/store imports
SQLAlchemy. The schema is Alembic's (`bot.store.migrate`): opening a store upgrades it to head.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.orm import Session, sessionmaker

from bot.store.approvals import ApprovalRepository
from bot.store.audit import AuditLog
from bot.store.engine import DEFAULT_DATABASE_URL, database_url, make_engine
from bot.store.incidents import IncidentRepository
from bot.store.leases import LeaseRepository
from bot.store.migrate import upgrade
from bot.store.models import (
    Approval,
    AuditEntry,
    Base,
    Incident,
    IncidentEvent,
    LeaderLease,
    OutboxPost,
    ReportRun,
    Workflow,
    utcnow,
)
from bot.store.outbox import OutboxRepository
from bot.store.report_runs import ReportRunRepository
from bot.store.workflows import WorkflowRepository

# Earlier homes of these names; the modules above are where they live.
__all__ = [
    "DEFAULT_DATABASE_URL",
    "Approval",
    "AuditEntry",
    "Base",
    "Incident",
    "IncidentEvent",
    "LeaderLease",
    "OutboxPost",
    "ReportRun",
    "StateStore",
    "Workflow",
    "database_url",
    "utcnow",
]


class StateStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        # Rows stay readable after their session ends: repositories hand them out detached.
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Every start brings the schema to head; replicas starting together take turns (see migrate.py).
        upgrade(self.engine)
        self.approvals = ApprovalRepository(self.sessions)
        self.audit_log = AuditLog(self.sessions)
        self.incidents = IncidentRepository(self.sessions)
        self.workflows = WorkflowRepository(self.sessions)
        self.leases = LeaseRepository(self.sessions)
        self.report_runs = ReportRunRepository(self.sessions)
        # `store.audit(...)` is the audit log's own `record`, not a copy of its signature.
        self.audit = self.audit_log.record
        self.outbox = OutboxRepository(self.sessions)

    def session(self) -> AbstractContextManager[Session]:
        """A session in a transaction (`with store.session() as s:`): committed on success, else rolled back."""
        return self.sessions.begin()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    # Shorthands that commands/ and the scheduler's overview call; the repositories are the interface.

    def recent_audit(self, limit: int = 20) -> list[AuditEntry]:
        return self.audit_log.recent(limit)

    def lease(self, name: str) -> LeaderLease | None:
        return self.leases.get(name)
