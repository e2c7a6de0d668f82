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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///cdc-bot.db"
SCHEMA_VERSION = 1


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


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CDC_BOT_DATABASE_URL") or DEFAULT_DATABASE_URL


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "json_serializer": lambda v: json.dumps(v, default=str)}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
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

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
