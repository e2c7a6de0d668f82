"""Where the state store lives (CDC_BOT_DATABASE_URL, SQLite by default) and the engine over it."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

DEFAULT_DATABASE_URL = "sqlite:///cdc-bot.db"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CDC_BOT_DATABASE_URL") or DEFAULT_DATABASE_URL


def display_url(url: str) -> str:
    """The URL without its password, for logs and the CLI."""
    return make_url(url).render_as_string(hide_password=True)


def _enable_wal(cursor: Any, wait_seconds: float = 30.0) -> None:
    """Switch to WAL, waiting while another connection holds the lock: a database that is not in WAL
    yet (a new one) cannot switch while a replica upgrades it, and SQLite fails that at once instead
    of calling its busy handler."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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
            cursor.execute("PRAGMA busy_timeout=30000")
            _enable_wal(cursor)
            cursor.close()

    return engine
