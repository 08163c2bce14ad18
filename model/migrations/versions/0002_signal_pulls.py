"""signal pulls

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:05:26.991594
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "pull_runs",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("records_seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("ignored", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed')", name=op.f("ck_pull_runs_status")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pull_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_runs")),
    )
    with op.batch_alter_table("pull_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pull_runs_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index(
            "ix_pull_runs_workspace_source", ["workspace_id", "source", "id"], unique=False
        )

    op.create_table(
        "source_configs",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=True),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("secret_block", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('stripe', 'intercom', 'posthog')", name=op.f("ck_source_configs_source")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_source_configs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_configs")),
        sa.UniqueConstraint(
            "workspace_id", "source", name=op.f("uq_source_configs_workspace_id_source")
        ),
    )
    with op.batch_alter_table("source_configs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_configs_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "source_cursors",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("stream", sa.String(length=50), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_source_cursors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "source", "stream", name=op.f("pk_source_cursors")),
    )
    op.create_table(
        "skipped_records",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("pull_run_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["pull_run_id"],
            ["pull_runs.id"],
            name=op.f("fk_skipped_records_pull_run_id_pull_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_skipped_records_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_records")),
        sa.UniqueConstraint(
            "workspace_id",
            "source",
            "external_id",
            name=op.f("uq_skipped_records_workspace_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("skipped_records", schema=None) as batch_op:
        batch_op.create_index("ix_skipped_records_run", ["pull_run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_skipped_records_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_version", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("source_sequence", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:

    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_column("source_sequence")
        batch_op.drop_column("source_version")

    with op.batch_alter_table("skipped_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skipped_records_workspace_id"))
        batch_op.drop_index("ix_skipped_records_run")

    op.drop_table("skipped_records")
    op.drop_table("source_cursors")
    with op.batch_alter_table("source_configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_configs_workspace_id"))

    op.drop_table("source_configs")
    with op.batch_alter_table("pull_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_pull_runs_workspace_source")
        batch_op.drop_index(batch_op.f("ix_pull_runs_workspace_id"))

    op.drop_table("pull_runs")
