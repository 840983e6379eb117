"""campaign loop: dial decisions kept for `campaign why`, a work item's attached data, wrap-up seconds

Revision ID: 0009_campaign_loop
Revises: 0008_workflows
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_campaign_loop"
down_revision = "0008_workflows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dial_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("campaign_key", sa.String(length=64), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=True),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        sa.Column("dialled", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["work_item_id"], ["work_item.id"],
                                name=op.f("fk_dial_decision_work_item_id_work_item"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_decision")),
    )
    op.create_index(op.f("ix_dial_decision_decided_at"), "dial_decision", ["decided_at"])
    op.create_index("ix_dial_decision_item_at", "dial_decision", ["work_item_id", "decided_at"])
    op.create_index("ix_dial_decision_phone_at", "dial_decision", ["phone_e164", "decided_at"])
    op.create_index("ix_dial_decision_campaign_at", "dial_decision", ["campaign_key", "decided_at"])
    with op.batch_alter_table("work_item") as batch:
        batch.add_column(sa.Column("attached", sa.JSON(), nullable=True))
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("wrap_up_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("wrap_up_s")
    with op.batch_alter_table("work_item") as batch:
        batch.drop_column("attached")
    op.drop_index("ix_dial_decision_campaign_at", table_name="dial_decision")
    op.drop_index("ix_dial_decision_phone_at", table_name="dial_decision")
    op.drop_index("ix_dial_decision_item_at", table_name="dial_decision")
    op.drop_index(op.f("ix_dial_decision_decided_at"), table_name="dial_decision")
    op.drop_table("dial_decision")
