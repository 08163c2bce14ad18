"""Sync metric items from their data sources, one small task per metric."""

from __future__ import annotations

import base64
from datetime import datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel

from connectors.errors import ConnectorError
from connectors.measures import PostHogMeasures, StripeMeasures
from model import repository
from model.base import utcnow
from model.db import session_scope
from model.errors import InvalidInput
from model.schemas import MetricSourceSpec
from model.services import items, metrics, workspaces
from tasks.charts import series_svg
from tasks.sources import open_posthog_client, open_stripe_client

ACTOR = "sync-metrics"


class MetricOutcome(BaseModel):
    """What one metric's sync did, for the run's artifact."""

    metric: str
    source: str
    state: str  # ok or broken
    value: float | None = None
    target: float | None = None
    on_track: bool | None = None
    crossed: str | None = None
    error: str | None = None


@task(name="metrics-to-sync")
def metrics_to_sync(workspace: str, key: str | None = None) -> list[int]:
    """The metric items with a data source (in one workspace, or one of them by key)."""
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        if key is not None:
            item = items.get_item_by_key(session, ws.id, key)
            if repository.metric_source(session, item.id) is None:
                raise InvalidInput(
                    f"metric {key} has no data source; set one with `journeyops metrics source`",
                    field="metric",
                )
            return [item.id]
        return [source.item_id for source in repository.metric_sources(session, ws.id)]


def _emit_crossing(key: str, workspace_id: int, crossed: str, value: float | None) -> None:
    from prefect.events import emit_event

    emit_event(
        event=f"journeyops.metric.target-{crossed}",
        resource={"prefect.resource.id": f"journeyops.item.{key}", "journeyops.kind": "metric"},
        payload={"workspace_id": workspace_id, "value": value},
    )


@task(name="sync-metric")
def sync_metric(
    item_id: int, now: datetime | None = None, database_url: str | None = None
) -> MetricOutcome:
    """Measure one metric over its period and store the point; a source that cannot be read
    is marked broken with the reason instead. ``database_url`` defaults to the configured one."""
    now = now or utcnow()
    with session_scope(database_url) as session:
        source = repository.metric_source(session, item_id)
        if source is None:
            raise ValueError(f"item {item_id} has no data source")
        item = repository.item_by_id(session, source.workspace_id, item_id)
        assert item is not None
        spec = MetricSourceSpec.model_validate(source.spec)
        window = metrics.window_for(item, now)
        workspace_id, key, target = item.workspace_id, item.key, item.target
    try:
        if spec.provider == "posthog":
            posthog = open_posthog_client(workspace_id, database_url)
            try:
                measured = PostHogMeasures(posthog).measure(spec, window, now)
            finally:
                posthog.close()
        else:
            stripe = open_stripe_client(workspace_id, database_url)
            try:
                measured = StripeMeasures(stripe).measure(spec, window, now)
            finally:
                stripe.close()
        error = None
    except ConnectorError as failure:
        error = str(failure)
    with session_scope(database_url) as session:
        source = repository.metric_source(session, item_id)
        item = repository.item_by_id(session, workspace_id, item_id)
        if source is None or item is None:
            raise ValueError(f"metric {key} was deleted during its sync")
        if error is not None:
            result = metrics.record_broken(session, item, source, error, now, ACTOR)
        else:
            value = metrics.calculate(spec, measured, window)
            result = metrics.record_sync(session, item, source, window, value, now, ACTOR)
    if result.crossed:
        _emit_crossing(key, workspace_id, result.crossed, result.value)
    return MetricOutcome(
        metric=key,
        source=metrics.describe(spec),
        state="broken" if result.error else "ok",
        value=result.value,
        target=target,
        on_track=result.on_track,
        crossed=result.crossed,
        error=result.error,
    )


def publish_metrics_report(outcomes: list[MetricOutcome], workspace: str) -> None:
    """The run's table of metrics, and each synced metric's history as a chart."""
    slug = workspace.lower()
    create_table_artifact(
        key=f"sync-metrics-{slug}"[:100],
        table=[o.model_dump() for o in outcomes],
        description="Metrics synced from PostHog and Stripe in this run",
    )
    if not outcomes:
        return
    sections = []
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        for outcome in outcomes:
            item = items.get_item_by_key(session, ws.id, outcome.metric)
            points = [(p.period_end, p.value) for p in repository.metric_series(session, item.id)]
            svg = series_svg(item.title, points, item.target)
            encoded = base64.b64encode(svg.encode()).decode()
            sections.append(
                f"## {item.title}\n\n{len(points)} point(s); latest {outcome.value}, "
                f"target {item.target}\n\n![{item.key}](data:image/svg+xml;base64,{encoded})"
            )
    create_markdown_artifact(
        key=f"metric-history-{slug}"[:100],
        markdown="\n\n".join(sections),
        description="Each synced metric's history against its target",
    )
