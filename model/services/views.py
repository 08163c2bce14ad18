"""Read-only views of a journey: one row per placement, and the journey as a tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from model import repository
from model.services.history import plain
from model.tables import Item, Journey, Stage, Step

TABLE_COLUMNS = [
    "stage",
    "step",
    "key",
    "type",
    "title",
    "status",
    "owner",
    "priority",
    "impact",
    "effort",
    "severity",
    "confidence",
    "channel",
    "baseline",
    "current",
    "target",
    "unit",
    "building_block",
    "machine_made",
    "placed_at",
    "updated_at",
]


@dataclass
class StepView:
    step: Step
    items: list[Item] = field(default_factory=list)


@dataclass
class StageView:
    stage: Stage
    steps: list[StepView] = field(default_factory=list)


@dataclass
class JourneyView:
    """A journey loaded whole: stages, steps, placed items, links and reuse counts."""

    journey: Journey
    stages: list[StageView]
    links: dict[int, list[Item]]
    placements_per_item: dict[int, int]
    placed_at: dict[tuple[int, int], datetime]
    signals_per_step: dict[int, int] = field(default_factory=dict)
    evidence: dict[int, dict[str, Any]] = field(default_factory=dict)

    def is_building_block(self, item: Item) -> bool:
        return self.placements_per_item.get(item.id, 0) > 1


def journey_view(session: Session, journey: Journey) -> JourneyView:
    """Load a journey for display in a fixed number of queries."""
    stages = repository.journey_tree(session, journey.id)
    placements = repository.placements_of_journey(session, journey.id)
    on_step: dict[int, list[Item]] = {}
    placed: dict[int, Item] = {}
    for placement in placements:
        on_step.setdefault(placement.step_id, []).append(placement.item)
        placed[placement.item_id] = placement.item
    links: dict[int, list[Item]] = {}
    for link in repository.links_between(session, list(placed)):
        links.setdefault(link.source_id, []).append(placed[link.target_id])
    counts = repository.placement_counts(session, list(placed))
    return JourneyView(
        journey=journey,
        stages=[
            StageView(
                stage=stage,
                steps=[StepView(step=step, items=on_step.get(step.id, [])) for step in stage.steps],
            )
            for stage in stages
        ],
        links=links,
        placements_per_item=counts,
        placed_at={(p.item_id, p.step_id): p.created_at for p in placements},
        signals_per_step=repository.step_signal_counts(session, journey.id),
        evidence=repository.evidence_summary(session, list(placed)),
    )


def placement_rows(session: Session, journey: Journey) -> list[dict[str, Any]]:
    """Return one row per placement on the journey, in journey order."""
    view = journey_view(session, journey)
    rows = []
    for stage_view in view.stages:
        for step_view in stage_view.steps:
            for item in sorted(step_view.items, key=lambda i: (i.type, i.title)):
                row: dict[str, Any] = {
                    "stage": stage_view.stage.name,
                    "step": step_view.step.name,
                    "building_block": view.is_building_block(item),
                    "placed_at": view.placed_at[(item.id, step_view.step.id)],
                }
                for column in TABLE_COLUMNS:
                    if column not in row:
                        row[column] = getattr(item, column)
                rows.append({k: plain(v) for k, v in row.items()})
    return rows
