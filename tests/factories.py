"""Small builders for test data, through the same services the product uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from model.schemas import JourneySpec, StageSpec, StepSpec, WorkspaceSpec
from model.services import items, journeys, workspaces
from model.tables import Item, Journey, Stage, Step, Workspace

ACTOR = "tests"


def workspace(session: Session, slug: str = "acme") -> Workspace:
    return workspaces.create_workspace(session, WorkspaceSpec(name=slug.title(), slug=slug))


def journey(
    session: Session, ws: Workspace, name: str = "Trial to paid", stages: int = 2, steps: int = 2
) -> tuple[Journey, list[Stage], list[Step]]:
    """Create a journey with ``stages`` stages of ``steps`` steps each."""
    j = journeys.create_journey(session, ws, JourneySpec(name=name), ACTOR)
    all_stages, all_steps = [], []
    for s in range(stages):
        stage = journeys.add_stage(session, j, StageSpec(name=f"Stage {s}"), ACTOR)
        all_stages.append(stage)
        for t in range(steps):
            all_steps.append(
                journeys.add_step(session, stage, StepSpec(name=f"Step {s}.{t}"), ACTOR)
            )
    return j, all_stages, all_steps


def item(session: Session, ws: Workspace, item_type: str, title: str, **fields: Any) -> Item:
    return items.create_item(session, ws, {"type": item_type, "title": title, **fields}, ACTOR)


def placed(
    session: Session, ws: Workspace, step: Step, item_type: str, title: str, **fields: Any
) -> Item:
    new = item(session, ws, item_type, title, **fields)
    items.place_item(session, new, step, ACTOR)
    return new
