"""Metric items' data sources: set one, sync now, read the time series."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import Editor, Id, SessionDep, Viewer
from api.schemas import Out
from model import repository
from model.errors import NotFound
from model.schemas import MetricSourceSpec
from model.services import items, metrics
from tasks.metrics import MetricOutcome, sync_metric

router = APIRouter(prefix="/items", tags=["metrics"])


class PointOut(Out):
    period_start: datetime = Field(description="Start of the period measured (UTC, inclusive).")
    period_end: datetime = Field(description="End of the period measured (UTC, exclusive).")
    value: float = Field(description="The measure over the period.")


class MetricSourceOut(BaseModel):
    source: MetricSourceSpec | None = Field(description="Where the value comes from, if set.")
    description: str | None = Field(description="The source in words.")
    state: str = Field(
        description="no source, waiting (for the first sync), ok, or broken (see error)."
    )
    error: str | None = Field(description="Why the last sync failed, when broken.")
    on_track: bool | None = Field(description="The current value against target and direction.")
    synced_at: datetime | None = Field(description="When it was last synced (UTC).")
    current: float | None = Field(description="The metric's current value.")
    baseline: float | None = Field(description="Where the metric started.")
    target: float | None = Field(description="The metric's target.")
    progress: float | None = Field(
        description="From baseline (0) to target (1); negative when it moved the wrong way."
    )
    series: list[PointOut] = Field(description="The time series, oldest first.")


def _metric_view(session: Session, item_id: int, workspace_id: int) -> MetricSourceOut:
    item = items.get_item(session, workspace_id, item_id)
    source = repository.metric_source(session, item.id)
    spec = MetricSourceSpec.model_validate(source.spec) if source else None
    return MetricSourceOut(
        source=spec,
        description=metrics.describe(spec) if spec else None,
        state=source.state if source else "no source",
        error=source.error if source else None,
        on_track=source.on_track if source else None,
        synced_at=source.synced_at if source else None,
        current=item.current,
        baseline=item.baseline,
        target=item.target,
        progress=metrics.progress(item),
        series=[PointOut.model_validate(p) for p in repository.metric_series(session, item.id)],
    )


@router.get(
    "/{item_id}/metric",
    response_model=MetricSourceOut,
    summary="A metric's data source, its state and its time series",
)
def get_metric(item_id: Id, session: SessionDep, caller: Viewer) -> MetricSourceOut:
    return _metric_view(session, item_id, caller.workspace_id)


@router.put(
    "/{item_id}/metric/source",
    response_model=MetricSourceOut,
    summary="Give a metric item a data source (PostHog or Stripe)",
)
def set_metric_source(
    item_id: Id, body: MetricSourceSpec, session: SessionDep, caller: Editor
) -> MetricSourceOut:
    item = items.get_item(session, caller.workspace_id, item_id)
    metrics.set_source(session, item, body.model_dump(), caller.actor)
    return _metric_view(session, item_id, caller.workspace_id)


@router.delete(
    "/{item_id}/metric/source",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop syncing a metric (its series stays)",
)
def remove_metric_source(item_id: Id, session: SessionDep, caller: Editor) -> None:
    item = items.get_item(session, caller.workspace_id, item_id)
    metrics.remove_source(session, item, caller.actor)


@router.post(
    "/{item_id}/metric/sync",
    response_model=MetricOutcome,
    summary="Sync a metric from its source now",
    responses={404: {"description": "No such item, or it has no data source."}},
)
def sync_metric_now(
    item_id: Id, request: Request, session: SessionDep, caller: Editor
) -> MetricOutcome:
    item = items.get_item(session, caller.workspace_id, item_id)
    if repository.metric_source(session, item.id) is None:
        raise NotFound(f"metric {item.key} has no data source; PUT /items/{item_id}/metric/source")
    # The sync reads the source and writes in sessions of its own; this one only looked.
    session.rollback()
    return sync_metric.fn(item.id, database_url=request.app.state.database_url)
