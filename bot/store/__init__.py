"""The state store: SQLAlchemy on CDC_BOT_DATABASE_URL (SQLite by default, PostgreSQL for replicas).

- `engine`: the URL and the engine (SQLite pragmas, the psycopg driver).
- `models`: every table; `migrations`: their Alembic revisions; `migrate`: upgrading under a lock.
- one repository module per aggregate: `approvals`, `audit`, `incidents`, `workflows`, `leases`,
  `report_runs`; `state.StateStore` builds them all over one engine.

Repositories return detached rows; the features map them to immutable records with pydantic.
"""
