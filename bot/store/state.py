"""The state store: SQLAlchemy on CDC_BOT_DATABASE_URL (SQLite by default, PostgreSQL for replicas).

The schema is created on start; `SCHEMA_VERSION` records which migrations ran so a newer bot
can add to an older database. Every table that later features need lives here so there is one
place that knows the schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    Text,
    TypeDecorator,
    case,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

DEFAULT_DATABASE_URL = "sqlite:///cdc-bot.db"
# 2: approvals (runbook actions waiting for, or run after, a second person's approval).
# 3: leader_leases (which replica runs the scheduled jobs).
# 4: incidents, incident_events (incident threads and their timelines).
# 5: workflows (maintenance windows run as resumable, step-by-step workflows).
SCHEMA_VERSION = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored and returned as aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        # SQLite keeps no zone: store UTC so comparisons and ordering stay right.
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    pipeline: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ReportRun(Base):
    """One row per scheduled post; the unique key makes 'post once' hold across replicas and restarts."""

    __tablename__ = "report_runs"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime] = mapped_column()
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)


class Approval(Base):
    """A runbook action and its parameters, waiting for (or run after) a second person's approval.

    States: pending → approved → running → succeeded | failed; pending → denied | expired;
    approved → drifted (the world changed since the preview). Every change is a compare-and-set
    on `state`, so replicas sharing the database agree on who runs an action: exactly one.
    """

    __tablename__ = "approvals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    preview: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requester: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    channel: Mapped[str] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class LeaderLease(Base):
    """Who runs the scheduled jobs: one row per lease name, held until `expires_at` unless renewed."""

    __tablename__ = "leader_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column()
    renewed_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CDC_BOT_DATABASE_URL") or DEFAULT_DATABASE_URL


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "json_serializer": lambda v: json.dumps(v, default=str)}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            # An in-memory database exists per connection: every thread must share the one connection,
            # or the scheduler's and listeners' threads would each see an empty database.
            kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the scheduler write while handlers read; busy_timeout waits instead of failing.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


class StateStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()

    def migrate(self) -> None:
        Base.metadata.create_all(self.engine)
        with self.session() as session:
            row = session.get(SchemaVersion, 1)
            if row is None:
                try:
                    session.add(SchemaVersion(id=1, version=SCHEMA_VERSION))
                    session.flush()
                except IntegrityError:  # another replica created it at the same moment
                    session.rollback()
            elif row.version < SCHEMA_VERSION:
                row.version = SCHEMA_VERSION

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def schema_version(self) -> int:
        with self.session() as session:
            row = session.get(SchemaVersion, 1)
            return row.version if row else 0

    # --- audit log -------------------------------------------------------------------------

    def audit(
        self,
        actor: str,
        event_name: str,
        pipeline: str | None = None,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        with self.session() as session:
            session.add(
                AuditEntry(actor=actor, event=event_name, pipeline=pipeline, subject=subject, details=details or {})
            )

    def recent_audit(self, limit: int = 20) -> list[AuditEntry]:
        with self.session() as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))

    # --- approvals ---------------------------------------------------------------------------

    def add_approval(self, approval: Approval) -> Approval:
        with self.session() as session:
            session.add(approval)
        return approval

    def get_approval(self, approval_id: str) -> Approval | None:
        with self.session() as session:
            return session.get(Approval, approval_id)

    def transition_approval(
        self,
        approval_id: str,
        from_states: set[str] | frozenset[str],
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
        # str(): callers may pass StrEnum members, which some drivers would bind by name.
        states = sorted(str(s) for s in from_states)
        statement = update(Approval).where(Approval.id == approval_id, Approval.state.in_(states))
        if unexpired_at is not None:
            statement = statement.where(Approval.expires_at > unexpired_at)
        if expired_at is not None:
            statement = statement.where(Approval.expires_at <= expired_at)
        if not_requester is not None:
            statement = statement.where(Approval.requester != not_requester)
        statement = statement.values(state=str(to_state), **values).execution_options(synchronize_session=False)
        with self.session() as session:
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    def set_approval_fields(self, approval_id: str, **values: Any) -> None:
        """Fields that are not state (the message ts once posted); never used to change `state`."""
        assert "state" not in values
        with self.session() as session:
            session.execute(
                update(Approval)
                .where(Approval.id == approval_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def abandoned_approvals(
        self, approved_before: datetime, running_before: datetime, limit: int = 100
    ) -> list[Approval]:
        """Approved but never started, or running far past any action's deadline: their bot stopped."""
        with self.session() as session:
            query = (
                select(Approval)
                .where(
                    ((Approval.state == "approved") & (Approval.decided_at < approved_before))
                    | ((Approval.state == "running") & (Approval.started_at < running_before))
                )
                .limit(limit)
            )
            return list(session.scalars(query))

    def expired_pending_approvals(self, now: datetime, limit: int = 100) -> list[Approval]:
        with self.session() as session:
            query = select(Approval).where(Approval.state == "pending", Approval.expires_at <= now).limit(limit)
            return list(session.scalars(query))

    # --- scheduled posts -------------------------------------------------------------------

    def claim_report_run(self, kind: str, scheduled_for: datetime, claimed_by: str) -> bool:
        """True for exactly one caller per (kind, scheduled time), whichever replica asks first."""
        key = f"{kind}@{scheduled_for.astimezone(UTC).isoformat()}"
        try:
            with self.session() as session:
                session.add(ReportRun(key=key, kind=kind, scheduled_for=scheduled_for, claimed_by=claimed_by))
            return True
        except IntegrityError:
            return False

    def finish_report_run(self, kind: str, scheduled_for: datetime, outcome: str) -> None:
        key = f"{kind}@{scheduled_for.astimezone(UTC).isoformat()}"
        with self.session() as session:
            run = session.get(ReportRun, key)
            if run is not None:
                run.outcome = outcome

    # --- leader lease ------------------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
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
        with self.session() as session:
            if session.execute(renew).rowcount == 1:  # type: ignore[attr-defined]
                return True
        try:
            with self.session() as session:
                session.add(
                    LeaderLease(name=name, holder=holder, acquired_at=now, renewed_at=now, expires_at=now + ttl)
                )
            return True
        except IntegrityError:
            return False

    def release_lease(self, name: str, holder: str, now: datetime | None = None) -> None:
        """Give the lease up at once (shutdown), so another replica need not wait for it to expire."""
        with self.session() as session:
            session.execute(
                update(LeaderLease)
                .where(LeaderLease.name == name, LeaderLease.holder == holder)
                .values(expires_at=now or utcnow())
                .execution_options(synchronize_session=False)
            )

    def lease(self, name: str) -> LeaderLease | None:
        with self.session() as session:
            return session.get(LeaderLease, name)

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True


