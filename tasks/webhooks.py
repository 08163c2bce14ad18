"""Turn stored webhook deliveries into signals."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from model.db import session_scope
from model.services import webhooks, workspaces
from tasks.logging import run_logger


class DrainSummary(BaseModel):
    processed: int
    signals: int
    tickets: int
    failed: int
    retrying: int
    automations: int = 0


@task(name="drain-webhook-deliveries", retries=2, retry_delay_seconds=[10, 60])
def drain_deliveries(workspace: str | None, limit: int) -> DrainSummary:
    """Process received deliveries once each, in one transaction."""
    with session_scope() as session:
        workspace_id = workspaces.get_workspace(session, workspace).id if workspace else None
        report = webhooks.drain(session, limit=limit, workspace_id=workspace_id)
    run_logger(__name__).info(
        "webhooks.drained processed=%d signals=%d failed=%d automations=%d",
        report.processed,
        report.signals,
        report.failed,
        report.automations,
    )
    summary = DrainSummary(**report.__dict__)
    create_table_artifact(
        key=f"process-webhooks-{workspace or 'all'}".lower()[:100],
        table=[summary.model_dump()],
        description="Webhook deliveries processed: signals, tickets moved, automation runs requested",
    )
    return summary
