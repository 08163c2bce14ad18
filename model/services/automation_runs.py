"""Running an automation: claim the requested run, carry out its actions' database parts,
record each action's result, and finish.

A run is resumable: each action's result is committed as it completes, and a retried flow
run of the same automation run skips what is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from connectors.base import SignalRecord
from model import repository
from model.automations import (
    AnalyticsAction,
    MessageAction,
    ScheduleTrigger,
    TicketAction,
    UpdateJourneyAction,
    render,
)
from model.base import utcnow
from model.enums import SignalState
from model.errors import InvalidInput, NotFound
from model.services import automations, items, journeys, signals, tickets, webhook_secrets
from model.services.pulse import journey_pulse
from model.settings import get_settings
from model.tables import AutomationRun, Journey, Workspace

SCHEDULE_PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
}
DEFAULT_PERIOD = timedelta(days=7)


class RunPlan(BaseModel):
    """What a flow run is to do; plain values only (no secrets)."""

    run_id: int | None
    workspace: str
    automation: str
    name: str
    cause: str
    actions: list[dict[str, Any]] = []
    done: list[int] = []
    skip: str | None = None
    problems: list[str] = []


def _plan(
    run: AutomationRun | None, workspace: Workspace, automation: Any, **extra: Any
) -> RunPlan:
    filters = automations.filters_of(automation)
    actions = []
    for spec, data in zip(automations.actions_of(automation), automation.actions, strict=True):
        shown = {k: v for k, v in data.items() if k not in automations.SECRET_FIELDS}
        shown["journey"] = automations.journey_of(spec, filters)
        actions.append(shown)
    done = sorted(int(r["index"]) for r in (run.results if run else []) if "index" in r)
    return RunPlan(
        run_id=run.id if run else None,
        workspace=workspace.slug,
        automation=automation.slug,
        name=automation.name,
        cause=run.cause if run else "schedule",
        actions=actions,
        done=done,
        **extra,
    )


def start(
    session: Session,
    workspace: Workspace,
    slug: str,
    run_id: int | None,
    flow_run_id: str | None,
    now: datetime | None = None,
    scheduled_for: datetime | None = None,
) -> RunPlan:
    """Claim a requested run (or, on a schedule, request and claim one) and say what to do."""
    now = now or utcnow()
    automation = automations.get_automation(session, workspace.id, slug)
    if run_id is None:
        if automation.status != "active":
            return _plan(None, workspace, automation, skip=f"the automation is {automation.status}")
        # Two deployments scheduling the same automation at the same minute run it once.
        key = (
            f"schedule:{scheduled_for:%Y-%m-%dT%H:%M}"
            if scheduled_for is not None
            else f"flow-run:{flow_run_id or now.isoformat()}"
        )
        run = automations.request_run(session, automation, "schedule", key)
        if run is None:
            run = repository.automation_run_by_key(session, automation.id, key)
            assert run is not None
    else:
        found = session.get(AutomationRun, run_id)
        if found is None or found.automation_id != automation.id:
            raise NotFound(f"automation {slug!r} has no run {run_id}")
        run = found
    resumed = run.state == "running" and flow_run_id is not None and run.flow_run_id == flow_run_id
    if not resumed and not repository.claim_automation_run(session, run.id, flow_run_id, now):
        session.refresh(run)
        return _plan(
            run,
            workspace,
            automation,
            skip=f"run {run.id} is {run.state} (flow run {run.flow_run_id}); nothing to do",
        )
    session.refresh(run)
    if automation.status != "active" and run.cause != "manual":
        _finish(session, run, "skipped", f"the automation is {automation.status}", now)
        return _plan(run, workspace, automation, skip=f"the automation is {automation.status}")
    problems = automations.check(session, automation)
    if problems:
        if automation.status == "active":
            automations.mark_invalid(session, automation, problems)
        _finish(session, run, "failed", "; ".join(problems), now)
        return _plan(run, workspace, automation, problems=problems)
    if run.covers_to is None:
        trigger = automations.trigger_of(automation)
        period = (
            SCHEDULE_PERIODS[trigger.every]
            if isinstance(trigger, ScheduleTrigger)
            else DEFAULT_PERIOD
        )
        run.covers_to = now
        run.covers_from = automation.last_success_at or now - period
    session.flush()
    return _plan(run, workspace, automation)


def record(session: Session, run_id: int, index: int, result: dict[str, Any]) -> None:
    """Keep one action's result (once: a repeated record of the same action is ignored)."""
    run = session.get_one(AutomationRun, run_id)
    if result_of(run, index) is not None:
        return
    run.results = [*run.results, {"index": index, **result}]
    session.flush()


