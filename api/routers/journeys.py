"""Journeys and the map view."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Request, Response, status

from api.deps import Editor, SessionDep, Viewer
from api.rendered import RenderedViews
from api.schemas import JourneyMap, JourneyOut
from model import repository
from model.schemas import JourneySpec, parse
from model.services import journeys, views
from model.tables import Journey, Workspace

router = APIRouter(prefix="/journeys", tags=["journeys"])

# Part of every map's entity tag, so an upgrade that changes the map's shape changes the tag.
_RELEASE = version("journeyops")


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
    responses={
        304: {"description": "The map has not changed since the version If-None-Match names."}
    },
)
def journey_map(
    slug: str,
    request: Request,
    session: SessionDep,
    caller: Viewer,
    if_none_match: Annotated[
        str | None,
        Header(description="The ETag of a map you hold: 304 without a body if it is current."),
    ] = None,
) -> Response:
    """Stages in order, each step with its items grouped by type, evidence counts and a
    friction score: the step's signal volume weighted by the worst severity of its insights
    (signals x (1 + severity / 5)), plus the drop-off into it in the latest funnel.

    The answer carries an ETag that changes whenever anything the map shows changes; send it
    back in If-None-Match to get 304 while the map is current."""
    # The revision first: whatever is read after it is at least as new, so a map is never
    # kept under a revision newer than its contents.
    revision = repository.workspace_revision(session, caller.workspace_id)
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    etag = f'"map-{journey.id}-{revision}-{_RELEASE}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if if_none_match and (
        if_none_match.strip() == "*"
        or etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    ):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    rendered: RenderedViews = request.app.state.rendered
    body = rendered.get(("map", journey.id), revision)
    if body is None:
        content = views.journey_map(session, journey)
        content["journey"] = JourneyOut.model_validate(journey).model_dump(mode="json")
        # Built as plain values and encoded once: validating tens of thousands of cards
        # through the response model would cost more than reading them.
        body = orjson.dumps(content, option=orjson.OPT_UTC_Z)
        rendered.put(("map", journey.id), revision, body)
    return Response(body, media_type="application/json", headers=headers)
