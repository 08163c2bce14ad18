"""The table and priority views of a journey, and the table as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import IdValue, SessionDep, Viewer
from api.schemas import ItemOut
from model.enums import ItemType, Priority
from model.schemas import TABLE_SORTS, TableQuery, parse
from model.services import journeys, views
from model.services.history import plain

router = APIRouter(prefix="/journeys", tags=["views"])


class TableRow(BaseModel):
    placement_id: int = Field(description="The placement's id.")
    item_id: int = Field(description="The placed item's id.")
    stage_id: int = Field(description="The stage of the step.")
    step_id: int = Field(description="The step the item is placed on.")
    stage: str = Field(description="The stage's name.")
    step: str = Field(description="The step's name.")
    key: str = Field(description="The item's key.")
    type: str = Field(description="The item's type.")
    title: str = Field(description="The item's title.")
    status: str = Field(description="The item's status.")
    owner: str | None = Field(description="Owner, where the type has one.")
    priority: str | None = Field(description="high, medium or low.")
    impact: int | None = Field(description="1-5.")
    effort: int | None = Field(description="1-5.")
    severity: int | None = Field(description="1-5 (insights).")
    confidence: str | None = Field(description="low, medium or high.")
    channel: str | None = Field(description="Touchpoint channel.")
    baseline: float | None = Field(description="Metric baseline.")
    current: float | None = Field(description="Metric current value.")
    target: float | None = Field(description="Metric target.")
    unit: str | None = Field(description="Metric unit.")
    building_block: bool = Field(description="The item is placed on more than one step.")
    machine_made: bool = Field(description="Made by automation, not yet confirmed.")
    evidence: int = Field(description="Signals that are evidence on the item.")
    placed_at: datetime = Field(description="When the item was placed on the step (UTC).")
    updated_at: datetime = Field(description="When the item last changed (UTC).")


class TableOut(BaseModel):
    rows: list[TableRow] = Field(description="One row per placement, in the requested order.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class PriorityOut(BaseModel):
    quick_wins: list[ItemOut] = Field(description="High impact, low effort.")
    big_bets: list[ItemOut] = Field(description="High impact, high effort.")
    fill_ins: list[ItemOut] = Field(description="Low impact, low effort.")
    money_pits: list[ItemOut] = Field(description="Low impact, high effort.")
    unscored: list[ItemOut] = Field(description="Missing impact or effort.")


def table_query(
    type: Annotated[list[ItemType] | None, Query(description="Item types (repeatable).")] = None,
    status: Annotated[list[str] | None, Query(description="Statuses (repeatable).")] = None,
    owner: Annotated[list[str] | None, Query(description="Owners (repeatable).")] = None,
    priority: Annotated[
        list[Priority] | None, Query(description="Priorities (repeatable).")
    ] = None,
    impact_min: Annotated[int | None, Query(ge=1, le=5, description="Impact at least.")] = None,
    impact_max: Annotated[int | None, Query(ge=1, le=5, description="Impact at most.")] = None,
    effort_min: Annotated[int | None, Query(ge=1, le=5, description="Effort at least.")] = None,
    effort_max: Annotated[int | None, Query(ge=1, le=5, description="Effort at most.")] = None,
    stage_id: Annotated[list[IdValue] | None, Query(description="Stage ids (repeatable).")] = None,
    step_id: Annotated[list[IdValue] | None, Query(description="Step ids (repeatable).")] = None,
    updated_after: Annotated[datetime | None, Query(description="Changed at or after.")] = None,
    updated_before: Annotated[datetime | None, Query(description="Changed before.")] = None,
    placed_after: Annotated[datetime | None, Query(description="Placed at or after.")] = None,
    placed_before: Annotated[datetime | None, Query(description="Placed before.")] = None,
    sort: Annotated[
        str,
        Query(
            description="Sort column, `-` in front for descending: " + ", ".join(TABLE_SORTS) + ".",
            max_length=20,
        ),
    ] = "journey",
) -> TableQuery:
    """The table view's filters; every one given must hold."""
    data: dict[str, Any] = {
        "types": type or [],
        "statuses": status or [],
        "owners": owner or [],
        "priorities": priority or [],
        "impact_min": impact_min,
        "impact_max": impact_max,
        "effort_min": effort_min,
        "effort_max": effort_max,
        "stage_ids": stage_id or [],
        "step_ids": step_id or [],
        "updated_after": updated_after,
        "updated_before": updated_before,
        "placed_after": placed_after,
        "placed_before": placed_before,
        "sort": sort,
    }
    query: TableQuery = parse(TableQuery, data)
    return query


Filters = Annotated[TableQuery, Depends(table_query)]


@router.get(
    "/{slug}/table",
    response_model=TableOut,
    summary="The journey as a table: one row per placement, filtered, sorted and paged",
)
def journey_table(
    slug: str,
    session: SessionDep,
    caller: Viewer,
    query: Filters,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Rows per page.")] = 50,
) -> TableOut:
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    page = views.table_page(session, journey, query, cursor=cursor, limit=limit)
    return TableOut(
        rows=[TableRow.model_validate(row) for row in page.rows], next_cursor=page.next_cursor
    )


CSV_COLUMNS = [name for name in TableRow.model_fields if not name.endswith("_id")]


@router.get(
    "/{slug}/table.csv",
    summary="The table view as CSV (every row that passes the filters)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The rows as CSV."}},
)
def journey_table_csv(slug: str, session: SessionDep, caller: Viewer, query: Filters) -> Response:
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in views.table_rows(session, journey, query):
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{journey.slug}.csv"'},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return plain(value)
    if value is None:
        return ""
    return value


@router.get(
    "/{slug}/priority",
    response_model=PriorityOut,
    summary="Opportunities and solutions by impact and effort, in quadrants",
)
def journey_priority(
    slug: str,
    session: SessionDep,
    caller: Viewer,
    high_impact: Annotated[
        int, Query(ge=1, le=5, description="Impact from which an item counts as high impact.")
    ] = 3,
    high_effort: Annotated[
        int, Query(ge=1, le=5, description="Effort from which an item counts as high effort.")
    ] = 3,
) -> PriorityOut:
    """Quick wins (high impact, low effort), big bets (high impact, high effort), fill-ins
    (low impact, low effort) and money pits (low impact, high effort); each quadrant sorted
    by impact (highest first), then effort (lowest first)."""
    journey = journeys.get_journey(session, caller.workspace_id, slug)
    grouped = views.priority_view(
        session, journey, high_impact=high_impact, high_effort=high_effort
    )
    return PriorityOut.model_validate(
        {name: [ItemOut.model_validate(item) for item in items] for name, items in grouped.items()}
    )
