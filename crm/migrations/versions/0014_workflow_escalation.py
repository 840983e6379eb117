"""workflow escalations: a time limit acted on once, the group an item is handed to

``workflow_escalation`` holds one row per item, state and entry into that state whose time limit
passed and was acted on (its unique key is the claim between several ``ccenter api`` processes).
Orders and service requests gain ``assigned_to`` and an index on (state, state_since), by which the
escalator finds what is due.

Revision ID: 0014_workflow_escalation
Revises: 0013_ivr_session_ref
Create Date: 2026-12-01 04:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_workflow_escalation"
down_revision = "0013_ivr_session_ref"
branch_labels = None
depends_on = None

_TABLES = ("customer_order", "service_request")


def upgrade() -> None:
    op.create_table(
        "workflow_escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalate_to", sa.String(length=32), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("escalated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_escalation")),
        sa.UniqueConstraint(
            "subject", "subject_id", "state", "state_since", name=op.f("uq_workflow_escalation_subject")
        ),
    )
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("assigned_to", sa.String(length=64), nullable=True))
            batch.create_index(f"ix_{table}_state_since", ["state", "state_since"], unique=False)


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_state_since")
            batch.drop_column("assigned_to")
    op.drop_table("workflow_escalation")
