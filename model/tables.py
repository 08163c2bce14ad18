"""Every table of the journey model.

Relationships are ``lazy="raise"``: objects outlive their session in Prefect tasks and
API responses, so anything a caller needs is loaded on purpose in ``model.repository``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from model.base import Base, IdMixin, JSONType, TimestampMixin, utcnow
from model.enums import (
    STATUSES,
    Channel,
    Direction,
    EvaluationPeriod,
    InsightKind,
    ItemType,
    JourneyRole,
    Level,
    MetricType,
    MetricUnit,
    PersonaLinkRole,
    Priority,
    Role,
    SignalSource,
    SignalState,
    SolutionType,
    values,
)


def _in(column: str, allowed: list[str]) -> str:
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in allowed)
    return f"{column} IN ({quoted})"


def _nullable_in(column: str, allowed: list[str]) -> str:
    return f"{column} IS NULL OR {_in(column, allowed)}"


def _between(column: str, low: int, high: int) -> str:
    return f"{column} IS NULL OR ({column} >= {low} AND {column} <= {high})"


class Workspace(IdMixin, TimestampMixin, Base):
    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    linear_team_key: Mapped[str | None] = mapped_column(String(50))
    jira_project_key: Mapped[str | None] = mapped_column(String(50))
    # Counts the committed transactions that changed what the workspace's journey views show
    # (see ``model.revisions``); a view built at one revision is current while it holds.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Member(IdMixin, TimestampMixin, Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email"),
        CheckConstraint(_in("role", values(Role)), name="role"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))


class ApiToken(IdMixin, Base):
    __tablename__ = "api_tokens"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()

    member: Mapped[Member] = relationship(lazy="raise")


class Persona(IdMixin, TimestampMixin, Base):
    __tablename__ = "personas"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint(_nullable_in("journey_role", values(JourneyRole)), name="journey_role"),
        CheckConstraint(_nullable_in("buying_influence", values(Level)), name="buying_influence"),
        CheckConstraint(_nullable_in("tech_savviness", values(Level)), name="tech_savviness"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(200))
    journey_role: Mapped[str | None] = mapped_column(String(20))
    job_to_be_done: Mapped[str | None] = mapped_column(Text)
    buying_influence: Mapped[str | None] = mapped_column(String(10))
    goals: Mapped[list[str]] = mapped_column(JSONType, default=list)
    frustrations: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tech_savviness: Mapped[str | None] = mapped_column(String(10))


class JourneyPersona(Base):
    __tablename__ = "journey_personas"

    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), primary_key=True
    )
    persona_id: Mapped[int] = mapped_column(
        ForeignKey("personas.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Journey(IdMixin, TimestampMixin, Base):
    __tablename__ = "journeys"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    linear_team_key: Mapped[str | None] = mapped_column(String(50))
    jira_project_key: Mapped[str | None] = mapped_column(String(50))

    stages: Mapped[list[Stage]] = relationship(
        lazy="raise", order_by="Stage.position", back_populates="journey", passive_deletes=True
    )
    personas: Mapped[list[Persona]] = relationship(
        secondary="journey_personas", lazy="raise", order_by="Persona.name"
    )


class Stage(IdMixin, TimestampMixin, Base):
    __tablename__ = "stages"
    __table_args__ = (
        UniqueConstraint("journey_id", "position"),
        UniqueConstraint("journey_id", "name"),
        # Lets steps carry their journey with a foreign key that proves it.
        UniqueConstraint("id", "journey_id"),
        CheckConstraint("position >= 0", name="position"),
    )

    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)

    journey: Mapped[Journey] = relationship(lazy="raise", back_populates="stages")
    steps: Mapped[list[Step]] = relationship(
        lazy="raise",
        order_by="Step.position",
        back_populates="stage",
        passive_deletes=True,
        overlaps="journey",
    )


class Step(IdMixin, TimestampMixin, Base):
    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("stage_id", "position"),
        UniqueConstraint("stage_id", "name"),
        # Lets placements carry their journey with a foreign key that proves it.
        UniqueConstraint("id", "journey_id"),
        # A step can only sit in a stage of its own journey.
        ForeignKeyConstraint(
            ["stage_id", "journey_id"],
            ["stages.id", "stages.journey_id"],
            ondelete="CASCADE",
            name="fk_steps_stage_journey",
        ),
        CheckConstraint("position >= 0", name="position"),
    )

    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), index=True
    )
    stage_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # The PostHog event (or HogQL condition) that marks a customer reaching the step.
    reached_when: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer)

    stage: Mapped[Stage] = relationship(lazy="raise", back_populates="steps", overlaps="journey")


# Which item types carry which type-specific column.
ITEM_FIELDS: dict[str, frozenset[ItemType]] = {
    "channel": frozenset({ItemType.TOUCHPOINT}),
    "kind": frozenset({ItemType.INSIGHT}),
    "severity": frozenset({ItemType.INSIGHT}),
    "confidence": frozenset({ItemType.INSIGHT, ItemType.OPPORTUNITY}),
    "owner": frozenset({ItemType.OPPORTUNITY, ItemType.SOLUTION, ItemType.METRIC}),
    "impact": frozenset({ItemType.OPPORTUNITY, ItemType.SOLUTION}),
    "effort": frozenset({ItemType.OPPORTUNITY, ItemType.SOLUTION}),
    "priority": frozenset({ItemType.OPPORTUNITY, ItemType.SOLUTION}),
    "solution_type": frozenset({ItemType.SOLUTION}),
    "target_date": frozenset({ItemType.SOLUTION}),
    "metric_type": frozenset({ItemType.METRIC}),
    "unit": frozenset({ItemType.METRIC}),
    "baseline": frozenset({ItemType.METRIC}),
    "current": frozenset({ItemType.METRIC}),
    "target": frozenset({ItemType.METRIC}),
    "direction": frozenset({ItemType.METRIC}),
    "evaluation_period": frozenset({ItemType.METRIC}),
}


def _status_check() -> str:
    clauses = [
        f"(type = '{item_type.value}' AND {_in('status', values(statuses))})"
        for item_type, statuses in STATUSES.items()
    ]
    return " OR ".join(clauses)


def _field_type_checks() -> list[CheckConstraint]:
    checks = []
    for column, types in ITEM_FIELDS.items():
        allowed = sorted(t.value for t in types)
        checks.append(
            CheckConstraint(f"{column} IS NULL OR {_in('type', allowed)}", name=f"{column}_type")
        )
    return checks


class Item(IdMixin, TimestampMixin, Base):
    """A touchpoint, insight, opportunity, solution or metric; one row, typed by ``type``."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index("ix_items_workspace_type", "workspace_id", "type"),
        CheckConstraint(_in("type", values(ItemType)), name="type"),
        CheckConstraint(_status_check(), name="status"),
        CheckConstraint(_nullable_in("channel", values(Channel)), name="channel"),
        CheckConstraint(_nullable_in("kind", values(InsightKind)), name="kind"),
        CheckConstraint(_nullable_in("confidence", values(Level)), name="confidence"),
        CheckConstraint(_nullable_in("priority", values(Priority)), name="priority"),
        CheckConstraint(_nullable_in("solution_type", values(SolutionType)), name="solution_type"),
        CheckConstraint(_nullable_in("metric_type", values(MetricType)), name="metric_type"),
        CheckConstraint(_nullable_in("unit", values(MetricUnit)), name="unit"),
        CheckConstraint(_nullable_in("direction", values(Direction)), name="direction"),
        CheckConstraint(
            _nullable_in("evaluation_period", values(EvaluationPeriod)), name="evaluation_period"
        ),
        CheckConstraint(_between("severity", 1, 5), name="severity"),
        CheckConstraint(_between("impact", 1, 5), name="impact"),
        CheckConstraint(_between("effort", 1, 5), name="effort"),
        *_field_type_checks(),
    )
    __mapper_args__: dict[str, Any] = {"polymorphic_on": "type"}

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    external_links: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    machine_made: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    updated_by: Mapped[str] = mapped_column(String(200), default="system")

    channel: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str | None] = mapped_column(String(10))
    severity: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[str | None] = mapped_column(String(10))
    owner: Mapped[str | None] = mapped_column(String(200))
    impact: Mapped[int | None] = mapped_column(Integer)
    effort: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[str | None] = mapped_column(String(10))
    solution_type: Mapped[str | None] = mapped_column(String(20))
    target_date: Mapped[date | None] = mapped_column(Date)
    metric_type: Mapped[str | None] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(10))
    baseline: Mapped[float | None] = mapped_column(Float)
    current: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[str | None] = mapped_column(String(10))
    evaluation_period: Mapped[str | None] = mapped_column(String(10))
    # The item's fields the journey map shows, as JSON text kept current on every write
    # (see ``render_card``): the map of a large journey reads it instead of every column.
    card: Mapped[str] = mapped_column(Text, default="{}")

    placements: Mapped[list[Placement]] = relationship(
        lazy="raise", back_populates="item", cascade="all, delete-orphan", passive_deletes=True
    )
    personas: Mapped[list[ItemPersona]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class Touchpoint(Item):
    __mapper_args__: dict[str, Any] = {"polymorphic_identity": ItemType.TOUCHPOINT.value}


class Insight(Item):
    __mapper_args__: dict[str, Any] = {"polymorphic_identity": ItemType.INSIGHT.value}


class Opportunity(Item):
    __mapper_args__: dict[str, Any] = {"polymorphic_identity": ItemType.OPPORTUNITY.value}


class Solution(Item):
    __mapper_args__: dict[str, Any] = {"polymorphic_identity": ItemType.SOLUTION.value}


class Metric(Item):
    __mapper_args__: dict[str, Any] = {"polymorphic_identity": ItemType.METRIC.value}


ITEM_CLASSES: dict[ItemType, type[Item]] = {
    ItemType.TOUCHPOINT: Touchpoint,
    ItemType.INSIGHT: Insight,
    ItemType.OPPORTUNITY: Opportunity,
    ItemType.SOLUTION: Solution,
    ItemType.METRIC: Metric,
}


class ItemPersona(Base):
    """A persona on an item: the touchpoint's actor or the insight's affected segment."""

    __tablename__ = "item_personas"
    __table_args__ = (CheckConstraint(_in("role", values(PersonaLinkRole)), name="role"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    persona_id: Mapped[int] = mapped_column(
        ForeignKey("personas.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(10), primary_key=True)

    persona: Mapped[Persona] = relationship(lazy="raise")


class Placement(IdMixin, Base):
    """An item on a step. Removing it never deletes the item."""

    __tablename__ = "placements"
    __table_args__ = (
        UniqueConstraint("item_id", "step_id"),
        ForeignKeyConstraint(
            ["step_id", "journey_id"],
            ["steps.id", "steps.journey_id"],
            ondelete="CASCADE",
            name="fk_placements_step_journey",
        ),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(Integer, index=True)
    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")

    item: Mapped[Item] = relationship(lazy="raise", back_populates="placements")
    step: Mapped[Step] = relationship(
        lazy="raise",
        primaryjoin="Placement.step_id == Step.id",
        foreign_keys="Placement.step_id",
        overlaps="journey",
    )


class ItemLink(IdMixin, Base):
    """A directed link between two items, only along ``enums.ALLOWED_LINKS``."""

    __tablename__ = "item_links"
    __table_args__ = (
        UniqueConstraint("source_id", "target_id"),
        CheckConstraint("source_id <> target_id", name="not_self"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="system")

    source: Mapped[Item] = relationship(lazy="raise", foreign_keys=[source_id])
    target: Mapped[Item] = relationship(lazy="raise", foreign_keys=[target_id])


class Signal(IdMixin, TimestampMixin, Base):
    """Raw customer evidence from a source, and where it was placed on the journey."""

    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        Index("ix_signals_workspace_state", "workspace_id", "state"),
        # Signals per step for the map, read from the index alone.
        Index("ix_signals_step_state", "step_id", "state"),
        CheckConstraint(_in("source", values(SignalSource)), name="source"),
        CheckConstraint(_in("state", values(SignalState)), name="state"),
        CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence"
        ),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    journey_id: Mapped[int | None] = mapped_column(
        ForeignKey("journeys.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    customer_ref: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="new")
    step_id: Mapped[int | None] = mapped_column(
        ForeignKey("steps.id", ondelete="SET NULL"), index=True
    )
    confidence: Mapped[float | None] = mapped_column(Float)
    classifier: Mapped[str | None] = mapped_column(String(100))
    # What the source says about this record's version: change detection and ordering.
    source_version: Mapped[str | None] = mapped_column(String(100))
    source_sequence: Mapped[int] = mapped_column(BigInteger, default=0)


class SignalEvidence(Base):
    """A signal supporting an item."""

    __tablename__ = "signal_evidence"

    signal_id: Mapped[int] = mapped_column(
        ForeignKey("signals.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


PULL_SOURCES = ["stripe", "intercom", "posthog"]


class SourceConfig(IdMixin, TimestampMixin, Base):
    """How a workspace pulls one source. Secrets are never stored: only a Secret block's name."""

    __tablename__ = "source_configs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source"),
        CheckConstraint(_in("source", PULL_SOURCES), name="source"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    base_url: Mapped[str | None] = mapped_column(String(500))
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    secret_block: Mapped[str | None] = mapped_column(String(200))


class SourceCursor(Base):
    """Where a pull of one stream of a source got to; written with the page it follows."""

    __tablename__ = "source_cursors"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    stream: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PullRun(IdMixin, Base):
    """One pull of one source for one workspace, and what it did."""

    __tablename__ = "pull_runs"
    __table_args__ = (
        Index("ix_pull_runs_workspace_source", "workspace_id", "source", "id"),
        CheckConstraint(_in("status", ["running", "completed", "failed"]), name="status"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    pages: Mapped[int] = mapped_column(Integer, default=0)
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    ignored: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str | None] = mapped_column(Text)


class SkippedRecord(IdMixin, Base):
    """A record a pull could not turn into a signal, kept with the reason."""

    __tablename__ = "skipped_records"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        Index("ix_skipped_records_run", "pull_run_id"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    pull_run_id: Mapped[int | None] = mapped_column(ForeignKey("pull_runs.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500))
    excerpt: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LLMCacheEntry(Base):
    """An LLM's placement of one text on one version of a journey: never paid for twice."""

    __tablename__ = "llm_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    step_id: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TextEmbedding(Base):
    """A text's sentence embedding under one model, so no text is encoded twice."""

    __tablename__ = "text_embeddings"

    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the text
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassifyRun(IdMixin, Base):
    """One classification run and what it cost."""

    __tablename__ = "classify_runs"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    journey_id: Mapped[int | None] = mapped_column(ForeignKey("journeys.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    placed: Mapped[int] = mapped_column(Integer, default=0)
    accepted_offline: Mapped[int] = mapped_column(Integer, default=0)
    accepted_llm: Mapped[int] = mapped_column(Integer, default=0)
    to_review: Mapped[int] = mapped_column(Integer, default=0)
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    llm_failures: Mapped[int] = mapped_column(Integer, default=0)
    cache_hits: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


WEBHOOK_PROVIDERS = ["stripe", "intercom", "posthog", "linear", "jira"]


class WebhookDelivery(IdMixin, Base):
    """A webhook as received: stored before it is answered, processed once by a flow."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("workspace_id", "provider", "delivery_id"),
        Index("ix_webhook_deliveries_pending", "status", "id"),
        CheckConstraint(_in("provider", WEBHOOK_PROVIDERS), name="provider"),
        CheckConstraint(_in("status", ["received", "processed", "failed"]), name="status"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()


class WebhookSecret(IdMixin, Base):
    """A workspace's own signing secret for one provider, encrypted with the service's key."""

    __tablename__ = "webhook_secrets"
    __table_args__ = (
        UniqueConstraint("workspace_id", "provider"),
        CheckConstraint(_in("provider", WEBHOOK_PROVIDERS), name="provider"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    encrypted: Mapped[str] = mapped_column(Text)
    hint: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


METRIC_SOURCE_STATES = ["waiting", "ok", "broken"]


class MetricSource(IdMixin, TimestampMixin, Base):
    """Where a metric item's value comes from (see ``schemas.MetricSourceSpec``) and how the
    last sync went: waiting for the first, ok, or broken with the reason."""

    __tablename__ = "metric_sources"
    __table_args__ = (
        CheckConstraint(_in("provider", ["posthog", "stripe"]), name="provider"),
        CheckConstraint(_in("state", METRIC_SOURCE_STATES), name="state"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    error: Mapped[str | None] = mapped_column(Text)
    on_track: Mapped[bool | None] = mapped_column(Boolean)
    synced_at: Mapped[datetime | None] = mapped_column()


class MetricPoint(IdMixin, Base):
    """One value of a metric's time series: the measure over ``[period_start, period_end)``."""

    __tablename__ = "metric_points"
    __table_args__ = (UniqueConstraint("item_id", "period_end"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    value: Mapped[float] = mapped_column(Float)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class FunnelRun(IdMixin, Base):
    """A journey's funnel over ``[window_start, window_end)``: one per window, kept for trends."""

    __tablename__ = "funnel_runs"
    __table_args__ = (UniqueConstraint("journey_id", "window_end"),)

    journey_id: Mapped[int] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), index=True
    )
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class FunnelStep(IdMixin, Base):
    """How many customers reached a step in a funnel run, and how they got there."""

    __tablename__ = "funnel_steps"
    __table_args__ = (UniqueConstraint("run_id", "step_id"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("funnel_runs.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    reached: Mapped[int] = mapped_column(Integer)
    # Share of the previous step's customers who reached this one (None for the first step).
    conversion: Mapped[float | None] = mapped_column(Float)
    median_seconds: Mapped[float | None] = mapped_column(Float)


TRACKERS = ["linear", "jira"]
TICKET_STATES = ["requested", "creating", "linked", "failed"]


class TicketLink(IdMixin, TimestampMixin, Base):
    """An item's ticket in Linear or Jira, stored before the tracker is called.

    ``marker`` is written into the ticket itself (Linear: the issue id we choose and the
    attachment URL; Jira: a label), so a run that lost the tracker's answer finds the ticket
    instead of creating a second one. ``claimed_until`` keeps two runs from pushing at once.
    """

    __tablename__ = "ticket_links"
    __table_args__ = (
        UniqueConstraint("item_id", "tracker"),
        UniqueConstraint("tracker", "marker"),
        Index("ix_ticket_links_state", "state", "id"),
        CheckConstraint(_in("tracker", TRACKERS), name="tracker"),
        CheckConstraint(_in("state", TICKET_STATES), name="state"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    tracker: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str | None] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20), default="requested")
    marker: Mapped[str] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    external_id: Mapped[str | None] = mapped_column(String(100))
    external_key: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(1000))
    remote_status: Mapped[str | None] = mapped_column(String(100))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200), default="system")
    linked_at: Mapped[datetime | None] = mapped_column()
    synced_at: Mapped[datetime | None] = mapped_column()
    shipped_at: Mapped[datetime | None] = mapped_column()
    metric_before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    metric_after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    item: Mapped[Item] = relationship(lazy="raise")


class ChangeEvent(IdMixin, Base):
    """One entry of the append-only change history of items and journeys.

    ``journey_id`` and ``item_id`` are plain columns, not foreign keys, so the history of a
    deleted item or journey stays readable.
    """

    __tablename__ = "change_events"
    __table_args__ = (
        Index("ix_change_events_item", "item_id", "id"),
        Index("ix_change_events_journey", "journey_id", "id"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    journey_id: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(String(500))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(ChangeEvent, "before_update")
def _refuse_history_update(*_: Any) -> None:
    raise RuntimeError("change history is append-only: an entry cannot be updated")


@event.listens_for(ChangeEvent, "before_delete")
def _refuse_history_delete(*_: Any) -> None:
    raise RuntimeError("change history is append-only: an entry cannot be deleted")


# What a card on the journey map shows of an item, besides its id, in this order.
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


def render_card(item: Item) -> str:
    """The item's card as JSON text: the fields of ``CARD_FIELDS`` that have a value."""
    values = {name: getattr(item, name) for name in CARD_FIELDS}
    card = {name: value for name, value in values.items() if value is not None}
    card["machine_made"] = bool(item.machine_made)
    if isinstance(card.get("target_date"), date):
        card["target_date"] = card["target_date"].isoformat()
    return json.dumps(card, separators=(",", ":"), ensure_ascii=False)


@event.listens_for(Item, "before_insert", propagate=True)
@event.listens_for(Item, "before_update", propagate=True)
def _keep_card_current(_mapper: Any, _connection: Any, item: Item) -> None:
    item.card = render_card(item)


AUTOMATION_STATUSES = ["draft", "active", "paused", "invalid"]
AUTOMATION_RUN_STATES = ["pending", "running", "succeeded", "failed", "skipped"]


class Automation(IdMixin, TimestampMixin, Base):
    """Trigger -> filters -> up to three actions, declared by a team (``model.automations``).

    ``trigger``, ``filters`` and ``actions`` hold the validated spec as JSON; a message
    action's incoming webhook URL is stored encrypted. ``deployment_id`` is the Prefect
    deployment that runs it, when one is registered.
    """

    __tablename__ = "automations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slug"),
        CheckConstraint(_in("status", AUTOMATION_STATUSES), name="status"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    trigger_kind: Mapped[str] = mapped_column(String(20), index=True)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONType)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    template: Mapped[str | None] = mapped_column(String(50))
    problems: Mapped[list[str]] = mapped_column(JSONType, default=list)
    deployment_id: Mapped[str | None] = mapped_column(String(64))
    prefect_note: Mapped[str | None] = mapped_column(String(500))
    last_success_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    updated_by: Mapped[str] = mapped_column(String(200), default="system")


class AutomationRun(IdMixin, Base):
    """One run of an automation, requested before it starts (an outbox): a trigger writes it
    in the same transaction as the change that fired it, so a lost event is run by the
    dispatcher later, and ``dedupe_key`` keeps one cause from running an automation twice."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        UniqueConstraint("automation_id", "dedupe_key"),
        Index("ix_automation_runs_state", "state", "id"),
        CheckConstraint(_in("state", AUTOMATION_RUN_STATES), name="state"),
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    automation_id: Mapped[int] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE"), index=True
    )
    cause: Mapped[str] = mapped_column(String(30))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    covers_from: Mapped[datetime | None] = mapped_column()
    covers_to: Mapped[datetime | None] = mapped_column()
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text)