def _finish(
    session: Session, run: AutomationRun, state: str, error: str | None, now: datetime
) -> None:
    run.state, run.error, run.finished_at = state, error, now
    session.flush()


def finish(session: Session, run_id: int, error: str | None) -> AutomationRun:
    run = session.get_one(AutomationRun, run_id)
    if run.state != "running":
        return run
    now = utcnow()
    _finish(session, run, "failed" if error else "succeeded", error, now)
    if not error:
        run.covers_to = now  # what this run did (items it added) is not the next run's news
        automation = repository.automation_by_id(session, run.automation_id)
        if automation is not None and run.covers_to is not None:
            automation.last_success_at = max(
                filter(None, [automation.last_success_at, run.covers_to])
            )
    session.flush()
    return run


# Reading a run's action ---------------------------------------------------------------------


@dataclass
class ActionContext:
    run: AutomationRun
    workspace: Workspace
    automation: Any
    action: Any
    stored: dict[str, Any]
    journey: Journey | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def context(session: Session, run_id: int, index: int) -> ActionContext:
    run = session.get_one(AutomationRun, run_id)
    automation = repository.automation_by_id(session, run.automation_id)
    if automation is None:
        raise NotFound(f"the automation of run {run_id} was deleted")
    workspace = session.get_one(Workspace, run.workspace_id)
    action = automations.actions_of(automation)[index]
    slug = automations.journey_of(action, automations.filters_of(automation))
    journey = journeys.get_journey(session, workspace.id, slug) if slug else None
    return ActionContext(run, workspace, automation, action, automation.actions[index], journey)


def result_of(run: AutomationRun, index: int) -> dict[str, Any] | None:
    return next((r for r in run.results if r.get("index") == index), None)


# Analytics ----------------------------------------------------------------------------------


def recommend(change: float | None, threshold: float, worse_when_up: bool | None) -> str:
    """The item type a summary suggests: an insight when it moved beyond the threshold in the
    bad direction (or either, when neither is bad), an opportunity when in the good one, else
    a metric to keep watching."""
    if change is None or abs(change) < threshold:
        return "metric"
    if worse_when_up is None:
        return "insight"
    return "insight" if (change > 0) == worse_when_up else "opportunity"


def keep_analytics_signal(
    session: Session, ctx: ActionContext, index: int, text: str, payload: dict[str, Any]
) -> int:
    """Store the summary as a signal (once per run and action), placed on the action's step
    when it names one."""
    action = ctx.action
    assert isinstance(action, AnalyticsAction)
    external_id = f"automation-{ctx.run.id}-{index}"
    signals.upsert_signals(
        session,
        ctx.workspace.id,
        action.provider,
        [SignalRecord(external_id=external_id, occurred_at=utcnow(), text=text, payload=payload)],
    )
    signal = repository.signals_by_external_id(
        session, ctx.workspace.id, action.provider, [external_id]
    )[external_id]
    if ctx.journey is not None:
        signal.journey_id = ctx.journey.id
        if action.step:
            step = repository.step_by_name(session, ctx.journey.id, action.step)
            if step is None:
                raise InvalidInput(f"journey {ctx.journey.slug!r} has no step {action.step!r}")
            signal.step_id, signal.state = step.id, SignalState.CLASSIFIED
            signal.classifier, signal.confidence = f"automation:{ctx.automation.slug}"[:100], 1.0
    session.flush()
    return signal.id


# Tickets ------------------------------------------------------------------------------------


def request_tickets(session: Session, ctx: ActionContext, actor: str) -> list[int]:
    """Mark the triggering item (or the step's opportunities and solutions) for follow-up in
    the tracker; returns the links to push (a link asked for twice is the same link)."""
    action = ctx.action
    assert isinstance(action, TicketAction)
    if action.step is None:
        item_id = ctx.run.context.get("item_id")
        if item_id is None:
            raise InvalidInput("this run has no triggering item; name a step in the action")
        targets = [items.get_item(session, ctx.workspace.id, int(item_id))]
    else:
        assert ctx.journey is not None
        step = repository.step_by_name(session, ctx.journey.id, action.step)
        if step is None:
            raise InvalidInput(f"journey {ctx.journey.slug!r} has no step {action.step!r}")
        filters = automations.filters_of(ctx.automation)
        targets = [
            item
            for kind in ("opportunity", "solution")
            for item in repository.items_on_step(session, step.id, kind)
            if filters.admits(automations.matched_values(item), {ctx.journey.slug}, set())
        ]
    links = [tickets.request_ticket(session, item, action.tracker, actor)[0] for item in targets]
    return [link.id for link in links]


# Messages -----------------------------------------------------------------------------------


