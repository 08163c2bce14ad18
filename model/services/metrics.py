"""Metric items that keep themselves current: a data source, a time series, on track or not.

A sync measures the source over the metric's evaluation period (whole UTC days ending at the
start of the day it runs), stores the value as a point of the series (a second sync the same
day replaces that day's point), sets the item's ``current`` and recomputes whether it is on
track against its target and direction. The caller fetches the measure and owns the
transaction.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from connectors.measures import Measured, Window
from model import repository
from model.errors import InvalidInput, NotFound
from model.schemas import MetricSourceSpec, parse
from model.services import history, items
from model.tables import Item, MetricPoint, MetricSource

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "quarter": 90}


@dataclass(frozen=True)
class SyncResult:
    """What a sync did: the value stored, and whether the metric crossed its target."""

    value: float | None
    on_track: bool | None
    crossed: str | None  # "reached" or "lost" when the on-track state changed
    error: str | None = None


def _metric(item: Item) -> None:
    if item.type != "metric":
        raise InvalidInput(
            f"item: {item.key} is a {item.type}; only metrics have a data source", field="item"
        )


def set_source(session: Session, item: Item, data: dict[str, Any], actor: str) -> MetricSource:
    """Give a metric item a data source (or change it); it waits for its first sync."""
    _metric(item)
    spec: MetricSourceSpec = parse(MetricSourceSpec, data, context="metric source")
    source = repository.metric_source(session, item.id)
    if source is None:
        source = MetricSource(workspace_id=item.workspace_id, item_id=item.id)
        session.add(source)
    source.provider = spec.provider
    source.spec = spec.model_dump(exclude_defaults=False)
    source.state = "waiting"
    source.error = None
    session.flush()
    history.record_item(
        session,
        item,
        "source_set",
        f"metric {item.title!r} now syncs from {describe(spec)}",
        actor,
    )
    return source


def remove_source(session: Session, item: Item, actor: str) -> None:
    source = repository.metric_source(session, item.id)
    if source is None:
        raise NotFound(f"metric {item.key} has no data source")
    session.delete(source)
    history.record_item(
        session,
        item,
        "source_removed",
        f"metric {item.title!r} no longer syncs",
        actor,
    )


def describe(spec: MetricSourceSpec) -> str:
    if spec.provider == "stripe":
        what = spec.measure.replace("_", " ")
    elif spec.measure == "ratio":
        what = f"{spec.event!r} / {spec.denominator_event!r} ({spec.ratio_of})"
    else:
        what = f"{spec.measure.replace('_', ' ')} of {spec.event!r}"
    filters = "".join(f", {k}={v}" for k, v in sorted(spec.properties.items()))
    return f"{spec.provider}: {spec.calculation} {what}{filters}"


def window_for(item: Item, now: datetime) -> Window:
    return Window.ending_before(now, PERIOD_DAYS[item.evaluation_period or "week"])


def calculate(spec: MetricSourceSpec, measured: Measured, window: Window) -> float | None:
    """The metric's value from a measure: the window's total (unique users and ratios over the
    whole window, not summed by day), or the average, median or peak of its days."""
    if spec.measure == "ratio":
        days = list(measured.daily.values())  # days with a denominator only
    else:
        days = [measured.daily.get(day, 0.0) for day in window.days()]
    if spec.calculation == "total":
        if measured.whole is not None or spec.measure in ("ratio", "unique_users"):
            return measured.whole
        return sum(days)
    if not days:
        return None
    if spec.calculation == "average":
        return statistics.fmean(days)
    if spec.calculation == "median":
        return float(statistics.median(days))
    return max(days)


def progress(item: Item) -> float | None:
    """How far the current value has come from the baseline toward the target: 0 at the
    baseline, 1 at the target, negative when it moved the wrong way."""
    if item.current is None or item.baseline is None or item.target is None:
        return None
    if item.target == item.baseline:
        return None
    return (item.current - item.baseline) / (item.target - item.baseline)


def on_track(item: Item, value: float | None) -> bool | None:
    if value is None or item.target is None:
        return None
    if (item.direction or "higher") == "lower":
        return value <= item.target
    return value >= item.target


def record_sync(
    session: Session,
    item: Item,
    source: MetricSource,
    window: Window,
    value: float | None,
    now: datetime,
    actor: str,
) -> SyncResult:
    """Store a synced value: the series point, the item's current value, and the state."""
    spec = MetricSourceSpec.model_validate(source.spec)
    if value is not None and spec.measure == "ratio" and item.unit == "%":
        value *= 100
    if value is not None:
        value = round(value, 4)
        point = repository.metric_point(session, item.id, window.end)
        if point is None:
            point = MetricPoint(item_id=item.id, period_start=window.start, period_end=window.end)
            session.add(point)
        point.value = value
        point.synced_at = now
    before = source.on_track
    after = on_track(item, value)
    crossed = None
    if before is not None and after is not None and before != after:
        crossed = "reached" if after else "lost"
    # A deprecated metric keeps its status; any other becomes active once it syncs.
    changes: dict[str, Any] = {} if item.status == "deprecated" else {"status": "active"}
    if value is not None:
        changes["current"] = value
    items.update_item(session, item, changes, actor)
    if crossed:
        history.record_item(
            session,
            item,
            "target_reached" if crossed == "reached" else "target_lost",
            (
                f"metric {item.title!r} {'reached' if crossed == 'reached' else 'fell back from'} "
                f"its target {item.target:g} at {value:g}"
            ),
            actor,
        )
    source.state = "ok"
    source.error = None
    source.on_track = after
    source.synced_at = now
    session.flush()
    return SyncResult(value=value, on_track=after, crossed=crossed)


def record_broken(
    session: Session, item: Item, source: MetricSource, reason: str, now: datetime, actor: str
) -> SyncResult:
    """The source could not be read: say why, on the source and the item's status."""
    source.state = "broken"
    source.error = reason[:2000]
    source.synced_at = now
    if item.status != "deprecated":
        items.update_item(session, item, {"status": "broken"}, actor)
    session.flush()
    return SyncResult(value=None, on_track=source.on_track, crossed=None, error=reason)
