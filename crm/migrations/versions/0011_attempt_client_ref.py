"""attempt.client_ref: idempotent attempt writes from the dialer's outbox

Revision ID: 0011_attempt_client_ref
Revises: 0010_supervisor_audit
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_attempt_client_ref"
down_revision = "0010_supervisor_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.add_column(sa.Column("client_ref", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_attempt_client_ref"), ["client_ref"])


def downgrade() -> None:
    with op.batch_alter_table("attempt") as batch:
        batch.drop_constraint(op.f("uq_attempt_client_ref"), type_="unique")
        batch.drop_column("client_ref")
