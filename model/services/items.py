"""Items of the five types, their placements on steps and the links between them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from model import repository
from model.enums import ALLOWED_LINKS, ItemType
from model.errors import Conflict, InvalidInput, NotFound
from model.schemas import ITEM_SPECS, PERSONA_FIELDS, ItemSpec, parse_item
from model.services import history
from model.slugs import slugify, unique_slug
from model.tables import ITEM_CLASSES, Item, ItemLink, ItemPersona, Placement, Step, Workspace

KEY_LENGTH = 120


def item_values(item: Item) -> dict[str, Any]:
    """Return an item as the plain fields of its type's spec (persona names included)."""
    spec = ITEM_SPECS[ItemType(item.type)]
    values: dict[str, Any] = {}
    for field in spec.model_fields:
        if field in PERSONA_FIELDS:
            role = PERSONA_FIELDS[field]
            values[field] = sorted(p.persona.name for p in item.personas if p.role == role)
        else:
            values[field] = getattr(item, field)
    return values


def _columns(spec: ItemSpec) -> dict[str, Any]:
    data = spec.model_dump(mode="python", exclude=set(PERSONA_FIELDS) | {"key", "type"})
    data["external_links"] = [link.model_dump(exclude_none=True) for link in spec.external_links]
    return data


def _persona_links(session: Session, item: Item, spec: ItemSpec) -> list[ItemPersona]:
    links = []
    for field, role in PERSONA_FIELDS.items():
        for name in getattr(spec, field, []):
            persona = repository.persona_by_name(session, item.workspace_id, name)
            if persona is None:
                raise InvalidInput(
                    f"{field}: persona {name!r} does not exist in this workspace; add it first",
                    field=field,
                )
            links.append(ItemPersona(item_id=item.id, persona_id=persona.id, role=role))
    return links


def _new_key(session: Session, workspace_id: int, item_type: str, title: str) -> str:
    stem = slugify(f"{item_type} {title}", max_length=KEY_LENGTH - 4) or item_type
    return unique_slug(
        stem, repository.item_keys_like(session, workspace_id, stem), max_length=KEY_LENGTH
    )


def create_item(
    session: Session, workspace: Workspace, data: dict[str, Any] | ItemSpec, actor: str
) -> Item:
    """Create an item of any type from validated fields."""
    spec = data if not isinstance(data, dict) else parse_item(data)
    if spec.key is not None and repository.item_by_key(session, workspace.id, spec.key):
        raise Conflict(f"key: an item with key {spec.key!r} exists in this workspace", field="key")
    key = spec.key or _new_key(session, workspace.id, spec.type, spec.title)
    item = ITEM_CLASSES[ItemType(spec.type)](
        workspace_id=workspace.id,
        key=key,
        created_by=actor,
        updated_by=actor,
        **_columns(spec),
    )
    session.add(item)
    session.flush()
    session.add_all(_persona_links(session, item, spec))
    session.flush()
    history.record_item(
        session,
        item,
        "created",
        f"created {item.type} {item.title!r}",
        actor,
    )
    return get_item(session, workspace.id, item.id)


def get_item(session: Session, workspace_id: int, item_id: int) -> Item:
    item = repository.item_by_id(session, workspace_id, item_id)
    if item is None:
        raise NotFound(f"no item {item_id} in this workspace")
    return item


def get_item_by_key(session: Session, workspace_id: int, key: str) -> Item:
    item = repository.item_by_key(session, workspace_id, key)
    if item is None:
        raise NotFound(f"no item with key {key!r} in this workspace")
    return item


def update_item(
    session: Session, item: Item, changes: dict[str, Any], actor: str
) -> dict[str, tuple[Any, Any]]:
    """Change an item's fields, validated against its type; returns what changed.

    A building block has one row, so every placement shows the change.
    """
    if "type" in changes and changes["type"] != item.type:
        raise InvalidInput(
            f"type: an item's type cannot change (this one is a {item.type}); "
            "create a new item instead",
            field="type",
        )
    current = item_values(item)
    spec = parse_item({**current, **changes, "type": item.type})
    if "key" in changes and spec.key != item.key:
        if spec.key is None:
            raise InvalidInput("key: an item always has a key", field="key")
        if repository.item_by_key(session, item.workspace_id, spec.key) is not None:
            raise Conflict(f"key: {spec.key!r} is taken in this workspace", field="key")
    wanted = {
        field: value for field, value in item_values_from_spec(spec).items() if field in changes
    }
    changed = history.diff(current, wanted)
    if not changed:
        return {}
    columns = _columns(spec)
    for field in changed:
        if field in PERSONA_FIELDS:
            continue
        setattr(item, field, spec.key if field == "key" else columns[field])
    if any(field in PERSONA_FIELDS for field in changed):
        for link in list(item.personas):
            session.delete(link)
        session.flush()
        session.add_all(_persona_links(session, item, spec))
    item.updated_by = actor
    session.flush()
    history.record_item(
        session,
        item,
        "status_changed" if set(changed) == {"status"} else "updated",
        f"updated {item.type} {item.title!r}: {', '.join(sorted(changed))}",
        actor,
        changes=changed,
    )
    session.expire(item, ["personas"])
    return changed


def item_values_from_spec(spec: ItemSpec) -> dict[str, Any]:
    """Return a validated spec as the same plain fields ``item_values`` gives."""
    values = spec.model_dump(mode="python")
    values["external_links"] = [link.model_dump(exclude_none=True) for link in spec.external_links]
    for field in PERSONA_FIELDS:
        if field in values:
            values[field] = sorted(values[field])
    return values


