"""run-automation: one automation's actions, in order; dispatch-automations: the net under
lost trigger events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import flow
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run

from flows.classify import classify_signals
from flows.pull import pull_workspace
from model.settings import get_settings
from tasks.automations import (
    finish_automation_run,
    propose_journey_updates,
    record_action,
    request_automation_tickets,
    run_analytics,
    send_message,
    start_automation_run,
)
from tasks.dispatch import dispatch_run, runs_to_dispatch
from tasks.tickets import push_ticket


class AutomationFailed(Exception):
    """The automation could not run, or one of its actions failed; the run says why."""


def _act(plan_workspace: str, run_id: int, index: int, action: dict[str, Any]) -> dict[str, Any]:
    kind = action["type"]
    if kind == "pull":
        summaries = pull_workspace(plan_workspace, sources=action.get("sources") or None)
        return {
            "action": kind,
            "summary": "; ".join(
                f"{s.source}: {s.created} new, {s.updated} updated" for s in summaries
            )
            or "no source to pull",
        }
    if kind == "classify":
        journey = action["journey"]
        summary = classify_signals(plan_workspace, journey)
        return {
            "action": kind,
            "summary": f"placed {summary.placed} signals on {journey}: {summary.accepted} "
            f"accepted, {summary.to_review} to review",
        }
    if kind == "analytics":
        return run_analytics(run_id, index)
    if kind == "ticket":
        outcomes = [push_ticket(link_id) for link_id in request_automation_tickets(run_id, index)]
        failed = [o for o in outcomes if o.outcome == "failed"]
        if failed:
            raise AutomationFailed(
                "; ".join(f"{o.item} ({o.tracker}): {o.error}" for o in failed[:5])
            )
        return {
            "action": kind,
            "summary": ", ".join(f"{o.ticket or o.item} {o.outcome}" for o in outcomes)
            or "no item to ticket",
            "tickets": [o.ticket for o in outcomes if o.ticket],
        }
    if kind == "message":
        return send_message(run_id, index)
    if kind == "update_journey":
        return propose_journey_updates(run_id, index)
    raise AutomationFailed(f"unknown action type {kind!r}")


@flow(name="run-automation")
def run_automation(workspace: str, automation: str, run_id: str | None = None) -> str:
    """Run one automation: a requested run (``run_id``, from its trigger's event or a person),
    or, without one, the run its schedule is due. Ends with a report artifact; a failed action
    fails the run with the cause."""
    scheduled = flow_run.get_scheduled_start_time() if not run_id else None
    plan = start_automation_run(
        workspace,
        automation,
        int(run_id) if run_id else None,
        flow_run.get_id(),
        scheduled_for=scheduled,
    )
    if plan.skip:
        return finish_automation_run(plan, None)
    if plan.problems:
        finish_automation_run(plan, None)
        raise AutomationFailed(
            f"automation {automation!r} is not runnable: " + "; ".join(plan.problems)
        )
    assert plan.run_id is not None
    total = len(plan.actions)
    progress = create_progress_artifact(
        progress=100.0 * len(plan.done) / total, description=f"{plan.name}: actions done"
    )
    assert isinstance(progress, UUID)
    try:
        for index, action in enumerate(plan.actions):
            if index in plan.done:
                continue
            result = _act(workspace, plan.run_id, index, action)
            record_action(plan.run_id, index, result)
            update_progress_artifact(progress, 100.0 * (index + 1) / total)
            if result.get("stop"):
                record_action(
                    plan.run_id,
                    total,
                    {"action": "stop", "summary": "nothing notable: later actions skipped"},
                )
                break
    except Exception as error:
        finish_automation_run(plan, f"{type(error).__name__}: {error}")
        raise
    return finish_automation_run(plan, None)


@flow(name="dispatch-automations")
def dispatch_automations(grace_seconds: int | None = None, limit: int = 100) -> list[str]:
    """Start requested runs whose trigger event was lost (or that no server could hear):
    through their deployment when Prefect knows it, else here."""
    grace = (
        get_settings().automations.dispatch_after_seconds
        if grace_seconds is None
        else grace_seconds
    )
    started = []
    for pending in runs_to_dispatch(grace, limit):
        how = dispatch_run(pending)
        if how == "here":
            try:
                run_automation(pending.workspace, pending.automation, str(pending.run_id))
            except Exception:
                how = "here, failed"
        started.append(f"{pending.workspace}/{pending.automation} run {pending.run_id}: {how}")
    create_markdown_artifact(
        key="dispatch-automations",
        markdown="\n".join(f"- {line}" for line in started) or "Nothing waiting to start.",
        description=f"{len(started)} requested run(s) started",
    )
    return started
