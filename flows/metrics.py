"""sync-metrics: metric items read their values from PostHog and Stripe."""

from __future__ import annotations

from prefect import flow

from model.settings import get_settings
from tasks.metrics import MetricOutcome, metrics_to_sync, publish_metrics_report, sync_metric


class MetricsBroken(Exception):
    """Some metrics' sources could not be read; each metric says why."""


@flow(name="sync-metrics")
def sync_metrics(workspace: str | None = None, metric: str | None = None) -> list[MetricOutcome]:
    """Sync every metric with a data source in the workspace (default: JOURNEYOPS_WORKSPACE),
    or the one named by key."""
    slug = workspace or get_settings().workspace
    outcomes = [sync_metric(item_id) for item_id in metrics_to_sync(slug, metric)]
    publish_metrics_report(outcomes, slug)
    broken = [o for o in outcomes if o.state == "broken"]
    if broken:
        raise MetricsBroken(
            f"{len(broken)} of {len(outcomes)} metric(s) broken: "
            + "; ".join(f"{o.metric}: {o.error}" for o in broken[:5])
        )
    return outcomes
