"""Journeys and the map view."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import Editor, SessionDep, Viewer
from api.schemas import ItemOut, JourneyMap, JourneyOut, MapItem, MapStage, MapStep
from model import repository
from model.schemas import JourneySpec, parse
from model.services import journeys, views
from model.tables import Journey, Workspace

router = APIRouter(prefix="/journeys", tags=["journeys"])


@router.get("", response_model=list[JourneyOut], summary="List the workspace's journeys")
def list_journeys(session: SessionDep, caller: Viewer) -> list[Journey]:
    return list(repository.journeys(session, caller.workspace_id))


@router.post(
    "",
    response_model=JourneyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a journey",
    responses={409: {"description": "The slug is taken in this workspace."}},
)
def create_journey(body: JourneySpec, session: SessionDep, caller: Editor) -> Journey:
    workspace = session.get_one(Workspace, caller.workspace_id)
    return journeys.create_journey(
        session, workspace, parse(JourneySpec, body.model_dump()), caller.actor
    )


@router.get("/{slug}", response_model=JourneyOut, summary="Get a journey by slug")
def get_journey(slug: str, session: SessionDep, caller: Viewer) -> Journey:
    return journeys.get_journey(session, caller.workspace_id, slug)


@router.get(
    "/{slug}/map",
    response_model=JourneyMap,
    summary="The journey as a map: stages, steps and items grouped by type",
)
def journey_map(slug: str, session: SessionDep, caller: Viewer) -> JourneyMap:
    """Stages in order, each step with its items grouped by type, evidence counts and a
    friction score: the step's signal volume weighted by the worst severity of its insights
    (signals x (1 + severity / 5))."""
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    view = views.journey_view(session, journey)
    stages = []
    for stage_view in view.stages:
        steps = []
        for step_view in stage_view.steps:
            grouped: dict[str, list[MapItem]] = {}
            severity = 0
            for item in sorted(step_view.items, key=lambda i: (i.type, i.title)):
                grouped.setdefault(item.type, []).append(
                    MapItem(
                        item=ItemOut.model_validate(item),
                        building_block=view.is_building_block(item),
                        evidence=view.evidence.get(item.id, {}).get("count", 0),
                    )
                )
                if item.type == "insight" and item.severity:
                    severity = max(severity, item.severity)
            signals = view.signals_per_step.get(step_view.step.id, 0)
            steps.append(
                MapStep(
                    id=step_view.step.id,
                    name=step_view.step.name,
                    description=step_view.step.description,
                    position=step_view.step.position,
                    signals=signals,
                    friction=round(signals * (1 + severity / 5), 2),
                    items=grouped,
                )
            )
        stages.append(
            MapStage(
                id=stage_view.stage.id,
                name=stage_view.stage.name,
                position=stage_view.stage.position,
                steps=steps,
            )
        )
    return JourneyMap(journey=JourneyOut.model_validate(journey), stages=stages)
