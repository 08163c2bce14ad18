"""Find requested automation runs nobody started, and start them."""

from __future__ import annotations

from datetime import timedelta

from prefect import task
from pydantic import BaseModel

from model import repository
from model.base import utcnow
from model.db import session_scope
from model.services import automations
from model.tables import Workspace


class PendingRun(BaseModel):
    run_id: int
    workspace: str
    automation: str
    deployment_id: str | None


@task(name="runs-to-dispatch")
def runs_to_dispatch(grace_seconds: int, limit: int) -> list[PendingRun]:
    """Runs requested more than ``grace_seconds`` ago and still not started."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    with session_scope() as session:
        found = []
        for run in repository.pending_automation_runs(session, cutoff, limit):
            automation = repository.automation_by_id(session, run.automation_id)
            workspace = session.get_one(Workspace, run.workspace_id)
            assert automation is not None
            found.append(
                PendingRun(
                    run_id=run.id,
                    workspace=workspace.slug,
                    automation=automation.slug,
                    deployment_id=automation.deployment_id,
                )
            )
        return found


@task(name="dispatch-run")
def dispatch_run(pending: PendingRun) -> str:
    """Start the run through its deployment (idempotent on the run: a second dispatch finds
    the flow run the first created); "here" when there is no deployment to start it."""
    if not (pending.deployment_id and automations.prefect_configured()):
        return "here"
    from deployments.automations import run_now

    return f"flow run {run_now(pending.workspace, pending.automation, pending.run_id)}"
