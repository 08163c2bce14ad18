"""Items keep their journey-map card as JSON text; signals are indexed by step and state.

Revision ID: 0006
Revises: 0005
"""

import json
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The card's fields when this migration was written; later changes re-render on write.
CARD_FIELDS = (
    "key",
    "type",
    "title",
    "status",
    "machine_made",
    "owner",
    "impact",
    "effort",
    "priority",
    "severity",
    "confidence",
    "channel",
    "kind",
    "solution_type",
    "target_date",
    "metric_type",
    "unit",
    "baseline",
    "current",
    "target",
    "direction",
)


def _card(row: sa.Row) -> str:
    card = {name: row._mapping[name] for name in CARD_FIELDS}
    card = {name: value for name, value in card.items() if value is not None}
    card["machine_made"] = bool(row._mapping["machine_made"])
    if isinstance(card.get("target_date"), date):
        card["target_date"] = card["target_date"].isoformat()
    return json.dumps(card, separators=(",", ":"), ensure_ascii=False)


def upgrade() -> None:
    op.create_index("ix_signals_step_state", "signals", ["step_id", "state"], unique=False)
    op.add_column("items", sa.Column("card", sa.Text(), nullable=False, server_default="{}"))
    items = sa.table("items", sa.column("id"), sa.column("card"), *map(sa.column, CARD_FIELDS))
    connection = op.get_bind()
    rows = connection.execute(sa.select(items.c.id, *(items.c[name] for name in CARD_FIELDS)))
    updates = [{"item_id": row.id, "card": _card(row)} for row in rows]
    if updates:
        connection.execute(items.update().where(items.c.id == sa.bindparam("item_id")), updates)


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("card")
    op.drop_index("ix_signals_step_state", table_name="signals")
