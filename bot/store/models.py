"""Every table of the state store, as SQLAlchemy models: the one place that knows the schema.

A change here needs a migration beside it (`bot/store/migrations/versions`); a test compares the
two. Rows leave the store detached (sessions do not expire them on commit); features turn them
into their immutable records with pydantic (`Record.model_validate(row)`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


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
    """One row per scheduled post; the unique key makes 'post once' hold across replicas and restarts.

    The claim is a lease: `claimed_by` holds it until `expires_at` (renewed while it builds) or until
    it sets `outcome`. An unfinished claim past its expiry (its replica died) can be taken over; a
    row without `expires_at` (made before claims expired) lasts one claim ttl from `claimed_at`.
    """

    __tablename__ = "report_runs"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime] = mapped_column()
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class OutboxPost(Base):
    """A built scheduled post on its way to Slack, kept until Slack has it or its report's grace ends.

    One row per report run (`key` is the run's key), so a post is queued once. States: pending →
    sent | given_up. Whoever delivers it holds it (`owner` until `lease_expires_at`), like a claim;
    `attempts` counts tries begun, so a try whose end nobody saw (a crash mid-post) is known.
    """

    __tablename__ = "report_outbox"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    scheduled_for: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    give_up_at: Mapped[datetime] = mapped_column()
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


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
    # The fencing token: raised by one on every change of holder, never on a renewal.
    generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


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
    # The lease generation of the runner allowed to write this row; every runner write compares it.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
