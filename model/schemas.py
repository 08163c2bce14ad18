"""Validated shapes of what can be written to the model, shared by the CLI, files and API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from model.enums import (
    STATUSES,
    Channel,
    Direction,
    EvaluationPeriod,
    InsightKind,
    InsightStatus,
    ItemType,
    JourneyRole,
    Level,
    MetricStatus,
    MetricType,
    MetricUnit,
    OpportunityStatus,
    Priority,
    Role,
    SolutionStatus,
    SolutionType,
    TouchpointStatus,
)
from model.errors import InvalidInput, invalid_from

Name = Annotated[str, Field(min_length=1, max_length=200)]
Score = Annotated[int, Field(ge=1, le=5, description="1 (lowest) to 5 (highest).")]
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)


class ExternalLink(Strict):
    """A link from an item to somewhere outside journeyops."""

    url: str = Field(max_length=2000, description="An http:// or https:// address.")
    label: str | None = Field(default=None, max_length=200, description="What the link is.")

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
            raise ValueError("must be an http:// or https:// address")
        return value


class WorkspaceSpec(Strict):
    name: Name
    slug: Slug | None = None
    linear_team_key: str | None = Field(default=None, max_length=50)
    jira_project_key: str | None = Field(default=None, max_length=50)


class MemberSpec(Strict):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: Name
    role: Role = Role.VIEWER


class PersonaSpec(Strict):
    name: Name = Field(description="Unique within the workspace.")
    role: str | None = Field(default=None, max_length=200, description="Job title or function.")
    journey_role: JourneyRole | None = Field(
        default=None, description="Part played in the journey."
    )
    job_to_be_done: str | None = None
    buying_influence: Level | None = None
    goals: list[str] = Field(default_factory=list)
    frustrations: list[str] = Field(default_factory=list)
    tech_savviness: Level | None = None


class JourneySpec(Strict):
    name: Name
    slug: Slug | None = None
    description: str | None = None
    linear_team_key: str | None = Field(default=None, max_length=50)
    jira_project_key: str | None = Field(default=None, max_length=50)


class StageSpec(Strict):
    name: Name
    description: str | None = None


class StepSpec(Strict):
    name: str = Field(min_length=1, max_length=300)
    description: str | None = None
    reached_when: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description=(
            "PostHog event name, or HogQL condition on events, that marks a customer reaching "
            "the step (for the journey funnel)."
        ),
    )


class ItemBase(Strict):
    """Fields every item has."""

    key: Slug | None = Field(
        default=None,
        max_length=120,
        description="Stable reference unique in the workspace; made from type and title if unset.",
    )
    title: str = Field(min_length=1, max_length=300)
    description: str | None = None
    external_links: list[ExternalLink] = Field(default_factory=list)
    machine_made: bool = Field(default=False, description="Made by automation, not yet confirmed.")


class TouchpointSpec(ItemBase):
    type: Literal["touchpoint"] = "touchpoint"
    status: TouchpointStatus = TouchpointStatus.EXISTS
    channel: Channel | None = None
    actors: list[str] = Field(default_factory=list, description="Names of the personas involved.")


class InsightSpec(ItemBase):
    type: Literal["insight"] = "insight"
    status: InsightStatus = InsightStatus.NEW
    kind: InsightKind | None = None
    confidence: Level | None = None
    severity: Score | None = None
    segment: list[str] = Field(default_factory=list, description="Names of the personas affected.")


class OpportunitySpec(ItemBase):
    type: Literal["opportunity"] = "opportunity"
    status: OpportunityStatus = OpportunityStatus.NEW
    owner: str | None = Field(default=None, max_length=200)
    impact: Score | None = None
    effort: Score | None = None
    priority: Priority | None = None
    confidence: Level | None = None


class SolutionSpec(ItemBase):
    type: Literal["solution"] = "solution"
    status: SolutionStatus = SolutionStatus.IDEA
    owner: str | None = Field(default=None, max_length=200)
    solution_type: SolutionType | None = None
    impact: Score | None = None
    effort: Score | None = None
    priority: Priority | None = None
    target_date: date | None = None


class MetricSpec(ItemBase):
    type: Literal["metric"] = "metric"
    status: MetricStatus = MetricStatus.DRAFT
    owner: str | None = Field(default=None, max_length=200)
    metric_type: MetricType | None = None
    unit: MetricUnit | None = None
    baseline: float | None = None
    current: float | None = None
    target: float | None = None
    direction: Direction | None = None
    evaluation_period: EvaluationPeriod | None = None


ItemSpec = TouchpointSpec | InsightSpec | OpportunitySpec | SolutionSpec | MetricSpec

ITEM_SPECS: dict[ItemType, type[ItemSpec]] = {
    ItemType.TOUCHPOINT: TouchpointSpec,
    ItemType.INSIGHT: InsightSpec,
    ItemType.OPPORTUNITY: OpportunitySpec,
    ItemType.SOLUTION: SolutionSpec,
    ItemType.METRIC: MetricSpec,
}

# Spec fields that are not columns of the items table.
PERSONA_FIELDS = {"actors": "actor", "segment": "segment"}


def item_type_of(value: Any) -> ItemType:
    """Return the item type named by ``value`` or say which types exist."""
    try:
        return ItemType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in ItemType)
        raise InvalidInput(
            f"type: unknown item type {value!r}; use one of {allowed}", field="type"
        ) from None


def parse_item(data: dict[str, Any]) -> ItemSpec:
    """Validate an item of any type, with errors that name the bad field."""
    item_type = item_type_of(data.get("type"))
    spec = ITEM_SPECS[item_type]
    try:
        return spec.model_validate(data)
    except ValidationError as error:
        raise invalid_from(error, context=item_type.value) from None


def parse(model: type[Strict], data: Any, *, context: str | None = None) -> Any:
    """Validate ``data`` against ``model``, raising InvalidInput that names the bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid_from(error, context=context) from None


