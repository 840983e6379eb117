"""do_not_call.source indexed: a registry's edition is listed, replaced or removed by its source

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("do_not_call") as batch:
        batch.create_index(batch.f("ix_do_not_call_source"), ["source"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("do_not_call") as batch:
        batch.drop_index(batch.f("ix_do_not_call_source"))
