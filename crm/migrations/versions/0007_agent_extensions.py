"""agent extensions: the extensions each agent may log in on (the CTI gateway refuses others)

Revision ID: 0007_agent_extensions
Revises: 0006
Create Date: 2026-12-01 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_agent_extensions"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_extension",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_extension_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "extension", name=op.f("pk_agent_extension")),
    )


def downgrade() -> None:
    op.drop_table("agent_extension")
