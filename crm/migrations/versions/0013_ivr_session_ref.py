"""ivr_session.client_ref: idempotent IVR session writes from the IVR's outbox

Revision ID: 0013_ivr_session_ref
Revises: 0012_site
Create Date: 2026-12-01 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_ivr_session_ref"
down_revision = "0012_site"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ivr_session") as batch:
        batch.add_column(sa.Column("client_ref", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_ivr_session_client_ref"), ["client_ref"])


def downgrade() -> None:
    with op.batch_alter_table("ivr_session") as batch:
        batch.drop_constraint(op.f("uq_ivr_session_client_ref"), type_="unique")
        batch.drop_column("client_ref")
