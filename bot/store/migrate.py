"""Schema upgrades with Alembic: the revisions in `bot/store/migrations`, applied under a lock.

Every start of the bot upgrades (and `cdc-bot db upgrade` does it on its own), so several
replicas starting together must not race: on PostgreSQL each upgrade runs in one transaction
that first takes a transaction-level advisory lock (released by the commit, and safe behind
PgBouncer's transaction pooling); on SQLite it runs in one `BEGIN IMMEDIATE` transaction, which
holds the database's single write lock. The loser waits, then finds the schema at head.

A database made before Alembic (tables from `create_all` and a `schema_version` row, no
`alembic_version`) is adopted: the first revision creates only the tables it lacks.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from bot.store.models import Base, UTCDateTime

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# One lock for every bot on a database: any 64-bit number nobody else uses.
ADVISORY_LOCK_KEY = zlib.crc32(b"cdc-bot state store migrations")
LEGACY_VERSION_TABLE = "schema_version"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    # Autogenerate looks only at our tables: the scheduler's job tables share the database.
    return type_ != "table" or name in Base.metadata.tables


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions stand on their own: the models' UTCDateTime is a timezone-aware DateTime in the database.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def schema_differences(connection: Connection) -> list[Any]:
    """What autogenerate would write into a new revision: empty when the models and the database agree."""
    context = MigrationContext.configure(connection, opts={"include_name": include_name})
    return list(compare_metadata(context, Base.metadata))


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config without an ini file; `env.py` uses `connection` when given, else CDC_BOT_DATABASE_URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to `revision`, with every other upgrader on it waiting (see the module docstring).

    Returns the revisions before and after (None: no revision, an empty or pre-Alembic database)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        before = current_revision(connection)
        if before is None and inspect(connection).has_table(LEGACY_VERSION_TABLE):
            log.info("adopting a state store made before migrations (it has %s)", LEGACY_VERSION_TABLE)
        # Alembic sees the transaction is ours and runs every revision inside it.
        command.upgrade(alembic_config(connection), revision)
        after = current_revision(connection)
    if after != before:
        log.info("state store upgraded from %s to %s", before or "nothing", after)
    return before, after
