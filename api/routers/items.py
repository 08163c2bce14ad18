"""Items of the five types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, status

from api.deps import Editor, Id, SessionDep, Viewer
from api.schemas import ItemOut
from model.services import items
from model.tables import Item, Workspace

router = APIRouter(prefix="/items", tags=["items"])

ITEM_EXAMPLE = {
    "type": "insight",
    "title": "Non-technical admins stall at API credentials",
    "kind": "pain",
    "severity": 4,
    "status": "observed",
}


@router.post(
    "",
    response_model=ItemOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an item",
    responses={409: {"description": "The key is taken in this workspace."}},
)
def create_item(
    session: SessionDep,
    caller: Editor,
    body: dict[str, Any] = Body(
        ...,
        examples=[ITEM_EXAMPLE],
        description="An item: `type`, `title` and the fields and status of its type.",
    ),
) -> Item:
    workspace = session.get_one(Workspace, caller.workspace_id)
    return items.create_item(session, workspace, body, caller.actor)


@router.get("/{item_id}", response_model=ItemOut, summary="Get an item")
def get_item(item_id: Id, session: SessionDep, caller: Viewer) -> Item:
    return items.get_item(session, caller.workspace_id, item_id)


@router.patch("/{item_id}", response_model=ItemOut, summary="Change an item's fields")
def update_item(
    item_id: Id,
    session: SessionDep,
    caller: Editor,
    body: dict[str, Any] = Body(..., examples=[{"status": "validated", "severity": 5}]),
) -> Item:
    item = items.get_item(session, caller.workspace_id, item_id)
    items.update_item(session, item, body, caller.actor)
    return item


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an item everywhere (a building block's source included)",
)
def delete_item(item_id: Id, session: SessionDep, caller: Editor) -> None:
    """The item goes from every step of every journey it is placed on, with its links and
    evidence; its history keeps the deletion."""
    item = items.get_item(session, caller.workspace_id, item_id)
    items.delete_item(session, item, caller.actor)
