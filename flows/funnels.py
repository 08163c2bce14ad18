"""journey-funnel: where customers leave a journey, from PostHog, stored per window."""

from __future__ import annotations

from prefect import flow

from model.services.funnels import FunnelResult
from model.settings import get_settings
from tasks.funnels import compute_funnel, funnel_journeys, publish_funnel


@flow(name="journey-funnel")
def journey_funnel(
    workspace: str | None = None,
    journey: str | None = None,
    days: int = 30,
    drop_margin: float = 0.1,
) -> list[FunnelResult]:
    """Compute the funnel of one journey, or of every journey with mapped steps, over the last
    ``days`` whole days; each is reported as an artifact, and a step whose conversion fell by
    more than ``drop_margin`` (0.1 is 10 points) against the previous window is a signal."""
    slug = workspace or get_settings().workspace
    results = []
    for name in [journey] if journey else funnel_journeys(slug):
        result = compute_funnel(slug, name, days, drop_margin=drop_margin)
        publish_funnel(result, slug)
        results.append(result)
    return results