def delete_item(session: Session, item: Item, actor: str) -> None:
    """Delete an item everywhere: its placements, links and evidence go with it."""
    journey_ids = repository.journey_ids_of_item(session, item.id)
    history.record_item(
        session,
        item,
        "deleted",
        f"deleted {item.type} {item.title!r} from {len(journey_ids)} journey(s)",
        actor,
    )
    session.delete(item)
    session.flush()


# Placements ---------------------------------------------------------------------------------


def place_item(session: Session, item: Item, step: Step, actor: str) -> tuple[Placement, bool]:
    """Put an item on a step; placing it again is a no-op. Returns it and whether it is new."""
    existing = repository.placement(session, item.id, step.id)
    if existing is not None:
        return existing, False
    placement = Placement(
        workspace_id=item.workspace_id,
        item_id=item.id,
        step_id=step.id,
        journey_id=step.journey_id,
        created_by=actor,
    )
    session.add(placement)
    session.flush()
    history.record(
        session,
        workspace_id=item.workspace_id,
        journey_id=step.journey_id,
        item_id=item.id,
        entity="placement",
        entity_id=placement.id,
        action="placed",
        summary=f"placed {item.type} {item.title!r} on step {step.name!r}",
        actor=actor,
    )
    return placement, True


def remove_placement(session: Session, item: Item, step: Step, actor: str) -> None:
    """Take an item off a step; the item itself stays in the workspace."""
    placement = repository.placement(session, item.id, step.id)
    if placement is None:
        raise NotFound(f"{item.type} {item.title!r} is not placed on step {step.name!r}")
    history.record(
        session,
        workspace_id=item.workspace_id,
        journey_id=step.journey_id,
        item_id=item.id,
        entity="placement",
        entity_id=placement.id,
        action="unplaced",
        summary=f"removed {item.type} {item.title!r} from step {step.name!r}",
        actor=actor,
    )
    session.delete(placement)
    session.flush()


def remove_from_journey(session: Session, item: Item, journey_id: int, actor: str) -> int:
    """Take an item off every step of one journey; it stays on other journeys. Returns how
    many placements went."""
    placements = repository.placements_of_item_in_journey(session, item.id, journey_id)
    if not placements:
        raise NotFound(f"{item.type} {item.title!r} is not placed on this journey")
    for placement in placements:
        history.record(
            session,
            workspace_id=item.workspace_id,
            journey_id=journey_id,
            item_id=item.id,
            entity="placement",
            entity_id=placement.id,
            action="unplaced",
            summary=f"removed {item.type} {item.title!r} from step {placement.step.name!r}",
            actor=actor,
        )
        session.delete(placement)
    session.flush()
    return len(placements)


def is_building_block(session: Session, item: Item) -> bool:
    """Return whether the item is reused on more than one step."""
    return repository.placement_count(session, item.id) > 1


# Links --------------------------------------------------------------------------------------


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def allowed_links_text() -> str:
    return ", ".join(
        f"{source.value} -> {target.value}"
        for source, targets in ALLOWED_LINKS.items()
        for target in sorted(targets)
    )


def link_items(session: Session, source: Item, target: Item, actor: str) -> tuple[ItemLink, bool]:
    """Link two items along an allowed direction, both placed in one journey."""
    if source.workspace_id != target.workspace_id:
        raise NotFound(f"no item {target.id} in this workspace")
    if source.id == target.id:
        raise Conflict("an item cannot link to itself")
    if ItemType(target.type) not in ALLOWED_LINKS[ItemType(source.type)]:
        raise Conflict(
            f"{_a(source.type)} cannot link to {_a(target.type)}; links go {allowed_links_text()}"
        )
    existing = repository.link(session, source.id, target.id)
    if existing is not None:
        return existing, False
    shared = repository.journey_ids_of_item(session, source.id) & repository.journey_ids_of_item(
        session, target.id
    )
    if not shared:
        raise Conflict(
            f"{source.type} {source.title!r} and {target.type} {target.title!r} are not placed "
            "in the same journey; place both on steps of one journey before linking them"
        )
    link = ItemLink(
        workspace_id=source.workspace_id, source_id=source.id, target_id=target.id, created_by=actor
    )
    session.add(link)
    session.flush()
    for item, other in ((source, target), (target, source)):
        history.record(
            session,
            workspace_id=source.workspace_id,
            item_id=item.id,
            entity="link",
            entity_id=link.id,
            action="linked",
            summary=f"linked {source.type} {source.title!r} -> {target.type} {target.title!r}",
            actor=actor,
            changes={"linked_item": (None, other.key)},
        )
    return link, True


def unlink_items(session: Session, source: Item, target: Item, actor: str) -> None:
    """Remove the link from ``source`` to ``target``."""
    link = repository.link(session, source.id, target.id)
    if link is None:
        raise NotFound(f"{source.title!r} is not linked to {target.title!r}")
    for item, other in ((source, target), (target, source)):
        history.record(
            session,
            workspace_id=source.workspace_id,
            item_id=item.id,
            entity="link",
            entity_id=link.id,
            action="unlinked",
            summary=f"unlinked {source.type} {source.title!r} -> {target.type} {target.title!r}",
            actor=actor,
            changes={"linked_item": (other.key, None)},
        )
    session.delete(link)
    session.flush()