TABLE_SORTS = (
    "journey",
    "title",
    "type",
    "status",
    "owner",
    "priority",
    "impact",
    "effort",
    "placed_at",
    "updated_at",
)


class TableQuery(Strict):
    """Filters of the table view; every one given must hold (AND)."""

    types: list[ItemType] = Field(default_factory=list, description="Item types to keep.")
    statuses: list[str] = Field(default_factory=list, description="Statuses to keep.")
    owners: list[str] = Field(default_factory=list, description="Owners to keep.")
    priorities: list[Priority] = Field(default_factory=list, description="Priorities to keep.")
    impact_min: Score | None = Field(default=None, description="Impact at least this.")
    impact_max: Score | None = Field(default=None, description="Impact at most this.")
    effort_min: Score | None = Field(default=None, description="Effort at least this.")
    effort_max: Score | None = Field(default=None, description="Effort at most this.")
    stage_ids: list[int] = Field(default_factory=list, description="Stages to keep.")
    step_ids: list[int] = Field(default_factory=list, description="Steps to keep.")
    updated_after: datetime | None = Field(default=None, description="Changed at or after.")
    updated_before: datetime | None = Field(default=None, description="Changed before.")
    placed_after: datetime | None = Field(default=None, description="Placed at or after.")
    placed_before: datetime | None = Field(default=None, description="Placed before.")
    sort: str = Field(
        default="journey",
        description="Column to sort by, `-` in front for descending: "
        + ", ".join(TABLE_SORTS)
        + ". `journey` is stage, step, type and title order.",
    )

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        if value.removeprefix("-") not in TABLE_SORTS:
            raise ValueError(f"unknown sort {value!r}; use one of {', '.join(TABLE_SORTS)}")
        return value

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: list[str]) -> list[str]:
        known = sorted({status.value for enum in STATUSES.values() for status in enum})
        unknown = [status for status in value if status not in known]
        if unknown:
            raise ValueError(f"unknown status {unknown[0]!r}; use one of {', '.join(known)}")
        return value

    @field_validator("updated_after", "updated_before", "placed_after", "placed_before")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


POSTHOG_MEASURES = ("events", "unique_users", "ratio")
STRIPE_MEASURES = (
    "new_subscriptions",
    "cancelled_subscriptions",
    "net_subscriptions",
    "failed_payments",
    "refunds",
)
CALCULATIONS = ("total", "average", "median", "peak")
EVENT_NAME = r"^[^'\\]{1,200}$"


class MetricSourceSpec(Strict):
    """Where a metric item's value comes from, and how it is computed over its period."""

    provider: Literal["posthog", "stripe"] = Field(description="posthog or stripe.")
    measure: str = Field(
        description=(
            "PostHog: events, unique_users or ratio. Stripe: new_subscriptions, "
            "cancelled_subscriptions, net_subscriptions, failed_payments or refunds."
        )
    )
    event: str | None = Field(
        default=None,
        pattern=EVENT_NAME,
        description="PostHog event counted (events, unique_users) or the ratio's numerator.",
    )
    denominator_event: str | None = Field(
        default=None, pattern=EVENT_NAME, description="The ratio's denominator event (PostHog)."
    )
    ratio_of: Literal["events", "users"] = Field(
        default="events", description="A ratio of event counts or of unique users (PostHog)."
    )
    calculation: Literal["total", "average", "median", "peak"] = Field(
        default="total",
        description=(
            "Over the metric's evaluation period: the total, or the average, median or peak "
            "of its days."
        ),
    )
    properties: dict[
        Annotated[str, Field(pattern=r"^\$?[A-Za-z_][\w$]{0,99}$")],
        Annotated[str, Field(pattern=r"^[^'\\]{0,200}$")],
    ] = Field(default_factory=dict, description="Event properties that must equal these values.")

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, value: str) -> str:
        if value not in POSTHOG_MEASURES + STRIPE_MEASURES:
            raise ValueError(
                f"must be one of {', '.join(POSTHOG_MEASURES)} (PostHog) or "
                f"{', '.join(STRIPE_MEASURES)} (Stripe)"
            )
        return value

    @model_validator(mode="after")
    def _fits_provider(self) -> MetricSourceSpec:
        measures = POSTHOG_MEASURES if self.provider == "posthog" else STRIPE_MEASURES
        if self.measure not in measures:
            raise ValueError(
                f"measure: {self.measure!r} is not a {self.provider} measure "
                f"({', '.join(measures)})"
            )
        if self.provider == "posthog" and not self.event:
            raise ValueError("event: a PostHog measure needs the event it counts")
        if self.measure == "ratio" and not self.denominator_event:
            raise ValueError("denominator_event: a ratio needs the event it divides by")
        if self.provider == "stripe" and (self.event or self.denominator_event or self.properties):
            raise ValueError("event: Stripe measures take no event or properties")
        return self
