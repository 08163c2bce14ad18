"""The append-only change history of items and journeys."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from model.tables import ChangeEvent


def plain(value: Any) -> Any:
    """Return ``value`` as something JSON can hold."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def record(
    session: Session,
    *,
    workspace_id: int,
    entity: str,
    entity_id: int,
    action: str,
    summary: str,
    actor: str,
    journey_id: int | None = None,
    item_id: int | None = None,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> ChangeEvent:
    """Append one entry to the history; ``changes`` maps a field to its (old, new) values."""
    event = ChangeEvent(
        workspace_id=workspace_id,
        journey_id=journey_id,
        item_id=item_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        summary=summary[:500],
        changes={field: [plain(old), plain(new)] for field, (old, new) in (changes or {}).items()},
        actor=actor,
    )
    session.add(event)
    return event


def record_item(
    session: Session,
    item: Any,
    action: str,
    summary: str,
    actor: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> ChangeEvent:
    """Append an entry about the item itself to its history."""
    return record(
        session,
        workspace_id=item.workspace_id,
        item_id=item.id,
        entity="item",
        entity_id=item.id,
        action=action,
        summary=summary,
        actor=actor,
        changes=changes,
    )


def diff(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Return the fields of ``wanted`` whose values differ from ``current``."""
    return {
        field: (current.get(field), value)
        for field, value in wanted.items()
        if plain(current.get(field)) != plain(value)
    }
