"""customer_order.attempt_id, service_request.attempt_id: orders and requests tied to their attempt

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("customer_order", "service_request")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("attempt_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f(f"fk_{table}_attempt_id_attempt"), "attempt", ["attempt_id"], ["id"],
                                     ondelete="SET NULL")
            batch.create_index(op.f(f"ix_{table}_attempt_id"), ["attempt_id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_attempt_id"))
            batch.drop_constraint(op.f(f"fk_{table}_attempt_id_attempt"), type_="foreignkey")
            batch.drop_column("attempt_id")