def message_values(session: Session, ctx: ActionContext, with_pulse: bool) -> dict[str, str]:
    """What a message template's placeholders stand for in this run (the pulse, which takes
    queries, only when asked for)."""
    run = ctx.run
    since = run.covers_from or utcnow() - DEFAULT_PERIOD
    until = utcnow()  # up to the message: what earlier actions of this run added counts
    values = {
        "automation": ctx.automation.name,
        "workspace": ctx.workspace.name,
        "journey": ctx.journey.name if ctx.journey else "",
        "since": since.strftime("%Y-%m-%d %H:%M UTC"),
        "until": until.strftime("%Y-%m-%d %H:%M UTC"),
        "cause": run.cause,
        "item": str(run.context.get("item_title") or ""),
        "item_url": (
            f"{get_settings().tickets.public_url.rstrip('/')}/items/{run.context['item_id']}"
            if run.context.get("item_id")
            else ""
        ),
        "step": "",
        "pulse": "",
        "results": "; ".join(str(r.get("summary", "")) for r in run.results if r.get("summary")),
    }
    if run.context.get("step_id"):
        step = repository.step_by_id(session, ctx.workspace.id, int(run.context["step_id"]))
        values["step"] = step.name if step else ""
    if with_pulse and ctx.journey is not None:
        values["pulse"] = journey_pulse(session, ctx.journey, since, until).text()
    return values


def message_text(session: Session, ctx: ActionContext) -> tuple[str, dict[str, str]]:
    action = ctx.action
    assert isinstance(action, MessageAction)
    template = action.template or "{automation}: {results}\n{pulse}"
    values = message_values(session, ctx, "{pulse}" in template or action.draft == "llm")
    return render(template, values).strip(), values


def webhook_url(ctx: ActionContext) -> str:
    encrypted = ctx.stored.get("webhook_url_encrypted")
    url = webhook_secrets.decrypt(encrypted) if encrypted else None
    if url is None:
        raise InvalidInput(
            f"the {ctx.action.channel} webhook URL of {ctx.automation.slug!r} is missing or "
            "unreadable with the current key; give it again"
        )
    return url


# Journey updates ----------------------------------------------------------------------------


class Proposal(BaseModel):
    step: int
    type: str
    title: str
    description: str = ""


class Proposals(BaseModel):
    """The structured answer an LLM gives to "what should change on this journey"."""

    proposals: list[Proposal]


def journey_prompt(session: Session, ctx: ActionContext, limit: int = 60) -> tuple[str, list[int]]:
    """The journey's steps (numbered) and its recent signals, as the prompt's user part."""
    assert ctx.journey is not None
    since = ctx.run.covers_from or utcnow() - DEFAULT_PERIOD
    until = ctx.run.covers_to or utcnow()
    steps = list(repository.steps_of_journey(session, ctx.journey.id))
    number = {step.id: n for n, step in enumerate(steps, start=1)}
    lines = [f"Journey: {ctx.journey.name}", "Steps:"]
    lines += [f"S{n}. {step.name}" for n, step in enumerate(steps, start=1)]
    lines.append(f"Signals since {since:%Y-%m-%d}:")
    for signal in repository.signals_between(session, ctx.journey.id, since, until, limit):
        where = f"S{number[signal.step_id]}" if signal.step_id in number else "unplaced"
        lines.append(f"[{where}] {' '.join(signal.text.split())[:200]}")
    return "\n".join(lines), [step.id for step in steps]


def apply_proposals(
    session: Session, ctx: ActionContext, proposals: Proposals, step_ids: list[int]
) -> list[str]:
    """Add the proposed items as machine-made, on their steps; a title the step already has
    is skipped. Returns the new items' keys."""
    action = ctx.action
    assert isinstance(action, UpdateJourneyAction)
    actor = f"automation:{ctx.automation.slug}"
    created: list[str] = []
    for proposal in proposals.proposals[: action.max_items]:
        if not 1 <= proposal.step <= len(step_ids):
            continue
        if proposal.type not in ("insight", "opportunity", "solution"):
            continue
        step = repository.step_by_id(session, ctx.workspace.id, step_ids[proposal.step - 1])
        assert step is not None
        titles = {
            i.title.lower() for i in repository.items_on_step(session, step.id, proposal.type)
        }
        if proposal.title.lower() in titles:
            continue
        item = items.create_item(
            session,
            ctx.workspace,
            {
                "type": proposal.type,
                "title": proposal.title[:300],
                "description": proposal.description or None,
                "machine_made": True,
            },
            actor,
        )
        items.place_item(session, item, step, actor)
        created.append(item.key)
    return created
