"""Alembic revisions of the state store (run by `bot.store.migrate.upgrade`, or `cdc-bot db upgrade`)."""
