"""run-automation and dispatch-automations run whole on a Prefect test server, against the
stand-ins (Slack, Linear, Stripe, an OpenAI-compatible LLM) over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.sandbox import chat
from connectors.sandbox import data as sandbox_data
from flows.automations import dispatch_automations, run_automation
from model import repository
from model.base import utcnow
from model.db import session_scope
from model.services import automations, sources
from model.settings import reset_settings
from model.tables import AutomationRun, Signal
from tests import factories
from tests.factories import ACTOR
from tests.flows.test_pull_flows import artifact
from tests.tasks.test_tickets import tracker_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def env(tracker_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    sandbox, ids = tracker_env
    monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "a-long-random-test-key-0123456789")
    monkeypatch.setenv("JOURNEYOPS_STRIPE__API_KEY", sandbox_data.STRIPE_KEY)
    reset_settings()
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        sources.configure_source(
            session, ws, "stripe", base_url=f"{sandbox.url}/stripe", enabled=True
        )
        journey = repository.journeys(session, ws.id)[0]
        step = repository.steps_of_journey(session, journey.id)[0]
        for number in range(3):
            session.add(
                Signal(
                    workspace_id=ws.id, journey_id=journey.id, source="manual",
                    external_id=f"m{number}", occurred_at=utcnow(),
                    text=f"Cannot find where the API key goes ({number})", step_id=step.id,
                    state="classified",
                )
            )  # fmt: skip
        ids["journey"], ids["step"] = journey.slug, step.name
    return sandbox, ids


def declare(data: dict[str, Any], *, active: bool = True) -> int:
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        automation, _ = automations.save(session, ws, automations.parse_spec(data), ACTOR)
        if active:
            automations.activate(session, automation, ACTOR)
        return automation.id


def run_once(slug: str) -> str:
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        automation = automations.get_automation(session, ws.id, slug)
        return str(automations.request_manual_run(session, automation, ACTOR).id)


def messages(sandbox: Any) -> list[dict[str, str]]:
    answer = httpx.get(f"{sandbox.url}/_sandbox/messages").json()
    return list(answer["messages"])


def run_row(run_id: str) -> AutomationRun:
    with session_scope() as session:
        return session.get_one(AutomationRun, int(run_id))


def test_the_weekly_pulse_posts_to_slack_once(env: Any) -> None:
    sandbox, ids = env
    declare(
        {
            "name": "Pulse",
            "trigger": {"kind": "schedule", "every": "weekly", "weekdays": ["mon"]},
            "filters": {"journeys": [ids["journey"]]},
            "actions": [
                {
                    "type": "message",
                    "channel": "slack",
                    "webhook_url": chat.slack_url(sandbox.url),
                    "template": "*{journey}: weekly pulse*\n{pulse}",
                }
            ],
        }
    )
    run_id = run_once("pulse")
    assert run_automation("acme", "pulse", run_id) == "succeeded"
    # The same run started again (a duplicate trigger) does nothing.
    assert run_automation("acme", "pulse", run_id) == "succeeded"
    [message] = messages(sandbox)
    assert message["channel"] == "slack"
    assert message["text"].startswith("*Trial to paid: weekly pulse*")
    assert "- 3 new signals" in message["text"]
    assert f"Most signals: {ids['step']} (3)" in message["text"]
    report = str(artifact("automation-acme-pulse").data)
    assert "succeeded" in report
    assert "posted 1 message(s) to slack" in report


def test_a_threshold_crossing_reaches_linear_through_the_dispatcher(env: Any) -> None:
    sandbox, _ = env
    declare(
        {
            "name": "Quick wins",
            "trigger": {"kind": "threshold", "impact_at_least": 4, "effort_at_most": 2},
            "filters": {"item_types": ["opportunity"]},
            "actions": [{"type": "ticket", "tracker": "linear"}],
        }
    )
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        step = repository.steps_of_journey(session, repository.journeys(session, ws.id)[0].id)[0]
        factories.placed(session, ws, step, "opportunity", "Skip the key step", impact=5, effort=1)
    [started] = dispatch_automations(grace_seconds=0)
    assert started in str(artifact("dispatch-automations").data)
    assert started.endswith(": here")
    linear = httpx.get(f"{sandbox.url}/_sandbox/trackers").json()["linear"]["issues"]
    assert [issue["title"] for issue in linear] == ["Skip the key step"]
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        automation = automations.get_automation(session, ws.id, "quick-wins")
        [run] = repository.automation_runs(session, automation.id)
        assert (run.cause, run.state) == ("threshold", "succeeded")
        assert "created" in run.results[0]["summary"]
    assert dispatch_automations(grace_seconds=0) == []


def test_a_failing_action_fails_the_run_with_the_cause(env: Any) -> None:
    sandbox, _ = env
    declare(
        {
            "name": "Broken hook",
            "trigger": {"kind": "item_created"},
            "actions": [
                {
                    "type": "message",
                    "channel": "slack",
                    "webhook_url": f"{sandbox.url}/slack/services/T1/B1/revoked",
                    "template": "New item: {item}",
                }
            ],
        }
    )
    run_id = run_once("broken-hook")
    with pytest.raises(Exception, match="no_service"):
        run_automation("acme", "broken-hook", run_id)
    row = run_row(run_id)
    assert row.state == "failed"
    assert "no_service" in (row.error or "")
    assert messages(sandbox) == []


def test_analytics_then_an_llm_drafted_message(
    env: Any, llm_stub_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, ids = env
    monkeypatch.setenv("JOURNEYOPS_CLASSIFY__LLM_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("JOURNEYOPS_CLASSIFY__LLM_API_BASE", llm_stub_server.url + "/v1")
    monkeypatch.setenv("JOURNEYOPS_CLASSIFY__LLM_API_KEY", "stub-key")
    reset_settings()
    declare(
        {
            "name": "Payments",
            "trigger": {"kind": "schedule", "every": "daily"},
            "filters": {"journeys": [ids["journey"]]},
            "actions": [
                {
                    "type": "analytics",
                    "provider": "stripe",
                    "measure": "failed_payments",
                    "window_days": 30,
                    "step": ids["step"],
                },
                {
                    "type": "message",
                    "channel": "discord",
                    "draft": "llm",
                    "webhook_url": chat.discord_url(sandbox.url),
                },
                {"type": "update_journey", "max_items": 2},
            ],
        }
    )
    run_id = run_once("payments")
    assert run_automation("acme", "payments", run_id) == "succeeded"
    row = run_row(run_id)
    analytics, message, update = sorted(row.results, key=lambda r: r["index"])
    assert analytics["summary"].startswith("Failed Stripe payments: ")
    assert analytics["recommended"] in {"insight", "opportunity", "metric"}
    with session_scope() as session:
        signal = session.get_one(Signal, analytics["signal_id"])
        assert (signal.source, signal.state) == ("stripe", "classified")
        assert signal.payload["recommended"] == analytics["recommended"]
    [posted] = messages(sandbox)
    assert posted["channel"] == "discord"
    assert posted["text"].startswith("Journey update (drafted):")
    assert message["prompt_tokens"] > 0
    [key] = update["items"]
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        made = repository.item_by_key(session, ws.id, key)
        assert made is not None
        assert (made.type, made.machine_made) == ("insight", True)
        assert made.title == f"Customers report friction at {ids['step']}"
