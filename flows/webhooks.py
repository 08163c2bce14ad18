"""The process-webhooks flow: stored deliveries become signals, each exactly once."""

from __future__ import annotations

from prefect import flow

from tasks.webhooks import DrainSummary, drain_deliveries


@flow(name="process-webhooks")
def process_webhooks(workspace: str | None = None, limit: int = 500) -> DrainSummary:
    """Process what webhooks stored: triggered per delivery, and on a schedule as the net."""
    return drain_deliveries(workspace, limit)
