"""A workspace's revision: bumped by every transaction that changes its journey views.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER on both backends: rebuilding ``workspaces`` in batch mode on SQLite would
    # drop the table every other one refers to, with its cascades.
    op.add_column(
        "workspaces", sa.Column("revision", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("workspaces", "revision")  # SQLite 3.35 and later drop a column in place
