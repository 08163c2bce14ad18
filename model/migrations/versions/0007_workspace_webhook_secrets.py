"""Workspaces keep their own webhook signing secrets, encrypted.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_secrets",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("encrypted", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "provider IN ('stripe', 'intercom', 'posthog', 'linear', 'jira')",
            name=op.f("ck_webhook_secrets_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhook_secrets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_secrets")),
        sa.UniqueConstraint(
            "workspace_id", "provider", name=op.f("uq_webhook_secrets_workspace_id_provider")
        ),
    )
    with op.batch_alter_table("webhook_secrets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_secrets_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_secrets_workspace_id"))

    op.drop_table("webhook_secrets")
