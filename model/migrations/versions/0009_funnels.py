"""Steps say what marks a customer reaching them; journeys keep their funnel runs.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "funnel_runs",
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_funnel_runs_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_runs")),
        sa.UniqueConstraint(
            "journey_id", "window_end", name=op.f("uq_funnel_runs_journey_id_window_end")
        ),
    )
    with op.batch_alter_table("funnel_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funnel_runs_journey_id"), ["journey_id"], unique=False)

    op.create_table(
        "funnel_steps",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("conversion", sa.Float(), nullable=True),
        sa.Column("median_seconds", sa.Float(), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["funnel_runs.id"],
            name=op.f("fk_funnel_steps_run_id_funnel_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["steps.id"],
            name=op.f("fk_funnel_steps_step_id_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_steps")),
        sa.UniqueConstraint("run_id", "step_id", name=op.f("uq_funnel_steps_run_id_step_id")),
    )
    with op.batch_alter_table("funnel_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_funnel_steps_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_funnel_steps_step_id"), ["step_id"], unique=False)

    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reached_when", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("reached_when")

    with op.batch_alter_table("funnel_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funnel_steps_step_id"))
        batch_op.drop_index(batch_op.f("ix_funnel_steps_run_id"))

    op.drop_table("funnel_steps")
    with op.batch_alter_table("funnel_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funnel_runs_journey_id"))

    op.drop_table("funnel_runs")
