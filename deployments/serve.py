"""Serve journeyops' flows from this process, scheduled, without a work pool or worker.

    python -m deployments.serve --workspace acme-product-team

Needs a running Prefect server (PREFECT_API_URL): schedules run only where a scheduler does.
"""

from __future__ import annotations

import argparse
from typing import Any

from prefect import serve

from flows.automations import dispatch_automations
from flows.funnels import journey_funnel
from flows.metrics import sync_metrics
from flows.pull import pull_intercom, pull_posthog, pull_stripe, pull_workspace
from flows.tickets import push_tickets, sync_tickets
from flows.webhooks import process_webhooks

PULL_INTERVAL_SECONDS = 15 * 60


def deployments(workspace: str) -> list[Any]:
    """The deployments a small team runs: pulls (scheduled and on demand), tickets, metrics and
    funnels."""
    parameters = {"workspace": workspace}
    scheduled = pull_workspace.to_deployment(
        name=f"{workspace}-every-15-minutes",
        interval=PULL_INTERVAL_SECONDS,
        parameters=parameters,
        tags=["journeyops", "pull"],
    )
    on_demand = [
        flow.to_deployment(
            name=f"{workspace}-on-demand", parameters=parameters, tags=["journeyops", "pull"]
        )
        for flow in (pull_stripe, pull_intercom, pull_posthog)
    ]
    tickets = [
        push_tickets.to_deployment(
            name=f"{workspace}-every-5-minutes",
            interval=5 * 60,
            parameters=parameters,
            tags=["journeyops", "tickets"],
        ),
        sync_tickets.to_deployment(
            name=f"{workspace}-every-15-minutes",
            interval=PULL_INTERVAL_SECONDS,
            parameters=parameters,
            tags=["journeyops", "tickets"],
        ),
    ]
    metrics = sync_metrics.to_deployment(
        name=f"{workspace}-hourly",
        interval=60 * 60,
        parameters=parameters,
        tags=["journeyops", "metrics"],
    )
    funnel = journey_funnel.to_deployment(
        name=f"{workspace}-daily",
        cron="0 6 * * *",
        parameters=parameters,
        tags=["journeyops", "metrics"],
    )
    on_delivery = process_webhooks.to_deployment(
        name=f"{workspace}-on-delivery",
        parameters=parameters,
        tags=["journeyops", "webhooks"],
    )
    dispatch = dispatch_automations.to_deployment(
        name=f"{workspace}-every-2-minutes",
        interval=120,
        tags=["journeyops", "automation"],
    )
    return [scheduled, *on_demand, *tickets, metrics, funnel, on_delivery, dispatch]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", required=True, help="slug of the journeyops workspace")
    args = parser.parse_args()
    serve(*deployments(args.workspace))


if __name__ == "__main__":
    main()
