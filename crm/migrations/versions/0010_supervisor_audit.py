"""supervisor: agents' teams, queues' routing rules in the database, and the audit of supervisor actions

Revision ID: 0010_supervisor_audit
Revises: 0009_campaign_loop
Create Date: 2026-12-01 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_supervisor_audit"
down_revision = "0009_campaign_loop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("team", sa.String(64), nullable=True))
    with op.batch_alter_table("queue") as batch:
        batch.add_column(sa.Column("agent_selection", sa.String(32), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("aging_per_minute", sa.Double(), server_default="0", nullable=False))
        batch.add_column(sa.Column("overflow_after_seconds", sa.Double(), nullable=True))
        batch.add_column(sa.Column("overflow_to", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("max_wait_seconds", sa.Double(), nullable=True))
        batch.add_column(sa.Column("fallback", sa.String(32), nullable=True))
        batch.add_column(sa.Column("fallback_queue", sa.String(64), nullable=True))
    # VIP callers reach the most skilled agent (the queue named vip, unless a rule is already set).
    op.execute("UPDATE queue SET agent_selection = 'most_skilled' WHERE name = 'vip' AND agent_selection IS NULL")
    op.create_table(
        "supervisor_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_supervisor_audit_at", "supervisor_audit", ["at"])
    op.create_index("ix_supervisor_audit_actor", "supervisor_audit", ["actor"])


def downgrade() -> None:
    op.drop_index("ix_supervisor_audit_actor", "supervisor_audit")
    op.drop_index("ix_supervisor_audit_at", "supervisor_audit")
    op.drop_table("supervisor_audit")
    with op.batch_alter_table("queue") as batch:
        for name in ("fallback_queue", "fallback", "max_wait_seconds", "overflow_to", "overflow_after_seconds",
                     "aging_per_minute", "priority", "agent_selection"):
            batch.drop_column(name)
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("team")