class Incident(Base):
    """A declared incident: run in the thread of its root message; `status` is open or resolved."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    affected: Mapped[str | None] = mapped_column(Text, nullable=True)
    commander: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Where the root message went (a channel id once posted) and its ts: the incident's thread.
    channel: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)


class IncidentEvent(Base):
    """One timeline entry of an incident (declared, snapshot, note, severity, escalated, check, resolved).

    `data` holds what the entry needs to be shown again later: a snapshot's redacted JSON, a
    severity change's from/to. Approvals requested in the incident's thread live in `approvals`.
    """

    __tablename__ = "incident_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Workflow(Base):
    """A multi-step runbook procedure run after an approval (a maintenance window's start or end).

    One row per approved run; `id` is the approval's id. `steps` maps each step name to its record
    (state running | done | failed | aborted | interrupted, text, Slack ts, times), so a bot that
    restarts mid-way resumes at the first step not done. Whoever runs it holds the lease
    `workflow:<id>` in leader_leases; status changes are compare-and-set like approvals'.
    """

    __tablename__ = "workflows"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    # running → succeeded | failed | aborted
    status: Mapped[str] = mapped_column(String(16), index=True)
    step: Mapped[str | None] = mapped_column(String(64), nullable=True)
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Values recorded for later steps or the next workflow (replicas before the window, ...).
    saved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    approval_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    abort_requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
