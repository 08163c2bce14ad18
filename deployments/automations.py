"""Keep Prefect in step with the automations, and set Prefect up for journeyops.

Each automation is a deployment of ``run-automation`` named ``<workspace>-<automation>`` on the
process work pool, so the UI lists it with its schedule, parameters, tags and runs. A schedule
trigger becomes the deployment's schedule (cron, in the trigger's timezone); every other
trigger becomes a deployment trigger on the ``journeyops.automation.triggered`` events that
journeyops emits for that automation. Pausing pauses the deployment and disables its trigger;
a draft or invalid automation has no deployment; deleting removes it.
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from model.errors import Conflict
from model.services import automations
from model.settings import get_settings
from model.tables import Automation

EVENT_PARAMETERS = {"run_id": "{{ event.payload.run_id }}"}


class PrefectUnavailable(Conflict):
    """No Prefect server is configured (PREFECT_API_URL) for something that needs one."""


def _require_server() -> None:
    if not automations.prefect_configured():
        raise PrefectUnavailable(
            "no Prefect server is configured: set PREFECT_API_URL (journeyops serve does)"
        )


def _client() -> Any:
    _require_server()
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def setup() -> list[str]:
    """Create the process work pool and each provider's global concurrency and rate limits
    (existing ones are updated to the settings). Returns what it did."""
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
        WorkPoolCreate,
    )
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    from tasks.limits import limit_names

    settings = get_settings().automations
    done = []
    with _client() as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=settings.work_pool, type="process"))
            done.append(f"work pool {settings.work_pool} (process) created")
        except ObjectAlreadyExists:
            done.append(f"work pool {settings.work_pool} exists")
        for provider, limit in sorted(settings.limits.items()):
            concurrent, rate = limit_names(provider)
            for name, slots, decay in (
                (concurrent, limit.concurrent, 0.0),
                (rate, limit.per_minute, limit.per_minute / 60.0),
            ):
                try:
                    client.read_global_concurrency_limit_by_name(name)
                    client.update_global_concurrency_limit(
                        name,
                        GlobalConcurrencyLimitUpdate(limit=slots, slot_decay_per_second=decay),
                    )
                    done.append(f"limit {name} = {slots} updated")
                except ObjectNotFound:
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(
                            name=name, limit=slots, slot_decay_per_second=decay
                        )
                    )
                    done.append(f"limit {name} = {slots} created")
    return done


def _deployment(automation: Automation, workspace_slug: str) -> Any:
    from prefect.events.schemas.deployment_triggers import DeploymentEventTrigger
    from prefect.flows import EntrypointType
    from prefect.schedules import Cron

    from flows.automations import run_automation
    from model.automations import ScheduleTrigger

    trigger = automations.trigger_of(automation)
    active = automation.status == "active"
    schedules: list[Any] = []
    triggers: list[Any] = []
    if isinstance(trigger, ScheduleTrigger):
        schedules.append(Cron(trigger.cron(), timezone=trigger.timezone, active=active))
    else:
        triggers.append(
            DeploymentEventTrigger(
                name=f"{workspace_slug}/{automation.slug}",
                expect={automations.EVENT_NAME},
                match={"prefect.resource.id": f"journeyops.automation.{automation.id}"},
                parameters=EVENT_PARAMETERS,
                enabled=active,
            )
        )
    return run_automation.to_deployment(
        name=automations.deployment_name(workspace_slug, automation.slug),
        parameters={"workspace": workspace_slug, "automation": automation.slug},
        description=f"{automation.name}: {automations.describe_trigger(automation)}"
        + (f". {automation.description}" if automation.description else ""),
        tags=["journeyops", "automation", automation.trigger_kind, workspace_slug],
        schedules=schedules,
        triggers=triggers,
        paused=not active,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def sync(automation: Automation, workspace_slug: str) -> str:
    """Register, update or remove the automation's deployment to match its status; returns a
    note for the automation (stored by the caller). Raises PrefectUnavailable without a server."""
    if automation.status in ("draft", "invalid"):
        if automation.deployment_id:
            remove(automation.deployment_id)
            automation.deployment_id = None
        return f"not deployed: the automation is {automation.status}"
    _require_server()
    deployment = _deployment(automation, workspace_slug)
    deployment_id = deployment.apply(work_pool_name=get_settings().automations.work_pool)
    automation.deployment_id = str(deployment_id)
    return f"deployed as run-automation/{deployment.name} ({automation.status})"


def remove(deployment_id: str) -> None:
    """Delete the deployment and the triggers it owns (gone already is fine)."""
    from prefect.exceptions import ObjectNotFound

    with _client() as client:
        client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
        with contextlib.suppress(ObjectNotFound):
            client.delete_deployment(UUID(deployment_id))


def delete(session: Session, automation: Automation) -> None:
    """Delete the automation and its deployment (refused while its deployment cannot be
    reached, so no deployment is left running an automation that is gone)."""
    if automation.deployment_id:
        remove(automation.deployment_id)
    automations.delete(session, automation)


def sync_all(session: Any) -> list[str]:
    """Bring every automation's deployment in step (``journeyops serve`` does at start)."""
    from model import repository
    from model.tables import Workspace

    notes = []
    for automation in repository.deployed_automations(session):
        workspace = session.get_one(Workspace, automation.workspace_id)
        automation.prefect_note = sync(automation, workspace.slug)
        notes.append(f"{workspace.slug}/{automation.slug}: {automation.prefect_note}")
    return notes


def run_now(workspace_slug: str, automation_slug: str, run_id: int) -> str:
    """Start a requested run through the automation's deployment, not as a child of the
    calling flow run (idempotent on the run: a second start finds the flow run of the first)."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(
        f"run-automation/{automations.deployment_name(workspace_slug, automation_slug)}",
        parameters={"run_id": str(run_id)},
        timeout=0,
        idempotency_key=f"automation-run-{run_id}",
        as_subflow=False,
    )
    return str(getattr(flow_run, "name", "?"))


def keep_in_step(automation: Automation, workspace_slug: str) -> str:
    """``sync``, with the outcome as the automation's note: no server is a state, not an
    error, and a server error leaves the status as it is (``automations deploy`` retries)."""
    try:
        automation.prefect_note = sync(automation, workspace_slug)
    except PrefectUnavailable as error:
        automation.prefect_note = f"not deployed: {error}"
    except Exception as error:  # the server answered with an error
        automation.prefect_note = (
            f"Prefect sync failed: {error}; `journeyops automations deploy` retries"
        )[:500]
    return automation.prefect_note
