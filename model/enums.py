"""The closed vocabularies of the journey model."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"

    def allows(self, needed: Role) -> bool:
        """Return whether this role may do what ``needed`` may do."""
        order = [Role.VIEWER, Role.EDITOR, Role.OWNER]
        return order.index(self) >= order.index(needed)


class ItemType(StrEnum):
    TOUCHPOINT = "touchpoint"
    INSIGHT = "insight"
    OPPORTUNITY = "opportunity"
    SOLUTION = "solution"
    METRIC = "metric"


class TouchpointStatus(StrEnum):
    EXISTS = "exists"
    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"
    DEPRECATED = "deprecated"


class InsightStatus(StrEnum):
    NEW = "new"
    ASSUMPTION = "assumption"
    OBSERVED = "observed"
    VALIDATED = "validated"
    ARCHIVED = "archived"


class OpportunityStatus(StrEnum):
    NEW = "new"
    FRAMED = "framed"
    PRIORITIZED = "prioritized"
    PARKED = "parked"
    CLOSED = "closed"


class SolutionStatus(StrEnum):
    IDEA = "idea"
    PROPOSED = "proposed"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SHIPPED = "shipped"
    VALIDATED = "validated"
    REJECTED = "rejected"


class MetricStatus(StrEnum):
    DRAFT = "draft"
    DEFINED = "defined"
    ACTIVE = "active"
    BROKEN = "broken"
    DEPRECATED = "deprecated"


STATUSES: dict[ItemType, type[StrEnum]] = {
    ItemType.TOUCHPOINT: TouchpointStatus,
    ItemType.INSIGHT: InsightStatus,
    ItemType.OPPORTUNITY: OpportunityStatus,
    ItemType.SOLUTION: SolutionStatus,
    ItemType.METRIC: MetricStatus,
}

DEFAULT_STATUS: dict[ItemType, str] = {
    ItemType.TOUCHPOINT: TouchpointStatus.EXISTS,
    ItemType.INSIGHT: InsightStatus.NEW,
    ItemType.OPPORTUNITY: OpportunityStatus.NEW,
    ItemType.SOLUTION: SolutionStatus.IDEA,
    ItemType.METRIC: MetricStatus.DRAFT,
}


class Channel(StrEnum):
    WEBSITE = "website"
    APP = "app"
    EMAIL = "email"
    SALES_CALL = "sales_call"
    SUPPORT = "support"
    DOCS = "docs"
    STORE = "store"
    OTHER = "other"


class InsightKind(StrEnum):
    PAIN = "pain"
    NEED = "need"
    GAIN = "gain"


class Level(StrEnum):
    """Low / medium / high, for confidence, buying influence and tech savviness."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class SolutionType(StrEnum):
    IDEA = "idea"
    EXPERIMENT = "experiment"
    FEATURE = "feature"
    PROCESS = "process"
    CONTENT = "content"
    SERVICE = "service"


class MetricType(StrEnum):
    CUSTOMER = "customer"
    BUSINESS = "business"
    OPERATIONAL = "operational"


class MetricUnit(StrEnum):
    PERCENT = "%"
    SCORE = "score"
    COUNT = "count"
    TIME = "time"
    CURRENCY = "currency"
    OTHER = "other"


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class EvaluationPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class JourneyRole(StrEnum):
    END_USER = "end_user"
    TEAM_ADMIN = "team_admin"
    MANAGER = "manager"
    BUYER = "buyer"
    APPROVER = "approver"
    CHAMPION = "champion"


class PersonaLinkRole(StrEnum):
    """How a persona relates to an item: the touchpoint's actor or the insight's segment."""

    ACTOR = "actor"
    SEGMENT = "segment"


class SignalSource(StrEnum):
    POSTHOG = "posthog"
    INTERCOM = "intercom"
    STRIPE = "stripe"
    IMPORT = "import"
    MANUAL = "manual"


class SignalState(StrEnum):
    NEW = "new"
    CLASSIFIED = "classified"
    NEEDS_REVIEW = "needs_review"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    IGNORED = "ignored"


# Which item types may link to which: source type -> allowed target types.
ALLOWED_LINKS: dict[ItemType, frozenset[ItemType]] = {
    ItemType.TOUCHPOINT: frozenset({ItemType.INSIGHT}),
    ItemType.INSIGHT: frozenset({ItemType.OPPORTUNITY}),
    ItemType.OPPORTUNITY: frozenset({ItemType.SOLUTION, ItemType.METRIC}),
    ItemType.SOLUTION: frozenset({ItemType.METRIC}),
    ItemType.METRIC: frozenset(),
}


def values(enum: type[StrEnum]) -> list[str]:
    """Return the stored values of an enum, in declaration order."""
    return [member.value for member in enum]
