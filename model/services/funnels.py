"""The journey funnel: how many customers reach each mapped step, in order, and where they leave.

A customer reaches a step when they meet its ``reached_when`` condition after reaching the
step before it (the first mapped step needs nothing before it), within the window. Each run is
stored per window so trends show; a step whose conversion falls by more than the margin
against the previous run becomes a signal on that step.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from connectors.measures import Window
from model import repository
from model.errors import InvalidInput
from model.tables import FunnelRun, FunnelStep, Journey, Signal, Step

DROP_MARGIN = 0.10  # a fall of 10 percentage points in a step's conversion is a signal


@dataclass(frozen=True)
class StepResult:
    step_id: int
    name: str
    reached: int
    conversion: float | None
    median_seconds: float | None


@dataclass(frozen=True)
class FunnelResult:
    journey: str
    window: Window
    steps: list[StepResult]
    biggest_drop: StepResult | None
    signals: list[str]  # texts of the signals raised by falls against the previous run
    previous: dict[int, float | None]  # each step's conversion in the previous window's run


def mapped_steps(session: Session, journey: Journey) -> list[Step]:
    """The journey's steps that say what marks reaching them, in journey order."""
    steps = [
        step
        for stage in repository.journey_tree(session, journey.id)
        for step in stage.steps
        if step.reached_when
    ]
    if len(steps) < 2:
        raise InvalidInput(
            f"journey: {journey.slug} needs at least two steps with `reached_when` (a PostHog "
            f"event or HogQL condition) for a funnel; it has {len(steps)}",
            field="journey",
        )
    return steps


def compute(
    steps: Sequence[Step], customers: Iterable[tuple[str, list[datetime | None]]]
) -> list[StepResult]:
    """Count customers through the steps in order, with the median time between steps."""
    reached = [0] * len(steps)
    waits: list[list[float]] = [[] for _ in steps]
    for _, times in customers:
        previous: datetime | None = None
        for index, moment in enumerate(times):
            if moment is None or (previous is not None and moment < previous):
                break
            reached[index] += 1
            if previous is not None:
                waits[index].append((moment - previous).total_seconds())
            previous = moment
    return [
        StepResult(
            step_id=step.id,
            name=step.name,
            reached=reached[index],
            conversion=(reached[index] / reached[index - 1] if reached[index - 1] else 0.0)
            if index
            else None,
            median_seconds=statistics.median(waits[index]) if waits[index] else None,
        )
        for index, step in enumerate(steps)
    ]


def biggest_drop(results: Sequence[StepResult]) -> StepResult | None:
    """The step where the most customers of the step before it were lost."""
    drops = [
        (results[i - 1].reached - results[i].reached, results[i]) for i in range(1, len(results))
    ]
    drops = [d for d in drops if d[0] > 0]
    return max(drops, key=lambda d: d[0])[1] if drops else None


def previous_conversions(
    session: Session, journey: Journey, window: Window
) -> dict[int, float | None]:
    """Each step's conversion in the latest run for an earlier window."""
    previous = repository.previous_funnel(session, journey.id, window.end)
    return {s.step_id: s.conversion for s in previous.steps} if previous else {}


def record(
    session: Session,
    journey: Journey,
    window: Window,
    results: Sequence[StepResult],
    now: datetime,
    before: dict[int, float | None],
    margin: float = DROP_MARGIN,
) -> list[str]:
    """Store the run (replacing one for the same window) and raise a signal on each step whose
    conversion fell by more than ``margin`` against ``before``, the previous window's run
    (see ``previous_conversions``)."""
    if not 0 < margin < 1:
        raise InvalidInput(
            "drop_margin: must be between 0 and 1 (0.1 is 10 points)", field="drop_margin"
        )
    run = repository.funnel_run(session, journey.id, window.end)
    if run is None:
        run = FunnelRun(journey_id=journey.id, window_start=window.start, window_end=window.end)
        session.add(run)
        session.flush()
    else:
        for old in repository.funnel_steps(session, run.id):
            session.delete(old)
        session.flush()
    run.computed_at = now
    session.add_all(
        FunnelStep(
            run_id=run.id,
            step_id=r.step_id,
            position=index,
            reached=r.reached,
            conversion=r.conversion,
            median_seconds=r.median_seconds,
        )
        for index, r in enumerate(results)
    )
    raised = []
    for result in results:
        was = before.get(result.step_id)
        if result.conversion is None or was is None or was - result.conversion <= margin:
            continue
        text = (
            f"Funnel: conversion to '{result.name}' fell from {was:.0%} to "
            f"{result.conversion:.0%} ({window.start.date()} to {window.end.date()})"
        )
        external_id = f"funnel:{journey.id}:{result.step_id}:{window.end.date()}"
        if repository.signals_by_external_id(
            session, journey.workspace_id, "posthog", [external_id]
        ):
            continue
        session.add(
            Signal(
                workspace_id=journey.workspace_id,
                journey_id=journey.id,
                source="posthog",
                external_id=external_id,
                occurred_at=window.end,
                text=text,
                payload={
                    "kind": "funnel_drop",
                    "step": result.name,
                    "before": was,
                    "after": result.conversion,
                },
                state="classified",
                step_id=result.step_id,
                confidence=1.0,
                classifier="funnel",
            )
        )
        raised.append(text)
    session.flush()
    return raised
