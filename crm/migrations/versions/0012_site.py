"""site on agent, queue and campaign: several sites share one database

An agent login, a queue name and a campaign key are unique within their site. Work items and
attempts follow their campaign (through its activity); skills are shared names (a skill means the
same at every site; an agent's proficiency in it is per agent, so per site). Existing rows belong
to the default site, ``main`` (``Settings.site``'s default).

Revision ID: 0012_site
Revises: 0011_attempt_client_ref
Create Date: 2026-12-01 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_site"
down_revision = "0011_attempt_client_ref"
branch_labels = None
depends_on = None

DEFAULT_SITE = "main"
# table -> the column that was unique on its own and is now unique per site
_TABLES = {"agent": "login", "queue": "name", "campaign": "campaign_key"}


def upgrade() -> None:
    for table, column in _TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("site", sa.String(length=128), nullable=False, server_default=DEFAULT_SITE))
            batch.drop_constraint(op.f(f"uq_{table}_{column}"), type_="unique")
            batch.create_unique_constraint(op.f(f"uq_{table}_site"), ["site", column])
            batch.create_index(op.f(f"ix_{table}_site"), ["site"], unique=False)


def downgrade() -> None:
    for table, column in _TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_site"))
            batch.drop_constraint(op.f(f"uq_{table}_site"), type_="unique")
            batch.create_unique_constraint(op.f(f"uq_{table}_{column}"), [column])
            batch.drop_column("site")
