"""Read-only views of a journey: one row per placement, and the journey as a tree."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from model import repository
from model.errors import InvalidInput
from model.schemas import TableQuery
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


def journey_map(session: Session, journey: Journey) -> dict[str, Any]:
    """The journey as a map, ready for ``orjson``, in a fixed number of queries.

    Stages and steps in order; on each step its items grouped by type (by title within a
    type), each card with the item's id and summary fields (those with a value), whether it is
    a building block and its evidence count; per step the signals placed on it and a friction
    score: that volume weighted by the worst severity of the step's insights,
    ``signals x (1 + severity / 5)``, plus the drop-off into the step in the latest funnel run
    (percentage points of the previous step's customers lost). Cards are the items' stored
    JSON, passed through.
    """
    stages = repository.journey_tree(session, journey.id)
    signals = repository.step_signal_counts(session, journey.id)
    severity = repository.worst_insight_severity(session, journey.id)
    funnel = repository.latest_funnel(session, journey.id)
    conversion = {s.step_id: s.conversion for s in funnel.steps} if funnel else {}
    reused = repository.reused_items(session, journey.id)
    evidence = repository.evidence_counts(session, journey.id)
    cards: dict[int, list[tuple[str, str, str]]] = {}
    for step_id, item_id, item_type, title, card in repository.map_cards(session, journey.id):
        fields = "," + card[1:] if len(card) > 2 else "}"
        entry = (
            f'{{"item":{{"id":{item_id}{fields},'
            f'"building_block":{"true" if item_id in reused else "false"},'
            f'"evidence":{evidence.get(item_id, 0)}}}'
        )
        cards.setdefault(step_id, []).append((item_type, title, entry))
    stage_maps = []
    for stage in stages:
        step_maps = []
        for step in stage.steps:
            grouped: dict[str, list[str]] = {}
            for item_type, _, entry in sorted(cards.get(step.id, [])):
                grouped.setdefault(item_type, []).append(entry)
            volume = signals.get(step.id, 0)
            converted = conversion.get(step.id)
            drop = 100 * (1 - converted) if converted is not None else 0.0
            step_maps.append(
                {
                    "id": step.id,
                    "name": step.name,
                    "description": step.description,
                    "position": step.position,
                    "signals": volume,
                    "conversion": converted,
                    "friction": round(volume * (1 + severity.get(step.id, 0) / 5) + drop, 2),
                    "items": {
                        item_type: orjson.Fragment("[" + ",".join(group) + "]")
                        for item_type, group in grouped.items()
                    },
                }
            )
        stage_maps.append(
            {"id": stage.id, "name": stage.name, "position": stage.position, "steps": step_maps}
        )
    return {"stages": stage_maps}


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


# The table view: filtered, sorted and paged by cursor ---------------------------------------


@dataclass
class TablePage:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def _encode_cursor(sort: str, values: Sequence[Any]) -> str:
    plain_values = [
        {"at": value.isoformat()} if isinstance(value, datetime) else value for value in values
    ]
    raw = json.dumps({"sort": sort, "after": plain_values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    problem = "cursor: not a cursor this view gave out; start again without one"
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        values = data["after"]
        cursor_sort = data["sort"]
        if not isinstance(values, list):
            raise InvalidInput(problem, field="cursor")
        decoded = [
            datetime.fromisoformat(value["at"]) if isinstance(value, dict) else value
            for value in values
        ]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(problem, field="cursor") from None
    if cursor_sort != sort:
        raise InvalidInput(
            f"cursor: it pages the sort {cursor_sort!r}, not {sort!r}; "
            "start again without a cursor when the sort changes",
            field="cursor",
        )
    if len(decoded) != len(repository.table_sort_keys(sort)):
        raise InvalidInput(problem, field="cursor")
    return decoded


def table_page(
    session: Session,
    journey: Journey,
    query: TableQuery,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> TablePage:
    """One page of the table view: a row per placement passing every filter."""
    after = _decode_cursor(cursor, query.sort) if cursor else None
    found = repository.table_page(session, journey.id, query, after=after, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    item_ids = list({row[1].id for row in found})
    counts = repository.placement_counts(session, item_ids)
    evidence = repository.evidence_summary(session, item_ids)
    rows = []
    for placement, item, step, stage, *_ in found:
        row: dict[str, Any] = {
            "placement_id": placement.id,
            "item_id": item.id,
            "stage_id": stage.id,
            "step_id": step.id,
            "stage": stage.name,
            "step": step.name,
            "building_block": counts.get(item.id, 0) > 1,
            "evidence": evidence.get(item.id, {}).get("count", 0),
            "placed_at": placement.created_at,
        }
        for column in TABLE_COLUMNS:
            if column not in row:
                row[column] = getattr(item, column)
        rows.append(row)
    next_cursor = _encode_cursor(query.sort, found[-1][4:]) if more and found else None
    return TablePage(rows=rows, next_cursor=next_cursor)


def table_rows(session: Session, journey: Journey, query: TableQuery) -> Iterator[dict[str, Any]]:
    """Every row of the table view, page after page (for exports)."""
    cursor = None
    while True:
        page = table_page(session, journey, query, cursor=cursor, limit=1000)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# The priority view --------------------------------------------------------------------------

QUADRANTS = ("quick_wins", "big_bets", "fill_ins", "money_pits")


def quadrant(impact: int, effort: int, *, high_impact: int = 3, high_effort: int = 3) -> str:
    """Name the quadrant of an impact/effort pair (both 1-5)."""
    if impact >= high_impact:
        return "big_bets" if effort >= high_effort else "quick_wins"
    return "money_pits" if effort >= high_effort else "fill_ins"


def priority_view(
    session: Session, journey: Journey, *, high_impact: int = 3, high_effort: int = 3
) -> dict[str, list[Item]]:
    """Opportunities and solutions on the journey by quadrant; unscored ones apart."""
    query = TableQuery.model_validate({"types": ["opportunity", "solution"]})
    grouped: dict[str, list[Item]] = {name: [] for name in (*QUADRANTS, "unscored")}
    seen: set[int] = set()
    for _, item, *_ in repository.table_page(session, journey.id, query, after=None, limit=10**6):
        if item.id in seen:
            continue
        seen.add(item.id)
        if item.impact is None or item.effort is None:
            grouped["unscored"].append(item)
        else:
            name = quadrant(
                item.impact, item.effort, high_impact=high_impact, high_effort=high_effort
            )
            grouped[name].append(item)
    for items in grouped.values():
        items.sort(key=lambda i: (-(i.impact or 0), i.effort or 0, i.title))
    return grouped
