"""Ticket links: ask for follow-up in Linear or Jira, and see what became of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from api.deps import Editor, Id, SessionDep, Viewer
from api.schemas import Out
from model import repository
from model.services import items, tickets
from model.tables import TicketLink

router = APIRouter(tags=["tickets"])


class TicketOut(Out):
    id: int = Field(description="The ticket link's id.")
    item_id: int = Field(description="The item followed up.")
    tracker: str = Field(description="linear or jira.")
    destination: str | None = Field(description="Linear team key or Jira project key.")
    state: str = Field(
        description="requested (waiting for push-tickets), creating, linked or failed."
    )
    external_key: str | None = Field(description="The ticket's key, e.g. ENG-12 or OPS-3.")
    url: str | None = Field(description="The ticket in its tracker.")
    remote_status: str | None = Field(description="The ticket's status, as last read.")
    done: bool = Field(description="The ticket is done.")
    error: str | None = Field(description="Why the last attempt failed, and what to fix.")
    attempts: int = Field(description="Push attempts so far.")
    linked_at: datetime | None = Field(description="When the ticket was linked (UTC).")
    synced_at: datetime | None = Field(description="When its state was last read (UTC).")
    shipped_at: datetime | None = Field(description="When it was first seen done (UTC).")
    metric_before: dict[str, Any] | None = Field(
        description="Linked metrics when the ticket was created."
    )
    metric_after: dict[str, Any] | None = Field(
        description="Linked metrics when the ticket was done."
    )


class TicketRequest(BaseModel):
    tracker: Literal["linear", "jira"] = Field(description="Where the ticket goes.")


@router.get(
    "/items/{item_id}/tickets",
    response_model=list[TicketOut],
    summary="An item's tickets in Linear and Jira",
)
def item_tickets(item_id: Id, session: SessionDep, caller: Viewer) -> list[TicketLink]:
    item = items.get_item(session, caller.workspace_id, item_id)
    return list(repository.ticket_links_of_item(session, item.id))


@router.post(
    "/items/{item_id}/tickets",
    response_model=TicketOut,
    status_code=status.HTTP_201_CREATED,
    summary="Mark an opportunity or solution for follow-up in a tracker",
    responses={200: {"description": "It was marked already; the existing link."}},
)
def request_ticket(
    item_id: Id, body: TicketRequest, session: SessionDep, caller: Editor, response: Response
) -> TicketLink:
    """The push-tickets flow creates the ticket; asking twice never makes two. A failed link
    is asked for again."""
    item = items.get_item(session, caller.workspace_id, item_id)
    link, created = tickets.request_ticket(session, item, body.tracker, caller.actor)
    if not created:
        response.status_code = status.HTTP_200_OK
    return link


@router.get("/tickets", response_model=list[TicketOut], summary="The workspace's ticket links")
def list_tickets(
    session: SessionDep,
    caller: Viewer,
    state: list[Literal["requested", "creating", "linked", "failed"]] | None = Query(
        default=None, description="Keep links in these states (repeatable)."
    ),
) -> list[TicketLink]:
    return list(repository.ticket_links(session, caller.workspace_id, states=state))
