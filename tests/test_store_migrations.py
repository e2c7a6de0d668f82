"""The state store's schema comes from its Alembic revisions: on empty databases, on databases the bot made
before migrations (adopted with their rows), with replicas upgrading at once, and always equal to the models.

PostgreSQL tests run in a schema of their own (the `pg_url` fixture), dropped afterwards.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from bot.actions.approvals import ApprovalRecord, ApprovalState
from bot.store.engine import make_engine
from bot.store.migrate import current_revision, schema_differences, upgrade
from bot.store.state import StateStore

HEAD = "0003"
TABLES = {
    "alembic_version",
    "approvals",
    "audit_log",
    "incident_events",
    "incidents",
    "leader_leases",
    "report_outbox",
    "report_runs",
    "workflows",
}

# What `Base.metadata.create_all` of the bot before migrations (SCHEMA_VERSION 5) created, as its
# dialects compile it; {timestamp} and {serial} are the two spellings SQLite and PostgreSQL differ in.
LEGACY_DDL = [
    """CREATE TABLE schema_version (id {serial} NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (id))""",
    """CREATE TABLE audit_log (
        id {serial} NOT NULL, at {timestamp} NOT NULL, actor VARCHAR(64) NOT NULL, event VARCHAR(64) NOT NULL,
        pipeline VARCHAR(64), subject VARCHAR(200), details JSON NOT NULL, PRIMARY KEY (id))""",
    "CREATE INDEX ix_audit_log_at ON audit_log (at)",
    """CREATE TABLE report_runs (
        "key" VARCHAR(200) NOT NULL, kind VARCHAR(64) NOT NULL, scheduled_for {timestamp} NOT NULL,
        claimed_at {timestamp} NOT NULL, claimed_by VARCHAR(200) NOT NULL, outcome TEXT, PRIMARY KEY ("key"))""",
    """CREATE TABLE approvals (
        id VARCHAR(64) NOT NULL, pipeline VARCHAR(64) NOT NULL, action VARCHAR(64) NOT NULL, args JSON NOT NULL,
        preview JSON NOT NULL, requester VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, decided_by VARCHAR(64),
        decided_at {timestamp}, channel VARCHAR(64) NOT NULL, message_ts VARCHAR(32), thread_ts VARCHAR(32),
        created_at {timestamp} NOT NULL, expires_at {timestamp} NOT NULL, started_at {timestamp},
        finished_at {timestamp}, result JSON, error TEXT, PRIMARY KEY (id))""",
    "CREATE INDEX ix_approvals_expires_at ON approvals (expires_at)",
    "CREATE INDEX ix_approvals_state ON approvals (state)",
    """CREATE TABLE leader_leases (
        name VARCHAR(64) NOT NULL, holder VARCHAR(200) NOT NULL, acquired_at {timestamp} NOT NULL,
        renewed_at {timestamp} NOT NULL, expires_at {timestamp} NOT NULL, PRIMARY KEY (name))""",
    """CREATE TABLE incidents (
        id {serial} NOT NULL, pipeline VARCHAR(64) NOT NULL, severity VARCHAR(8) NOT NULL, title VARCHAR(200) NOT NULL,
        affected TEXT, commander VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL, channel VARCHAR(64) NOT NULL,
        thread_ts VARCHAR(32), started_at {timestamp} NOT NULL, resolved_at {timestamp}, resolved_by VARCHAR(64),
        summary TEXT, PRIMARY KEY (id))""",
    "CREATE INDEX ix_incidents_status ON incidents (status)",
    "CREATE INDEX ix_incidents_thread_ts ON incidents (thread_ts)",
    """CREATE TABLE incident_events (
        id {serial} NOT NULL, incident_id INTEGER NOT NULL, at {timestamp} NOT NULL, actor VARCHAR(64) NOT NULL,
        kind VARCHAR(32) NOT NULL, text TEXT NOT NULL, data JSON NOT NULL, PRIMARY KEY (id))""",
    "CREATE INDEX ix_incident_events_incident_id ON incident_events (incident_id)",
    """CREATE TABLE workflows (
        id VARCHAR(64) NOT NULL, pipeline VARCHAR(64) NOT NULL, kind VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL,
        step VARCHAR(64), steps JSON NOT NULL, saved JSON NOT NULL, args JSON NOT NULL, approval_id VARCHAR(64),
        requested_by VARCHAR(64), channel VARCHAR(64) NOT NULL, thread_ts VARCHAR(32), abort_requested_by VARCHAR(64),
        created_at {timestamp} NOT NULL, updated_at {timestamp} NOT NULL, finished_at {timestamp}, error TEXT,
        PRIMARY KEY (id))""",
    "CREATE INDEX ix_workflows_created_at ON workflows (created_at)",
    "CREATE INDEX ix_workflows_kind ON workflows (kind)",
    "CREATE INDEX ix_workflows_status ON workflows (status)",
]
SPELLINGS = {
    "sqlite": {"timestamp": "DATETIME", "serial": "INTEGER"},
    "postgresql": {"timestamp": "TIMESTAMP WITH TIME ZONE", "serial": "SERIAL"},
}
# SCHEMA_VERSION 3 had no incidents and workflows yet; create_all added tables, so such a database exists.
VERSION_3_DDL = [s for s in LEGACY_DDL if "incident" not in s and "workflows" not in s]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    return str(request.getfixturevalue("pg_url"))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _create_legacy(engine: Engine, ddl: list[str]) -> None:
    spelling = SPELLINGS[engine.dialect.name]
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    stored_at = at.replace(tzinfo=None) if engine.dialect.name == "sqlite" else at
    with engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement.format(**spelling))
        conn.execute(text("INSERT INTO schema_version (id, version) VALUES (1, 5)"))
        conn.execute(
            text(
                "INSERT INTO approvals (id, pipeline, action, args, preview, requester, state, channel, "
                "created_at, expires_at, decided_by, decided_at) VALUES ('legacy-approval', 'prod', "
                "'restart-streams', '{\"argv\": []}', '{\"title\": \"Restart\"}', 'U0OPERATOR', 'denied', "
                "'C0OPS', :at, :expires, 'U0APPROVER', :at)"
            ),
            {"at": stored_at, "expires": stored_at + timedelta(minutes=15)},
        )
        conn.execute(
            text("INSERT INTO audit_log (at, actor, event, details) VALUES (:at, 'U0OPERATOR', 'action.denied', '{}')"),
            {"at": stored_at},
        )


def test_an_empty_database_is_upgraded_to_head_and_matches_the_models(empty_url: str) -> None:
    store = StateStore(empty_url)
    try:
        assert _tables(store.engine) == TABLES
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD
            assert schema_differences(conn) == []
        # A second start finds nothing to do.
        assert upgrade(store.engine) == (HEAD, HEAD)
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("ddl", [LEGACY_DDL, VERSION_3_DDL], ids=["schema-version-5", "schema-version-3"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_made_before_migrations_is_adopted_with_its_rows(
    backend: str, ddl: list[str], request: pytest.FixtureRequest, tmp_path: object
) -> None:
    url = f"sqlite:///{tmp_path}/legacy.db" if backend == "sqlite" else str(request.getfixturevalue("pg_url"))
    engine = make_engine(url)
    _create_legacy(engine, ddl)
    engine.dispose()

    store = StateStore(url)
    try:
        assert _tables(store.engine) == TABLES  # the missing tables added, schema_version gone
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD
            assert schema_differences(conn) == []
        row = store.approvals.get("legacy-approval")
        assert row is not None
        record = ApprovalRecord.model_validate(row)
        assert record.state is ApprovalState.DENIED and record.title == "Restart"
        assert record.created_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        # New rows go on after the old ones (the id sequences survived).
        store.audit_log.record("cdc-bot", "store.adopted")
        assert [(e.id, e.event) for e in store.audit_log.recent(5)] == [(2, "store.adopted"), (1, "action.denied")]
    finally:
        store.engine.dispose()


def _race(url: str, replicas: int) -> list[tuple[str | None, str | None]]:
    engines = [make_engine(url) for _ in range(replicas)]
    barrier = threading.Barrier(replicas)
    results: list[tuple[str | None, str | None]] = []
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            results.append(upgrade(engine))
        except BaseException as exc:  # reported below, with the others' outcomes
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    return results


def test_replicas_upgrading_postgresql_at_once_take_turns(pg_url: str) -> None:
    results = _race(pg_url, replicas=4)
    # One did the work; the others waited on the lock and found the schema at head.
    assert results.count((None, HEAD)) == 1 and results.count((HEAD, HEAD)) == 3
    engine = make_engine(pg_url)
    try:
        assert _tables(engine) == TABLES
    finally:
        engine.dispose()


def test_replicas_upgrading_sqlite_at_once_take_turns(tmp_path: object) -> None:
    results = _race(f"sqlite:///{tmp_path}/state.db", replicas=3)
    assert results.count((None, HEAD)) == 1 and results.count((HEAD, HEAD)) == 2


def test_cdc_bot_db_upgrade_applies_the_migrations(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.app.cli import main

    url = f"sqlite:///{tmp_path}/state.db"
    monkeypatch.setenv("CDC_BOT_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"{url}: upgraded from nothing to revision {HEAD}\n"
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"{url}: already at revision {HEAD}\n"
    engine = make_engine(url)
    try:
        assert _tables(engine) == TABLES
    finally:
        engine.dispose()
