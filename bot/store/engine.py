"""Where the state store lives (CDC_BOT_DATABASE_URL, SQLite by default) and the engine over it."""

from __future__ import annotations

import json
import os
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
            # busy_timeout first: switching to WAL takes a lock that another replica may be holding.
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine
