"""Stages, steps, placements and links: the shape of a journey."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api.deps import MAX_ID, Editor, Id, SessionDep, Viewer
from api.schemas import Out
from model import repository
from model.errors import NotFound
from model.schemas import StageSpec, StepSpec
from model.services import items, journeys
from model.tables import ChangeEvent, Item, Stage, Step

router = APIRouter(tags=["structure"])


class StageOut(Out):
    id: int = Field(description="The stage's id.")
    name: str = Field(description="The stage's name.")
    description: str | None = Field(description="What happens in the stage.")
    position: int = Field(description="Order in the journey, from 0.")


class StepOut(Out):
    id: int = Field(description="The step's id.")
    stage_id: int = Field(description="The stage it sits in.")
    name: str = Field(description="The customer moment.")
    description: str | None = Field(description="More about the moment.")
    reached_when: str | None = Field(
        description="The PostHog event or HogQL condition marking a customer reaching it."
    )
    position: int = Field(description="Order in the stage, from 0.")


class NewStage(StageSpec):
    position: int | None = Field(default=None, ge=0, description="Where to insert (default: last).")


class NewStep(StepSpec):
    position: int | None = Field(default=None, ge=0, description="Where to insert (default: last).")


class Move(BaseModel):
    position: int = Field(ge=0, description="The new position, from 0.")
    stage_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Steps only: a stage of the same journey."
    )


class HistoryOut(Out):
    at: str = Field(description="When (UTC, ISO 8601).")
    actor: str = Field(description="Who made the change.")
    entity: str = Field(description="journey, stage, step, item, placement or link.")
    action: str = Field(description="What happened.")
    summary: str = Field(description="The change in words.")
    changes: dict[str, list[object]] = Field(description="Changed fields: [old, new].")


def _stage(session: SessionDep, workspace_id: int, stage_id: int) -> Stage:
    stage = repository.stage_by_id(session, workspace_id, stage_id)
    if stage is None:
        raise NotFound(f"no stage {stage_id} in this workspace")
    return stage


def _step(session: SessionDep, workspace_id: int, step_id: int) -> Step:
    step = repository.step_by_id(session, workspace_id, step_id)
    if step is None:
        raise NotFound(f"no step {step_id} in this workspace")
    return step


@router.post(
    "/journeys/{slug}/stages",
    response_model=StageOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a stage",
)
def add_stage(slug: str, body: NewStage, session: SessionDep, caller: Editor) -> Stage:
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    spec = StageSpec(name=body.name, description=body.description)
    return journeys.add_stage(session, journey, spec, caller.actor, position=body.position)


@router.post("/stages/{stage_id}/move", response_model=StageOut, summary="Move a stage")
def move_stage(stage_id: Id, body: Move, session: SessionDep, caller: Editor) -> Stage:
    stage = _stage(session, caller.workspace_id, stage_id)
    journeys.move_stage(session, stage, body.position, caller.actor)
    return stage


@router.delete(
    "/stages/{stage_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a stage and its steps",
)
def delete_stage(stage_id: Id, session: SessionDep, caller: Editor) -> None:
    journeys.delete_stage(session, _stage(session, caller.workspace_id, stage_id), caller.actor)


@router.post(
    "/stages/{stage_id}/steps",
    response_model=StepOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a step",
)
def add_step(stage_id: Id, body: NewStep, session: SessionDep, caller: Editor) -> Step:
    stage = _stage(session, caller.workspace_id, stage_id)
    spec = StepSpec(name=body.name, description=body.description, reached_when=body.reached_when)
    return journeys.add_step(session, stage, spec, caller.actor, position=body.position)


@router.post(
    "/steps/{step_id}/move", response_model=StepOut, summary="Move a step within its journey"
)
def move_step(step_id: Id, body: Move, session: SessionDep, caller: Editor) -> Step:
    step = _step(session, caller.workspace_id, step_id)
    if body.stage_id is not None:
        _stage(session, caller.workspace_id, body.stage_id)
    journeys.move_step(session, step, caller.actor, stage_id=body.stage_id, position=body.position)
    return step


@router.delete(
    "/steps/{step_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a step; its items stay",
)
def delete_step(step_id: Id, session: SessionDep, caller: Editor) -> None:
    journeys.delete_step(session, _step(session, caller.workspace_id, step_id), caller.actor)


@router.put(
    "/steps/{step_id}/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Place an item on a step",
)
def place(step_id: Id, item_id: Id, session: SessionDep, caller: Editor) -> None:
    step = _step(session, caller.workspace_id, step_id)
    items.place_item(
        session, items.get_item(session, caller.workspace_id, item_id), step, caller.actor
    )


@router.delete(
    "/steps/{step_id}/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an item from a step; the item stays",
)
def unplace(step_id: Id, item_id: Id, session: SessionDep, caller: Editor) -> None:
    step = _step(session, caller.workspace_id, step_id)
    items.remove_placement(
        session, items.get_item(session, caller.workspace_id, item_id), step, caller.actor
    )


@router.delete(
    "/journeys/{slug}/items/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an item from every step of a journey; it stays on other journeys",
)
def remove_from_journey(slug: str, item_id: Id, session: SessionDep, caller: Editor) -> None:
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    item = items.get_item(session, caller.workspace_id, item_id)
    items.remove_from_journey(session, item, journey.id, caller.actor)


@router.put(
    "/items/{source_id}/links/{target_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Link two items",
    responses={409: {"description": "A forbidden direction, or not in one journey."}},
)
def link(source_id: Id, target_id: Id, session: SessionDep, caller: Editor) -> None:
    items.link_items(
        session, *_pair(session, caller.workspace_id, source_id, target_id), caller.actor
    )


@router.delete(
    "/items/{source_id}/links/{target_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unlink two items",
)
def unlink(source_id: Id, target_id: Id, session: SessionDep, caller: Editor) -> None:
    items.unlink_items(
        session, *_pair(session, caller.workspace_id, source_id, target_id), caller.actor
    )


def _pair(
    session: SessionDep, workspace_id: int, source_id: int, target_id: int
) -> tuple[Item, Item]:
    return items.get_item(session, workspace_id, source_id), items.get_item(
        session, workspace_id, target_id
    )


def _history(events: list[ChangeEvent]) -> list[HistoryOut]:
    return [
        HistoryOut(
            at=event.at.isoformat(),
            actor=event.actor,
            entity=event.entity,
            action=event.action,
            summary=event.summary,
            changes={k: list(v) for k, v in (event.changes or {}).items()},
        )
        for event in events
    ]


@router.get(
    "/items/{item_id}/history", response_model=list[HistoryOut], summary="An item's change history"
)
def item_history(item_id: Id, session: SessionDep, caller: Viewer) -> list[HistoryOut]:
    item = items.get_item(session, caller.workspace_id, item_id)
    return _history(list(repository.item_history(session, item.id)))


@router.get(
    "/journeys/{slug}/history",
    response_model=list[HistoryOut],
    summary="A journey's change history",
)
def journey_history(slug: str, session: SessionDep, caller: Viewer) -> list[HistoryOut]:
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    return _history(list(repository.journey_history(session, journey.id)))
