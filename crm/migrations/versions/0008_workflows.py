"""workflows: order and service-request states with history, the connectors' outbox, API tokens,
communications with their content, contacts linked to the communication they were about

Revision ID: 0008_workflows
Revises: 0007_agent_extensions
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_workflows"
down_revision = "0007_agent_extensions"
branch_labels = None
depends_on = None

#: Existing rows start in the initial state of the shipped default workflow of their kind.
INITIAL = {"customer_order": ("broadband_order", "submitted"), "service_request": ("fault_report", "opened")}


def upgrade() -> None:
    for table, (workflow, state) in INITIAL.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("workflow", sa.String(64), nullable=False, server_default=workflow))
            batch.add_column(sa.Column("state", sa.String(32), nullable=False, server_default=state))
            batch.add_column(sa.Column("state_since", sa.DateTime(timezone=True), nullable=True))
        op.execute(f"UPDATE {table} SET state_since = created_at")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("workflow", server_default=None)
            batch.alter_column("state", server_default=None)
            batch.alter_column("state_since", existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table("communication") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("lines", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("source", sa.String(64), nullable=True))
        batch.add_column(sa.Column("external_ref", sa.String(128), nullable=True))
    with op.batch_alter_table("communication") as batch:
        batch.alter_column("lines", existing_type=sa.JSON(), server_default=None)
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("communication_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_contact_communication_id_communication"), "communication",
                                 ["communication_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_contact_communication_id"), ["communication_id"])
    op.create_table(
        "workflow_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(64), nullable=False),
        sa.Column("transition", sa.String(32), nullable=True),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_event")),
    )
    op.create_index("ix_workflow_event_subject", "workflow_event", ["subject", "subject_id", "id"])
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_message_idempotency_key")),
    )
    op.create_index("ix_outbox_message_pending", "outbox_message", ["connector", "delivered_at", "id"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], name=op.f("fk_api_token_agent_id_agent"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_agent_id"), "api_token", ["agent_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_token_agent_id"), table_name="api_token")
    op.drop_table("api_token")
    op.drop_index("ix_outbox_message_pending", table_name="outbox_message")
    op.drop_table("outbox_message")
    op.drop_index("ix_workflow_event_subject", table_name="workflow_event")
    op.drop_table("workflow_event")
    with op.batch_alter_table("contact") as batch:
        batch.drop_index(op.f("ix_contact_communication_id"))
        batch.drop_constraint(op.f("fk_contact_communication_id_communication"), type_="foreignkey")
        batch.drop_column("communication_id")
    with op.batch_alter_table("communication") as batch:
        for column in ("external_ref", "source", "lines", "body"):
            batch.drop_column(column)
    for table in INITIAL:
        with op.batch_alter_table(table) as batch:
            for column in ("state_since", "state", "workflow"):
                batch.drop_column(column)
