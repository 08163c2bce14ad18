"""What the API answers with; every field is described for the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class JourneyOut(Out):
    id: int = Field(description="The journey's id.")
    name: str = Field(description="The journey's name.")
    slug: str = Field(description="Unique in the workspace; made from the name.")
    description: str | None = Field(description="What the journey covers.")
    linear_team_key: str | None = Field(description="Default Linear team for follow-up.")
    jira_project_key: str | None = Field(description="Default Jira project for follow-up.")
    created_at: datetime = Field(description="When it was created (UTC).")
    updated_at: datetime = Field(description="When it last changed (UTC).")


class MapCard(Out):
    """What the map shows of an item; fields without a value are left out.

    `GET /items/{id}` has the rest of the item.
    """

    id: int = Field(description="The item's id.")
    key: str = Field(description="Stable reference, unique in the workspace.")
    type: str = Field(description="touchpoint, insight, opportunity, solution or metric.")
    title: str = Field(description="The item's title.")
    status: str = Field(description="One of the statuses of the item's type.")
    machine_made: bool = Field(description="Made by automation and not yet confirmed.")
    owner: str | None = Field(default=None, description="Owner (opportunity, solution, metric).")
    impact: int | None = Field(default=None, description="1-5 (opportunity, solution).")
    effort: int | None = Field(default=None, description="1-5 (opportunity, solution).")
    priority: str | None = Field(default=None, description="high, medium or low.")
    severity: int | None = Field(default=None, description="1-5 (insight).")
    confidence: str | None = Field(default=None, description="low, medium or high.")
    channel: str | None = Field(default=None, description="Touchpoint channel.")
    kind: str | None = Field(default=None, description="pain, need or gain (insight).")
    solution_type: str | None = Field(default=None, description="Solution type.")
    target_date: date | None = Field(default=None, description="Solution target date.")
    metric_type: str | None = Field(default=None, description="customer, business or operational.")
    unit: str | None = Field(default=None, description="Metric unit.")
    baseline: float | None = Field(default=None, description="Metric baseline.")
    current: float | None = Field(default=None, description="Metric current value.")
    target: float | None = Field(default=None, description="Metric target.")
    direction: str | None = Field(default=None, description="higher or lower is better.")


class ItemOut(MapCard):
    """An item whole: its card's fields and the rest."""

    description: str | None = Field(description="Longer text.")
    evaluation_period: str | None = Field(default=None, description="day, week, month or quarter.")
    external_links: list[dict[str, str]] = Field(description="Links outside journeyops.")
    updated_at: datetime = Field(description="When it last changed (UTC).")


class MapItem(BaseModel):
    item: MapCard = Field(description="The item placed on the step, as a card.")
    building_block: bool = Field(description="Placed on more than one step.")
    evidence: int = Field(description="Signals that are evidence on it.")


class MapStep(BaseModel):
    id: int = Field(description="The step's id.")
    name: str = Field(description="The customer moment.")
    description: str | None = Field(description="More about the moment.")
    position: int = Field(description="Order within the stage, from 0.")
    signals: int = Field(description="Signals placed on the step.")
    conversion: float | None = Field(
        description=(
            "Share of the previous funnel step's customers who reached this one, in the "
            "journey's latest funnel (steps with `reached_when` only)."
        )
    )
    friction: float = Field(
        description=(
            "signals x (1 + worst insight severity / 5), plus the funnel's drop-off into the "
            "step in percentage points."
        )
    )
    items: dict[str, list[MapItem]] = Field(description="Placed items, grouped by type.")


class MapStage(BaseModel):
    id: int = Field(description="The stage's id.")
    name: str = Field(description="The stage's name.")
    position: int = Field(description="Order within the journey, from 0.")
    steps: list[MapStep] = Field(description="The stage's steps, in order.")


class JourneyMap(BaseModel):
    journey: JourneyOut = Field(description="The journey.")
    stages: list[MapStage] = Field(description="Stages in order, each with its steps and items.")


class ErrorOut(BaseModel):
    detail: Any = Field(description="What was wrong and, where it helps, how to fix it.")
