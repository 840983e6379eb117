"""site on ivr_session: each IVR's sessions are its site's, and the report is per site

Existing rows belong to the default site, ``main`` (``Settings.site``'s default), as in 0012_site.

Revision ID: 0015_gw_ivr_session_site
Revises: 0014_workflow_escalation
Create Date: 2026-12-01 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_gw_ivr_session_site"
down_revision = "0014_workflow_escalation"
branch_labels = None
depends_on = None

DEFAULT_SITE = "main"


def upgrade() -> None:
    with op.batch_alter_table("ivr_session") as batch:
        # The server default fills the rows there are (the backfill) and any an older IVR writes.
        batch.add_column(sa.Column("site", sa.String(length=128), nullable=False, server_default=DEFAULT_SITE))
        batch.create_index(op.f("ix_ivr_session_site_started"), ["site", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ivr_session") as batch:
        batch.drop_index(op.f("ix_ivr_session_site_started"))
        batch.drop_column("site")
