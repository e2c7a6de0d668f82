"""Claims that expire, the outbox of scheduled posts, and fencing tokens for leases and workflows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

- `report_runs.expires_at`: a claim is a lease; an unfinished claim past it can be taken over
  (rows from before have none and last one claim ttl from `claimed_at`, so a post stuck by a
  crash is freed).
- `report_outbox`: built posts that have not reached Slack yet, retried until their grace ends.
- `leader_leases.generation` and `workflows.generation`: a fencing token raised on every change
  of holder; workflow writes are compare-and-set on it, so a stalled runner cannot overwrite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("report_runs", sa.Column("expires_at", Timestamp, nullable=True))
    op.add_column("leader_leases", sa.Column("generation", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("workflows", sa.Column("generation", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "report_outbox",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("scheduled_for", Timestamp, nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("give_up_at", Timestamp, nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
    )
    op.create_index("ix_report_outbox_state", "report_outbox", ["state"])
    op.create_index("ix_report_outbox_next_attempt_at", "report_outbox", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_report_outbox_next_attempt_at", "report_outbox")
    op.drop_index("ix_report_outbox_state", "report_outbox")
    op.drop_table("report_outbox")
    with op.batch_alter_table("workflows") as batch:
        batch.drop_column("generation")
    with op.batch_alter_table("leader_leases") as batch:
        batch.drop_column("generation")
    with op.batch_alter_table("report_runs") as batch:
        batch.drop_column("expires_at")
