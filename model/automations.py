"""What an automation is: one trigger, optional filters, and up to three actions.

These are the validated shapes of the YAML files, the CLI and the API. Structure is checked
here (a weekday that does not exist, an unknown placeholder, four actions); what depends on
the workspace or the settings (a journey that does not exist, a Slack URL not yet given, a
tracker without credentials) is said by ``services.automations.check`` before activation, so
a draft may be incomplete.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from model.enums import ItemType, Priority

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PRIORITY_ORDER = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}
WEBHOOK_PROVIDERS = ("stripe", "intercom", "posthog", "linear", "jira")
ITEM_FIELDS = (
    "title",
    "description",
    "status",
    "owner",
    "impact",
    "effort",
    "priority",
    "severity",
    "confidence",
    "current",
    "target",
    "target_date",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Triggers -----------------------------------------------------------------------------------


class ScheduleTrigger(Strict):
    """Runs on a clock; each run covers the time since the last successful one."""

    kind: Literal["schedule"] = "schedule"
    every: Literal["hourly", "daily", "weekly"] = Field(description="How often it runs.")
    at: str = Field(
        default="09:00", description="HH:MM in the timezone (hourly runs use the minutes)."
    )
    weekdays: list[Weekday] = Field(
        default_factory=list, description="Days a weekly schedule runs on (mon..sun)."
    )
    timezone: str = Field(default="UTC", description="IANA timezone, e.g. Europe/Berlin.")

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"at: {value!r} is not a time of day like 09:00") from None
        if not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError(f"at: write the time as HH:MM, not {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone: {value!r} is not an IANA timezone (e.g. UTC, Europe/Berlin)"
            ) from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=WEEKDAYS.index)

    def cron(self) -> str:
        """The schedule as a cron expression (read in ``timezone``)."""
        moment = time.fromisoformat(self.at)
        if self.every == "hourly":
            return f"{moment.minute} * * * *"
        if self.every == "daily":
            return f"{moment.minute} {moment.hour} * * *"
        return f"{moment.minute} {moment.hour} * * {','.join(self.weekdays) or '*'}"

    def describe(self) -> str:
        if self.every == "hourly":
            return f"hourly at :{self.at[3:]}"
        days = f" on {', '.join(self.weekdays)}" if self.every == "weekly" else ""
        return f"{self.every}{days} at {self.at} {self.timezone}"


class ItemTrigger(Strict):
    """Runs when an item is created, changed, or moves to a status."""

    kind: Literal["item_created", "item_updated", "status_changed"]
    to_status: str | None = Field(
        default=None, description="For status_changed: only moves to this status."
    )

    def describe(self) -> str:
        what = self.kind.replace("_", " ")
        return f"{what} to {self.to_status}" if self.to_status else what


class ThresholdTrigger(Strict):
    """Runs when a condition becomes true: on an item (all of the given conditions at once),
    or on a step's evidence within a window."""

    kind: Literal["threshold"] = "threshold"
    impact_at_least: int | None = Field(default=None, ge=1, le=5)
    effort_at_most: int | None = Field(default=None, ge=1, le=5)
    priority_at_least: Priority | None = None
    evidence_at_least: int | None = Field(
        default=None, ge=1, description="Signals placed on one step within window_days."
    )
    window_days: int = Field(default=7, ge=1, le=90)

    @model_validator(mode="after")
    def _one_kind(self) -> ThresholdTrigger:
        item = [self.impact_at_least, self.effort_at_most, self.priority_at_least]
        if self.evidence_at_least is None and all(value is None for value in item):
            raise ValueError(
                "a threshold needs impact_at_least, effort_at_most, priority_at_least or "
                "evidence_at_least"
            )
        if self.evidence_at_least is not None and any(value is not None for value in item):
            raise ValueError(
                "evidence_at_least is about a step, the others about an item: use one kind "
                "per automation"
            )
        return self

    @property
    def on_evidence(self) -> bool:
        return self.evidence_at_least is not None

    def holds(self, values: dict[str, Any]) -> bool:
        """Whether an item with these values meets every condition."""
        impact, effort, priority = (
            values.get("impact"),
            values.get("effort"),
            values.get("priority"),
        )
        if self.impact_at_least is not None and (impact is None or impact < self.impact_at_least):
            return False
        if self.effort_at_most is not None and (effort is None or effort > self.effort_at_most):
            return False
        if self.priority_at_least is not None:
            rank = PRIORITY_ORDER.get(Priority(priority)) if priority else None
            if rank is None or rank < PRIORITY_ORDER[self.priority_at_least]:
                return False
        return True

    def describe(self) -> str:
        if self.evidence_at_least is not None:
            return f"{self.evidence_at_least}+ signals on a step within {self.window_days} days"
        parts = []
        if self.impact_at_least is not None:
            parts.append(f"impact >= {self.impact_at_least}")
        if self.effort_at_most is not None:
            parts.append(f"effort <= {self.effort_at_most}")
        if self.priority_at_least is not None:
            parts.append(f"priority >= {self.priority_at_least.value}")
        return " and ".join(parts)


