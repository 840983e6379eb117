"""ivr_session: one row per caller's pass through an IVR flow

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ivr_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cti_call_id", sa.String(length=128), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exit", sa.String(length=32), nullable=False),
        sa.Column("exit_node", sa.String(length=64), nullable=True),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("menu_path", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("self_service", sa.JSON(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], name=op.f("fk_ivr_session_customer_id_customer"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ivr_session")),
    )
    op.create_index("ix_ivr_session_started", "ivr_session", ["started_at"])
    op.create_index(op.f("ix_ivr_session_cti_call_id"), "ivr_session", ["cti_call_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ivr_session_cti_call_id"), table_name="ivr_session")
    op.drop_index("ix_ivr_session_started", table_name="ivr_session")
    op.drop_table("ivr_session")
