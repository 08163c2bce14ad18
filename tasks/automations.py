"""Automation tasks: start a run, carry out one action, finish with a report.

Each takes the run's id and the action's position and reads the rest (secrets included) from
the database itself; each action's result is committed as it completes, so a retried run
skips what is done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact

from connectors.chat import ChatClient
from connectors.errors import RetryableError
from connectors.http import RetryPolicy
from connectors.measures import PostHogMeasures, StripeMeasures, Window
from model.automations import AnalyticsAction, MessageAction
from model.base import utcnow
from model.classify.llm import LLMUnavailable, LLMWriter
from model.db import session_scope
from model.schemas import MetricSourceSpec
from model.services import automation_runs, workspaces
from model.services.automation_runs import Proposals, RunPlan
from model.settings import get_settings
from model.tables import AutomationRun
from tasks.limits import provider_slot
from tasks.logging import run_logger
from tasks.sources import open_posthog_client, open_stripe_client

# Measures where more is worse (None: any big move is worth a look).
WORSE_WHEN_UP: dict[str, bool | None] = {
    "event_volume": None,
    "top_events": None,
    "new_subscriptions": False,
    "cancelled_subscriptions": True,
    "failed_payments": True,
    "refunds": True,
}
LABELS = {
    "new_subscriptions": "New Stripe subscriptions",
    "cancelled_subscriptions": "Cancelled Stripe subscriptions",
    "failed_payments": "Failed Stripe payments",
    "refunds": "Stripe refunds",
}


def only_transient(_task: Any, _run: Any, state: Any) -> bool:
    """Retry what may pass on its own (timeouts, 429, 5xx), not a refused URL or key."""
    try:
        state.result()
    except (RetryableError, LLMUnavailable):
        return True
    except Exception:
        return False
    return False


@task(name="start-automation-run")
def start_automation_run(
    workspace: str,
    automation: str,
    run_id: int | None,
    flow_run_id: str | None,
    scheduled_for: datetime | None = None,
) -> RunPlan:
    """Claim the requested run (a scheduled run requests its own, once per scheduled time); a
    run another flow run has claimed is skipped, so an automation runs once per cause."""
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        return automation_runs.start(
            session, ws, automation, run_id, flow_run_id, scheduled_for=scheduled_for
        )


@task(name="record-action")
def record_action(run_id: int, index: int, result: dict[str, Any]) -> None:
    with session_scope() as session:
        automation_runs.record(session, run_id, index, result)


def _done(run_id: int, index: int) -> dict[str, Any] | None:
    with session_scope() as session:
        return automation_runs.result_of(session.get_one(AutomationRun, run_id), index)


def _change(current: float, previous: float) -> float | None:
    return (current - previous) / previous if previous else (None if not current else 1.0)


@task(
    name="analytics",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=only_transient,
)
def run_analytics(run_id: int, index: int) -> dict[str, Any]:
    """Read the measure over the window and the one before, and keep the summary as a
    signal with the item type it suggests."""
    done = _done(run_id, index)
    if done is not None:
        return done
    with session_scope() as session:
        ctx = automation_runs.context(session, run_id, index)
        action = ctx.action
        assert isinstance(action, AnalyticsAction)
        workspace_id = ctx.workspace.id
    now = utcnow()
    current = Window.ending_before(now, action.window_days)
    previous = Window(current.start - timedelta(days=action.window_days), current.start)
    payload: dict[str, Any] = {"measure": action.measure, "window_days": action.window_days}
    with provider_slot(action.provider):
        if action.provider == "posthog":
            measures = PostHogMeasures(open_posthog_client(workspace_id))
            try:
                if action.measure == "top_events":
                    top = measures.top_events(current)
                    before = dict(measures.top_events(previous, limit=50))
                    totals = (
                        float(sum(n for _, n in top)),
                        float(sum(before.get(e, 0) for e, _ in top)),
                    )
                    label = "Top PostHog events (" + ", ".join(f"{e} {n}" for e, n in top) + ")"
                    payload["top_events"] = top
                else:
                    assert action.event is not None
                    spec = MetricSourceSpec(
                        provider="posthog", measure="events", event=action.event
                    )
                    totals = (
                        sum(measures.measure(spec, current, now).daily.values()),
                        sum(measures.measure(spec, previous, now).daily.values()),
                    )
                    label = f"PostHog event {action.event}"
            finally:
                measures.client.close()
        else:
            stripe = StripeMeasures(open_stripe_client(workspace_id))
            spec = MetricSourceSpec(provider="stripe", measure=action.measure)
            totals = (
                sum(stripe.measure(spec, current, now).daily.values()),
                sum(stripe.measure(spec, previous, now).daily.values()),
            )
            label = LABELS[action.measure]
    value, before_value = totals
    change = _change(value, before_value)
    recommended = automation_runs.recommend(
        change, action.change_threshold, WORSE_WHEN_UP[action.measure]
    )
    moved = "no change" if change is None else f"{change:+.0%}"
    summary = (
        f"{label}: {value:g} in the {action.window_days} day(s) to {current.end:%Y-%m-%d}, "
        f"{moved} on the {action.window_days} day(s) before ({before_value:g}); "
        f"suggests a {recommended}"
    )
    payload.update(current=value, previous=before_value, change=change, recommended=recommended)
    with session_scope() as session:
        ctx = automation_runs.context(session, run_id, index)
        signal_id = automation_runs.keep_analytics_signal(session, ctx, index, summary, payload)
    notable = change is not None and abs(change) >= action.change_threshold
    return {
        "action": "analytics",
        "summary": summary,
        "signal_id": signal_id,
        "recommended": recommended,
        "stop": action.only_on_change and not notable,
    }


@task(name="request-automation-tickets")
def request_automation_tickets(run_id: int, index: int) -> list[int]:
    """Mark the items for follow-up; the links are pushed by push-ticket, each exactly once."""
    with session_scope() as session:
        ctx = automation_runs.context(session, run_id, index)
        return automation_runs.request_tickets(session, ctx, f"automation:{ctx.automation.slug}")


DRAFT_PROMPT = (
    "You write the message a product team reads in its chat channel about their customer "
    "journey. Use only the facts given; be brief (at most 8 lines), concrete, and say what "
    "deserves attention first. Plain text with '-' bullets, no headings."
)


@task(
    name="send-message",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=only_transient,
)
def send_message(run_id: int, index: int) -> dict[str, Any]:
    """Post the message (a filled template, or an LLM's draft from the same facts)."""
    done = _done(run_id, index)
    if done is not None:
        return done
    log = run_logger(__name__)
    with session_scope() as session:
        ctx = automation_runs.context(session, run_id, index)
        action = ctx.action
        assert isinstance(action, MessageAction)
        text, values = automation_runs.message_text(session, ctx)
        url = automation_runs.webhook_url(ctx)
    result: dict[str, Any] = {"action": "message", "channel": action.channel}
    if action.draft == "llm":
        facts = "\n".join(f"{name}: {value}" for name, value in values.items() if value)
        writer = LLMWriter.from_settings(get_settings().classify)
        with provider_slot("llm"):
            text = writer.write(
                [{"role": "system", "content": DRAFT_PROMPT}, {"role": "user", "content": facts}]
            )
        result.update(
            prompt_tokens=writer.usage.prompt_tokens, cost_usd=round(writer.usage.cost_usd, 6)
        )
    settings = get_settings()
    retry = RetryPolicy(
        max_attempts=settings.http.max_attempts, max_delay=settings.http.max_backoff_seconds
    )
    with (
        provider_slot(action.channel),
        ChatClient(action.channel, url, timeout=settings.http.timeout_seconds, retry=retry) as chat,
    ):
        sent = chat.post(text)
    result.update(summary=f"posted {sent} message(s) to {action.channel}", text=text[:1000])
    # Kept at once: a retry after this point must not post the message again.
    with session_scope() as session:
        automation_runs.record(session, run_id, index, result)
    log.info("automations.message.sent run=%d channel=%s parts=%d", run_id, action.channel, sent)
    return result


UPDATE_PROMPT = (
    "You keep a customer journey map current. From the signals given (each tagged with the "
    "step it was placed on), propose at most {limit} new items: an insight (what customers "
    "experience), an opportunity (a need worth solving) or a solution (what to build), each on "
    "the step number it belongs to, with a short title and a one-sentence description. Propose "
    "nothing the signals do not support."
)


@task(
    name="propose-journey-updates",
    retries=1,
    retry_delay_seconds=[30],
    retry_condition_fn=only_transient,
)
def propose_journey_updates(run_id: int, index: int) -> dict[str, Any]:
    """An LLM proposes items from the journey's recent signals; they are added machine-made."""
    done = _done(run_id, index)
    if done is not None:
        return done
    with session_scope() as session:
        ctx = automation_runs.context(session, run_id, index)
        prompt, step_ids = automation_runs.journey_prompt(session, ctx)
        limit = ctx.action.max_items
    writer = LLMWriter.from_settings(get_settings().classify)
    with provider_slot("llm"):
        proposals = writer.answer(
            [
                {"role": "system", "content": UPDATE_PROMPT.format(limit=limit)},
                {"role": "user", "content": prompt},
            ],
            Proposals,
        )
    with session_scope() as session:
        ctx = automation_runs.context(session, run_id, index)
        keys = automation_runs.apply_proposals(session, ctx, proposals, step_ids)
        result = {
            "action": "update_journey",
            "summary": f"proposed {len(keys)} machine-made item(s) to confirm",
            "items": keys,
            "prompt_tokens": writer.usage.prompt_tokens,
            "cost_usd": round(writer.usage.cost_usd, 6),
        }
        automation_runs.record(session, run_id, index, result)
    return result


@task(name="finish-automation-run")
def finish_automation_run(plan: RunPlan, error: str | None) -> str:
    """Close the run and leave its report as a markdown artifact under a stable key."""
    with session_scope() as session:
        if plan.run_id is not None and not plan.skip and not plan.problems:
            automation_runs.finish(session, plan.run_id, error)
        run = session.get(AutomationRun, plan.run_id) if plan.run_id is not None else None
        lines = [f"## {plan.name}", ""]
        if run is not None:
            covers = (
                f"{run.covers_from:%Y-%m-%d %H:%M} to {run.covers_to:%Y-%m-%d %H:%M} UTC"
                if run.covers_from and run.covers_to
                else "-"
            )
            lines += [
                f"Run {run.id}: **{run.state}** (cause: {run.cause}; covers {covers})",
                "",
                "| # | action | result |",
                "| --- | --- | --- |",
            ]
            for result in sorted(run.results, key=lambda r: int(r.get("index", 0))):
                summary = str(result.get("summary", "")).replace("|", "/").replace("\n", " ")
                lines.append(f"| {int(result['index']) + 1} | {result.get('action')} | {summary} |")
            if run.error:
                lines += ["", f"Error: {run.error}"]
        if plan.skip:
            lines += ["", f"Skipped: {plan.skip}"]
        state = run.state if run is not None else "skipped"
    report = "\n".join(lines)
    create_markdown_artifact(
        key=f"automation-{plan.workspace}-{plan.automation}".lower()[:100],
        markdown=report,
        description=f"{plan.name}: {state}",
    )
    return state
