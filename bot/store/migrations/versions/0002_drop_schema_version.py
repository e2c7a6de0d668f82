"""Drop `schema_version`: `alembic_version` says which revision a database is at now.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

A replica of the older code still starting against this database recreates the table with its
`create_all` and uses nothing else from it, so dropping it does not disturb a rolling upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("schema_version")


def downgrade() -> None:
    op.create_table(
        "schema_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO schema_version (id, version) VALUES (1, 5)")
