"""Compute a journey's funnel from PostHog and keep it."""

from __future__ import annotations

import base64
from datetime import datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact

from connectors.measures import Window, first_reached, step_condition
from model import repository
from model.base import utcnow
from model.db import session_scope
from model.services import funnels, journeys, workspaces
from model.tables import Journey
from tasks.charts import bar, funnel_svg
from tasks.sources import open_posthog_client


@task(name="funnel-journeys")
def funnel_journeys(workspace: str) -> list[str]:
    """The workspace's journeys with at least two steps mapped to PostHog."""
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        return [
            journey.slug
            for journey in repository.journeys(session, ws.id)
            if sum(1 for s in repository.steps_of_journey(session, journey.id) if s.reached_when)
            >= 2
        ]


@task(name="journey-funnel")
def compute_funnel(
    workspace: str,
    journey: str,
    days: int = 30,
    now: datetime | None = None,
    drop_margin: float = funnels.DROP_MARGIN,
) -> funnels.FunnelResult:
    """Customers through the journey's mapped steps over the last ``days`` whole days."""
    now = now or utcnow()
    window = Window.ending_before(now, days)
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        found = journeys.get_journey(session, ws.id, journey)
        steps = funnels.mapped_steps(session, found)
        conditions = [step_condition(step.reached_when or "") for step in steps]
        workspace_id, journey_id = ws.id, found.id
    client = open_posthog_client(workspace_id)
    try:
        results = funnels.compute(steps, first_reached(client, conditions, window))
    finally:
        client.close()
    with session_scope() as session:
        found = session.get_one(Journey, journey_id)
        previous = funnels.previous_conversions(session, found, window)
        raised = funnels.record(session, found, window, results, now, previous, drop_margin)
    return funnels.FunnelResult(
        journey=journey,
        window=window,
        steps=results,
        biggest_drop=funnels.biggest_drop(results),
        signals=raised,
        previous=previous,
    )


def funnel_markdown(result: funnels.FunnelResult) -> str:
    """The funnel as markdown: a table with bars, the biggest drop-off, and the SVG chart."""
    top = max((s.reached for s in result.steps), default=0)
    lines = [
        f"# Funnel of {result.journey}",
        f"{result.window.start.date()} to {result.window.end.date()} (UTC, end excluded)",
        "",
        "| step | customers | from previous | median time | |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for step in result.steps:
        conversion = "" if step.conversion is None else f"{step.conversion:.0%}"
        wait = "" if step.median_seconds is None else duration(step.median_seconds)
        lines.append(
            f"| {step.name} | {step.reached} | {conversion} | {wait} | {bar(step.reached, top)} |"
        )
    if result.biggest_drop is not None:
        lines += ["", f"Biggest drop-off: **{result.biggest_drop.name}**."]
    for text in result.signals:
        lines += ["", f"Signal raised: {text}"]
    svg = funnel_svg(
        f"{result.journey}: customers per step",
        [(s.name, s.reached, s.conversion) for s in result.steps],
    )
    encoded = base64.b64encode(svg.encode()).decode()
    lines += ["", f"![funnel](data:image/svg+xml;base64,{encoded})"]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def publish_funnel(result: funnels.FunnelResult, workspace: str) -> None:
    create_markdown_artifact(
        key=f"funnel-{workspace}-{result.journey}".lower()[:100],
        markdown=funnel_markdown(result),
        description=f"Where customers leave {result.journey}",
    )