class WebhookTrigger(Strict):
    """Runs for each processed webhook delivery from a provider (of the given types)."""

    kind: Literal["webhook"] = "webhook"
    provider: Literal["stripe", "intercom", "posthog", "linear", "jira"]
    event_types: list[str] = Field(
        default_factory=list,
        description="Delivery types, e.g. invoice.payment_failed; empty means any.",
    )

    def describe(self) -> str:
        types = ", ".join(self.event_types) or "any"
        return f"{self.provider} webhook ({types})"


Trigger = Annotated[
    ScheduleTrigger | ItemTrigger | ThresholdTrigger | WebhookTrigger, Field(discriminator="kind")
]
TRIGGER_KINDS = (
    "schedule",
    "item_created",
    "item_updated",
    "status_changed",
    "threshold",
    "webhook",
)


class Filters(Strict):
    """Narrow which items (or steps) a trigger fires for; all given filters must hold."""

    journeys: list[str] = Field(default_factory=list, description="Journey slugs.")
    item_types: list[ItemType] = Field(default_factory=list)
    statuses: list[str] = Field(default_factory=list)
    impact_min: int | None = Field(default=None, ge=1, le=5)
    impact_max: int | None = Field(default=None, ge=1, le=5)
    effort_min: int | None = Field(default=None, ge=1, le=5)
    effort_max: int | None = Field(default=None, ge=1, le=5)
    changed_fields: list[str] = Field(
        default_factory=list, description="For item triggers: at least one of these changed."
    )

    @field_validator("changed_fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ITEM_FIELDS))
        if unknown:
            raise ValueError(f"changed_fields: {unknown} are not item fields; use {ITEM_FIELDS}")
        return value

    def admits(self, values: dict[str, Any], journeys: set[str], changed: set[str]) -> bool:
        """Whether an item (its values, the journeys it is on, the fields that changed) passes."""
        if self.journeys and not journeys & set(self.journeys):
            return False
        if self.item_types and values.get("type") not in self.item_types:
            return False
        if self.statuses and values.get("status") not in self.statuses:
            return False
        for name, low, high in (
            ("impact", self.impact_min, self.impact_max),
            ("effort", self.effort_min, self.effort_max),
        ):
            if low is None and high is None:
                continue
            value = values.get(name)
            if value is None or (low is not None and value < low):
                return False
            if high is not None and value > high:
                return False
        return not (self.changed_fields and not changed & set(self.changed_fields))


# Actions ------------------------------------------------------------------------------------


class PullAction(Strict):
    """Pull sources into signals now."""

    type: Literal["pull"] = "pull"
    sources: list[Literal["stripe", "intercom", "posthog"]] = Field(
        default_factory=list, description="Empty: every enabled source."
    )


class ClassifyAction(Strict):
    """Place new signals on a journey's steps and group them into insights."""

    type: Literal["classify"] = "classify"
    journey: str | None = Field(default=None, description="Default: the filters' journeys.")


ANALYTICS_MEASURES = {
    "posthog": ("event_volume", "top_events"),
    "stripe": ("new_subscriptions", "cancelled_subscriptions", "failed_payments", "refunds"),
}


class AnalyticsAction(Strict):
    """Read PostHog or Stripe over a window, compare it with the window before, and keep the
    summary as a signal with a recommended item type."""

    type: Literal["analytics"] = "analytics"
    provider: Literal["posthog", "stripe"]
    measure: str = Field(description="posthog: event_volume, top_events; stripe: see ANALYTICS.")
    event: str | None = Field(default=None, description="For event_volume: the event name.")
    window_days: int = Field(default=7, ge=1, le=90)
    change_threshold: float = Field(
        default=0.2, gt=0, description="A change beyond this share recommends an insight."
    )
    journey: str | None = Field(default=None, description="Journey the signal belongs to.")
    step: str | None = Field(default=None, description="Step (name) the signal is placed on.")
    only_on_change: bool = Field(
        default=False,
        description="Later actions run only when the change passes change_threshold.",
    )

    @model_validator(mode="after")
    def _measure(self) -> AnalyticsAction:
        allowed = ANALYTICS_MEASURES[self.provider]
        if self.measure not in allowed:
            raise ValueError(f"measure: {self.provider} offers {', '.join(allowed)}")
        return self


class TicketAction(Strict):
    """Create a Linear or Jira issue for the triggering item, or for the opportunities and
    solutions on a chosen step that have none yet."""

    type: Literal["ticket"] = "ticket"
    tracker: Literal["linear", "jira"]
    journey: str | None = Field(default=None, description="With step: the step's journey.")
    step: str | None = Field(default=None, description="A step name instead of the item.")


MESSAGE_PLACEHOLDERS = (
    "automation",
    "workspace",
    "journey",
    "since",
    "until",
    "cause",
    "item",
    "item_url",
    "step",
    "pulse",
    "results",
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class MessageAction(Strict):
    """Post to a Slack or Discord incoming webhook: a template, or an LLM-drafted summary."""

    type: Literal["message"] = "message"
    channel: Literal["slack", "discord"]
    webhook_url: str | None = Field(
        default=None,
        description="The incoming webhook URL; stored encrypted and never shown again.",
    )
    template: str | None = Field(
        default=None,
        max_length=4000,
        description="Text with {placeholders}: " + ", ".join(MESSAGE_PLACEHOLDERS),
    )
    draft: Literal["template", "llm"] = Field(
        default="template", description="llm: the configured model writes the summary."
    )
    journey: str | None = Field(default=None, description="Journey the pulse covers.")

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        unknown = sorted(set(_PLACEHOLDER.findall(value)) - set(MESSAGE_PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"template: unknown placeholders {unknown}; use {', '.join(MESSAGE_PLACEHOLDERS)}"
            )
        return value

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+/\S+$", value):
            raise ValueError("webhook_url: give the full incoming webhook address (https://...)")
        return value


class UpdateJourneyAction(Strict):
    """An LLM reads the journey's recent signals and proposes items, added as machine-made
    until a person confirms them."""

    type: Literal["update_journey"] = "update_journey"
    journey: str | None = Field(default=None, description="Default: the filters' journeys.")
    max_items: int = Field(default=5, ge=1, le=20)


Action = Annotated[
    PullAction
    | ClassifyAction
    | AnalyticsAction
    | TicketAction
    | MessageAction
    | UpdateJourneyAction,
    Field(discriminator="type"),
]


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{placeholders}`` from plain strings (no attribute access, nothing evaluated)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


class AutomationSpec(Strict):
    """An automation as a file, the CLI or the API declare it."""

    name: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str | None = None
    trigger: Trigger
    filters: Filters = Field(default_factory=Filters)
    actions: list[Action] = Field(min_length=1, max_length=3)


# Templates ----------------------------------------------------------------------------------

PULSE_TEMPLATE = "*{journey}: weekly pulse* ({since} to {until})\n{pulse}\nAutomation: {automation}"


def templates(journey: str | None) -> dict[str, dict[str, Any]]:
    """The starting points a team picks from; each becomes a draft to complete."""
    return {
        "weekly-pulse": {
            "name": "Weekly journey pulse",
            "description": "Every Monday morning, what moved on the journey, in Slack.",
            "trigger": {"kind": "schedule", "every": "weekly", "weekdays": ["mon"], "at": "09:00"},
            "filters": {"journeys": [journey] if journey else []},
            "actions": [{"type": "message", "channel": "slack", "template": PULSE_TEMPLATE}],
        },
        "posthog-drift": {
            "name": "PostHog event drift",
            "description": "Daily: an event's volume against the week before, kept as a signal.",
            "trigger": {"kind": "schedule", "every": "daily", "at": "07:00"},
            "filters": {"journeys": [journey] if journey else []},
            "actions": [
                {
                    "type": "analytics",
                    "provider": "posthog",
                    "measure": "event_volume",
                    "window_days": 7,
                    "journey": journey,
                }
            ],
        },
        "quick-wins": {
            "name": "Quick wins to Linear",
            "description": "An opportunity or solution with impact >= 4 and effort <= 2 "
            "becomes a Linear issue.",
            "trigger": {"kind": "threshold", "impact_at_least": 4, "effort_at_most": 2},
            "filters": {
                "journeys": [journey] if journey else [],
                "item_types": ["opportunity", "solution"],
            },
            "actions": [{"type": "ticket", "tracker": "linear"}],
        },
        "failed-payment-spike": {
            "name": "Failed-payment spike to Slack",
            "description": "Hourly: failed Stripe payments of the last day against the day "
            "before; a rise of half or more is told to the team.",
            "trigger": {"kind": "schedule", "every": "hourly", "at": "00:05"},
            "actions": [
                {
                    "type": "analytics",
                    "provider": "stripe",
                    "measure": "failed_payments",
                    "window_days": 1,
                    "change_threshold": 0.5,
                    "only_on_change": True,
                    "journey": journey,
                },
                {
                    "type": "message",
                    "channel": "slack",
                    "template": "Failed payments: {results}\nAutomation: {automation}",
                },
            ],
        },
    }


TEMPLATE_NAMES = ("weekly-pulse", "posthog-drift", "quick-wins", "failed-payment-spike")
