"""Journeys and the map view."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Response, status

from api.deps import Editor, SessionDep, Viewer
from api.schemas import JourneyMap, JourneyOut
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
def journey_map(slug: str, session: SessionDep, caller: Viewer) -> Response:
    """Stages in order, each step with its items grouped by type, evidence counts and a
    friction score: the step's signal volume weighted by the worst severity of its insights
    (signals x (1 + severity / 5)), plus the drop-off into it in the latest funnel."""
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    body = views.journey_map(session, journey)
    body["journey"] = JourneyOut.model_validate(journey).model_dump(mode="json")
    # Built as plain values and encoded once: validating tens of thousands of cards through
    # the response model would cost more than reading them.
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")
