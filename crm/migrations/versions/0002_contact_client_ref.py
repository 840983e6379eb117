"""contact.client_ref: idempotent contact writes from desktops

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("client_ref", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_contact_client_ref"), ["client_ref"])


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_constraint(op.f("uq_contact_client_ref"), type_="unique")
        batch.drop_column("client_ref")
