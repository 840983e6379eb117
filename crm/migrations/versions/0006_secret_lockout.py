"""secret lockout: wrong-PIN and wrong-password counters, and how long each locks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("pin_locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("login_failures", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("login_locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("login_locked_until")
        batch.drop_column("login_failures")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("pin_locked_until")
        batch.drop_column("pin_failures")
