"""Alembic's entry: run the revisions on the connection `bot.store.migrate` hands over, or on CDC_BOT_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.engine import database_url, make_engine
from bot.store.migrate import include_name, render_item
from bot.store.models import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_name=include_name,
        render_item=render_item,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as own:
            run(own)
    finally:
        engine.dispose()


main()
