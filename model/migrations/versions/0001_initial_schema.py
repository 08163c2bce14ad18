"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:45:30.499164
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "workspaces",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("linear_team_key", sa.String(length=50), nullable=True),
        sa.Column("jira_project_key", sa.String(length=50), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("slug", name=op.f("uq_workspaces_slug")),
    )
    op.create_table(
        "change_events",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_change_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_events")),
    )
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.create_index("ix_change_events_item", ["item_id", "id"], unique=False)
        batch_op.create_index("ix_change_events_journey", ["journey_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_change_events_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "items",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "external_links",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("machine_made", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.String(length=10), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("impact", sa.Integer(), nullable=True),
        sa.Column("effort", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("solution_type", sa.String(length=20), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("metric_type", sa.String(length=20), nullable=True),
        sa.Column("unit", sa.String(length=10), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("current", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=True),
        sa.Column("evaluation_period", sa.String(length=10), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(type = 'touchpoint' AND status IN ('exists', 'suspected', 'confirmed', 'deprecated')) OR (type = 'insight' AND status IN ('new', 'assumption', 'observed', 'validated', 'archived')) OR (type = 'opportunity' AND status IN ('new', 'framed', 'prioritized', 'parked', 'closed')) OR (type = 'solution' AND status IN ('idea', 'proposed', 'planned', 'in_progress', 'shipped', 'validated', 'rejected')) OR (type = 'metric' AND status IN ('draft', 'defined', 'active', 'broken', 'deprecated'))",
            name=op.f("ck_items_status"),
        ),
        sa.CheckConstraint(
            "baseline IS NULL OR type IN ('metric')", name=op.f("ck_items_baseline_type")
        ),
        sa.CheckConstraint(
            "channel IS NULL OR channel IN ('website', 'app', 'email', 'sales_call', 'support', 'docs', 'store', 'other')",
            name=op.f("ck_items_channel"),
        ),
        sa.CheckConstraint(
            "channel IS NULL OR type IN ('touchpoint')", name=op.f("ck_items_channel_type")
        ),
        sa.CheckConstraint(
            "confidence IS NULL OR confidence IN ('low', 'medium', 'high')",
            name=op.f("ck_items_confidence"),
        ),
        sa.CheckConstraint(
            "confidence IS NULL OR type IN ('insight', 'opportunity')",
            name=op.f("ck_items_confidence_type"),
        ),
        sa.CheckConstraint(
            "current IS NULL OR type IN ('metric')", name=op.f("ck_items_current_type")
        ),
        sa.CheckConstraint(
            "direction IS NULL OR direction IN ('higher', 'lower')", name=op.f("ck_items_direction")
        ),
        sa.CheckConstraint(
            "direction IS NULL OR type IN ('metric')", name=op.f("ck_items_direction_type")
        ),
        sa.CheckConstraint(
            "effort IS NULL OR type IN ('opportunity', 'solution')",
            name=op.f("ck_items_effort_type"),
        ),
        sa.CheckConstraint(
            "evaluation_period IS NULL OR evaluation_period IN ('day', 'week', 'month', 'quarter')",
            name=op.f("ck_items_evaluation_period"),
        ),
        sa.CheckConstraint(
            "evaluation_period IS NULL OR type IN ('metric')",
            name=op.f("ck_items_evaluation_period_type"),
        ),
        sa.CheckConstraint(
            "impact IS NULL OR type IN ('opportunity', 'solution')",
            name=op.f("ck_items_impact_type"),
        ),
        sa.CheckConstraint(
            "kind IS NULL OR kind IN ('pain', 'need', 'gain')", name=op.f("ck_items_kind")
        ),
        sa.CheckConstraint("kind IS NULL OR type IN ('insight')", name=op.f("ck_items_kind_type")),
        sa.CheckConstraint(
            "metric_type IS NULL OR metric_type IN ('customer', 'business', 'operational')",
            name=op.f("ck_items_metric_type"),
        ),
        sa.CheckConstraint(
            "metric_type IS NULL OR type IN ('metric')", name=op.f("ck_items_metric_type_type")
        ),
        sa.CheckConstraint(
            "owner IS NULL OR type IN ('metric', 'opportunity', 'solution')",
            name=op.f("ck_items_owner_type"),
        ),
        sa.CheckConstraint(
            "priority IS NULL OR priority IN ('high', 'medium', 'low')",
            name=op.f("ck_items_priority"),
        ),
        sa.CheckConstraint(
            "priority IS NULL OR type IN ('opportunity', 'solution')",
            name=op.f("ck_items_priority_type"),
        ),
        sa.CheckConstraint(
            "severity IS NULL OR type IN ('insight')", name=op.f("ck_items_severity_type")
        ),
        sa.CheckConstraint(
            "solution_type IS NULL OR solution_type IN ('idea', 'experiment', 'feature', 'process', 'content', 'service')",
            name=op.f("ck_items_solution_type"),
        ),
        sa.CheckConstraint(
            "solution_type IS NULL OR type IN ('solution')",
            name=op.f("ck_items_solution_type_type"),
        ),
        sa.CheckConstraint(
            "target IS NULL OR type IN ('metric')", name=op.f("ck_items_target_type")
        ),
        sa.CheckConstraint(
            "target_date IS NULL OR type IN ('solution')", name=op.f("ck_items_target_date_type")
        ),
        sa.CheckConstraint(
            "type IN ('touchpoint', 'insight', 'opportunity', 'solution', 'metric')",
            name=op.f("ck_items_type"),
        ),
        sa.CheckConstraint("unit IS NULL OR type IN ('metric')", name=op.f("ck_items_unit_type")),
        sa.CheckConstraint(
            "unit IS NULL OR unit IN ('%', 'score', 'count', 'time', 'currency', 'other')",
            name=op.f("ck_items_unit"),
        ),
        sa.CheckConstraint(
            "effort IS NULL OR (effort >= 1 AND effort <= 5)", name=op.f("ck_items_effort")
        ),
        sa.CheckConstraint(
            "impact IS NULL OR (impact >= 1 AND impact <= 5)", name=op.f("ck_items_impact")
        ),
        sa.CheckConstraint(
            "severity IS NULL OR (severity >= 1 AND severity <= 5)", name=op.f("ck_items_severity")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_items_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_items_workspace_id_key")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index("ix_items_workspace_type", ["workspace_id", "type"], unique=False)

    op.create_table(
        "journeys",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("linear_team_key", sa.String(length=50), nullable=True),
        sa.Column("jira_project_key", sa.String(length=50), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journeys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("workspace_id", "slug", name=op.f("uq_journeys_workspace_id_slug")),
    )
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journeys_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "members",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'editor', 'viewer')", name=op.f("ck_members_role")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_members_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("workspace_id", "email", name=op.f("uq_members_workspace_id_email")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "personas",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=True),
        sa.Column("journey_role", sa.String(length=20), nullable=True),
        sa.Column("job_to_be_done", sa.Text(), nullable=True),
        sa.Column("buying_influence", sa.String(length=10), nullable=True),
        sa.Column(
            "goals",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "frustrations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("tech_savviness", sa.String(length=10), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "buying_influence IS NULL OR buying_influence IN ('low', 'medium', 'high')",
            name=op.f("ck_personas_buying_influence"),
        ),
        sa.CheckConstraint(
            "journey_role IS NULL OR journey_role IN ('end_user', 'team_admin', 'manager', 'buyer', 'approver', 'champion')",
            name=op.f("ck_personas_journey_role"),
        ),
        sa.CheckConstraint(
            "tech_savviness IS NULL OR tech_savviness IN ('low', 'medium', 'high')",
            name=op.f("ck_personas_tech_savviness"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_personas_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personas")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_personas_workspace_id_name")),
    )
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personas_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "api_tokens",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_api_tokens_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_tokens_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_tokens_prefix"), ["prefix"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_api_tokens_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "item_links",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.CheckConstraint("source_id <> target_id", name=op.f("ck_item_links_not_self")),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["items.id"],
            name=op.f("fk_item_links_source_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["items.id"],
            name=op.f("fk_item_links_target_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_item_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_links")),
        sa.UniqueConstraint(
            "source_id", "target_id", name=op.f("uq_item_links_source_id_target_id")
        ),
    )
    with op.batch_alter_table("item_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_links_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_links_target_id"), ["target_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_item_links_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "item_personas",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.CheckConstraint("role IN ('actor', 'segment')", name=op.f("ck_item_personas_role")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_personas_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name=op.f("fk_item_personas_persona_id_personas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "persona_id", "role", name=op.f("pk_item_personas")),
    )
    with op.batch_alter_table("item_personas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_personas_persona_id"), ["persona_id"], unique=False
        )

    op.create_table(
        "journey_personas",
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_personas_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["personas.id"],
            name=op.f("fk_journey_personas_persona_id_personas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("journey_id", "persona_id", name=op.f("pk_journey_personas")),
    )
    with op.batch_alter_table("journey_personas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_personas_persona_id"), ["persona_id"], unique=False
        )

    op.create_table(
        "stages",
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_stages_position")),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_stages_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stages")),
        sa.UniqueConstraint("id", "journey_id", name=op.f("uq_stages_id_journey_id")),
        sa.UniqueConstraint("journey_id", "name", name=op.f("uq_stages_journey_id_name")),
        sa.UniqueConstraint("journey_id", "position", name=op.f("uq_stages_journey_id_position")),
    )
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stages_journey_id"), ["journey_id"], unique=False)

    op.create_table(
        "steps",
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_steps_position")),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_steps_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stage_id", "journey_id"],
            ["stages.id", "stages.journey_id"],
            name="fk_steps_stage_journey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("id", "journey_id", name=op.f("uq_steps_id_journey_id")),
        sa.UniqueConstraint("stage_id", "name", name=op.f("uq_steps_stage_id_name")),
        sa.UniqueConstraint("stage_id", "position", name=op.f("uq_steps_stage_id_position")),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_steps_journey_id"), ["journey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_steps_stage_id"), ["stage_id"], unique=False)

    op.create_table(
        "placements",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_placements_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_placements_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id", "journey_id"],
            ["steps.id", "steps.journey_id"],
            name="fk_placements_step_journey",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_placements_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
        sa.UniqueConstraint("item_id", "step_id", name=op.f("uq_placements_item_id_step_id")),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placements_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_placements_journey_id"), ["journey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_placements_step_id"), ["step_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_placements_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "signals",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("customer_ref", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("classifier", sa.String(length=100), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('posthog', 'intercom', 'stripe', 'import', 'manual')",
            name=op.f("ck_signals_source"),
        ),
        sa.CheckConstraint(
            "state IN ('new', 'classified', 'needs_review', 'confirmed', 'rejected', 'ignored')",
            name=op.f("ck_signals_state"),
        ),
        sa.CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)",
            name=op.f("ck_signals_confidence"),
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_signals_journey_id_journeys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_signals_step_id_steps"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_signals_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint(
            "workspace_id",
            "source",
            "external_id",
            name=op.f("uq_signals_workspace_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signals_journey_id"), ["journey_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signals_step_id"), ["step_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signals_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index("ix_signals_workspace_state", ["workspace_id", "state"], unique=False)

    op.create_table(
        "signal_evidence",
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_signal_evidence_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_signal_evidence_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("signal_id", "item_id", name=op.f("pk_signal_evidence")),
    )
    with op.batch_alter_table("signal_evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signal_evidence_item_id"), ["item_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("signal_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signal_evidence_item_id"))

    op.drop_table("signal_evidence")
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_index("ix_signals_workspace_state")
        batch_op.drop_index(batch_op.f("ix_signals_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_signals_step_id"))
        batch_op.drop_index(batch_op.f("ix_signals_journey_id"))

    op.drop_table("signals")
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placements_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_placements_step_id"))
        batch_op.drop_index(batch_op.f("ix_placements_journey_id"))
        batch_op.drop_index(batch_op.f("ix_placements_item_id"))

    op.drop_table("placements")
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_stage_id"))
        batch_op.drop_index(batch_op.f("ix_steps_journey_id"))

    op.drop_table("steps")
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stages_journey_id"))

    op.drop_table("stages")
    with op.batch_alter_table("journey_personas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_personas_persona_id"))

    op.drop_table("journey_personas")
    with op.batch_alter_table("item_personas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_personas_persona_id"))

    op.drop_table("item_personas")
    with op.batch_alter_table("item_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_links_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_item_links_target_id"))
        batch_op.drop_index(batch_op.f("ix_item_links_source_id"))

    op.drop_table("item_links")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_api_tokens_prefix"))
        batch_op.drop_index(batch_op.f("ix_api_tokens_member_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("personas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personas_workspace_id"))

    op.drop_table("personas")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_workspace_id"))

    op.drop_table("members")
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journeys_workspace_id"))

    op.drop_table("journeys")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_workspace_type")
        batch_op.drop_index(batch_op.f("ix_items_workspace_id"))

    op.drop_table("items")
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_events_workspace_id"))
        batch_op.drop_index("ix_change_events_journey")
        batch_op.drop_index("ix_change_events_item")

    op.drop_table("change_events")
    op.drop_table("workspaces")
