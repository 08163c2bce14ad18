"""Automations: declared and checked; runs requested by their causes, once each."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from model import repository
from model.automations import AutomationSpec, ScheduleTrigger
from model.base import utcnow
from model.db import session_scope
from model.errors import Conflict, InvalidInput
from model.services import automations, items, webhooks
from model.settings import reset_settings
from model.tables import AutomationRun, Signal, WebhookDelivery
from tests import factories
from tests.factories import ACTOR

SLACK = "https://hooks.slack.com/services/T000/B000/abcdefabcdef"


@pytest.fixture
def env(committed_db: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "a-long-random-test-key-0123456789")
    monkeypatch.setenv("JOURNEYOPS_LINEAR__API_KEY", "lin_api_test")
    reset_settings()
    with session_scope() as session:
        ws = factories.workspace(session)
        journey, _stages, steps = factories.journey(session, ws, stages=1, steps=2)
        return {"workspace": ws.id, "journey": journey.slug, "steps": [s.id for s in steps]}


def spec(**overrides: Any) -> AutomationSpec:
    data: dict[str, Any] = {
        "name": "Quick wins",
        "trigger": {"kind": "threshold", "impact_at_least": 4, "effort_at_most": 2},
        "filters": {"item_types": ["opportunity"]},
        "actions": [{"type": "ticket", "tracker": "linear"}],
        **overrides,
    }
    return automations.parse_spec(data)


def runs(slug: str = "quick-wins") -> list[AutomationRun]:
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        automation = automations.get_automation(session, ws.id, slug)
        return list(reversed(repository.automation_runs(session, automation.id)))


def save_active(data: AutomationSpec) -> None:
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        automation, _ = automations.save(session, ws, data, ACTOR)
        automations.activate(session, automation, ACTOR)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"actions": [{"type": "pull"}] * 4}, "actions: List should have at most 3 items"),
        (
            {"actions": [{"type": "message", "channel": "slack", "template": "{secret}"}]},
            "unknown placeholders ['secret']",
        ),
        (
            {"trigger": {"kind": "schedule", "every": "weekly", "weekdays": ["funday"]}},
            "trigger.schedule.weekdays.0",
        ),
        ({"trigger": {"kind": "schedule", "every": "daily", "timezone": "Mars/Base"}}, "IANA"),
        ({"trigger": {"kind": "threshold"}}, "a threshold needs"),
        ({"trigger": {"kind": "sometimes"}}, "trigger"),
        ({"filters": {"changed_fields": ["colour"]}}, "not item fields"),
        (
            {"actions": [{"type": "analytics", "provider": "stripe", "measure": "top_events"}]},
            "stripe offers",
        ),
    ],
)
def test_a_malformed_automation_says_which_field_to_fix(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        spec(**data)


def test_schedules_become_cron_in_their_timezone() -> None:
    weekly = ScheduleTrigger(
        every="weekly", weekdays=["fri", "mon"], at="09:30", timezone="Europe/Berlin"
    )
    assert weekly.cron() == "30 9 * * mon,fri"
    assert ScheduleTrigger(every="hourly", at="00:05").cron() == "5 * * * *"
    assert ScheduleTrigger(every="daily", at="07:00").cron() == "0 7 * * *"


def test_activation_checks_first_and_says_what_is_missing(env: dict[str, Any]) -> None:
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        pulse = automations.from_template(session, ws, "weekly-pulse", ACTOR, journey="nowhere")
        problems = automations.check(session, pulse)
        assert problems == [
            "filters.journeys: no journey 'nowhere' in this workspace",
            "action 1 (message): no journey 'nowhere' in this workspace",
            "action 1 (message): give the slack incoming webhook URL",
        ]
        with pytest.raises(Conflict, match=r"cannot be activated: filters\.journeys"):
            automations.activate(session, pulse, ACTOR)
        assert pulse.status == "draft"
        ticket_on_schedule = spec(
            name="Tickets daily", trigger={"kind": "schedule", "every": "daily"}
        )
        automation, _ = automations.save(session, ws, ticket_on_schedule, ACTOR)
        assert automations.check(session, automation) == [
            "action 1 (ticket): only an item trigger has an item to ticket; name a step instead"
        ]


def test_a_webhook_url_is_stored_encrypted_and_kept_across_edits(env: dict[str, Any]) -> None:
    message = {"type": "message", "channel": "slack", "template": "{pulse}", "webhook_url": SLACK}
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        data = spec(
            name="Pulse",
            trigger={"kind": "schedule", "every": "weekly", "weekdays": ["mon"]},
            filters={"journeys": [env["journey"]]},
            actions=[message],
        )
        automation, created = automations.save(session, ws, data, ACTOR)
        assert created
        stored = json.dumps(automation.actions)
        assert SLACK not in stored
        assert "abcdefabcdef" not in stored
        assert automation.actions[0]["webhook_url_hint"] == "hooks.slack.com/...cdef"
        assert SLACK not in json.dumps(automations.public_spec(automation))
        edited = data.model_copy(
            update={"actions": [data.actions[0].model_copy(update={"webhook_url": None})]}
        )
        again, created = automations.save(session, ws, edited, ACTOR)
        assert not created
        assert again.id == automation.id
        assert automations.check(session, again) == []


def test_a_threshold_crossing_requests_one_run_when_the_change_commits(
    env: dict[str, Any],
) -> None:
    save_active(spec())
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        step = repository.step_by_id(session, ws.id, env["steps"][0])
        assert step is not None
        opportunity = factories.placed(
            session, ws, step, "opportunity", "Guide", impact=3, effort=2
        )
        factories.placed(session, ws, step, "insight", "Stalls", severity=4)
        opportunity_id = opportunity.id
    assert runs() == []

    def change(**fields: Any) -> None:
        with session_scope() as session:
            item = items.get_item(session, env["workspace"], opportunity_id)
            items.update_item(session, item, fields, ACTOR)

    change(impact=4)
    [first] = runs()
    assert (first.cause, first.state, first.context["item_id"]) == (
        "threshold",
        "pending",
        opportunity_id,
    )
    change(title="Guide admins")  # still over the threshold: not a new crossing
    change(effort=3)  # falls below
    assert len(runs()) == 1
    change(effort=1)  # crosses again
    assert len(runs()) == 2


def test_a_rolled_back_change_requests_nothing(env: dict[str, Any]) -> None:
    save_active(spec())

    def write_then_fail() -> None:
        with session_scope() as session:
            ws = repository.workspace_by_slug(session, "acme")
            assert ws is not None
            factories.item(session, ws, "opportunity", "Guide", impact=5, effort=1)
            raise RuntimeError("the request failed after the write")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert runs() == []


def test_filters_and_status_decide_which_automations_fire(env: dict[str, Any]) -> None:
    save_active(spec(filters={"item_types": ["opportunity"], "journeys": [env["journey"]]}))
    save_active(spec(name="Status", trigger={"kind": "status_changed", "to_status": "prioritized"},
                     actions=[{"type": "ticket", "tracker": "linear"}]))  # fmt: skip
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        automations.pause(session, automations.get_automation(session, ws.id, "status"), ACTOR)
        factories.item(session, ws, "opportunity", "Off the journey", impact=5, effort=1)
        factories.item(session, ws, "solution", "Not an opportunity", impact=5, effort=1)
        step = repository.step_by_id(session, ws.id, env["steps"][1])
        assert step is not None
        placed = factories.placed(session, ws, step, "opportunity", "On it", impact=5, effort=1)
        items.update_item(session, placed, {"status": "prioritized"}, ACTOR)
    assert [run.context["item_title"] for run in runs()] == ["On it"]
    assert runs("status") == []


def test_each_processed_webhook_delivery_fires_once(env: dict[str, Any]) -> None:
    save_active(
        spec(
            name="Failed payment",
            trigger={
                "kind": "webhook",
                "provider": "stripe",
                "event_types": ["invoice.payment_failed"],
            },
            filters={},
            actions=[{"type": "analytics", "provider": "stripe", "measure": "failed_payments"}],
        )
    )
    with session_scope() as session:
        for number, kind in enumerate(["invoice.payment_failed", "customer.created"]):
            body = {"id": f"evt_{number}", "type": kind, "created": 1_790_000_000,
                    "data": {"object": {"id": f"in_{number}", "customer": "cus_1"}}}  # fmt: skip
            session.add(
                WebhookDelivery(
                    workspace_id=env["workspace"], provider="stripe", delivery_id=f"evt_{number}",
                    event_type=kind, body=json.dumps(body),
                )
            )  # fmt: skip
    with session_scope() as session:
        report = webhooks.drain(session)
    with session_scope() as session:
        again = webhooks.drain(session)
    assert (report.automations, again.automations) == (1, 0)
    [run] = runs("failed-payment")
    assert (run.cause, run.context["event_type"]) == ("webhook", "invoice.payment_failed")


def test_evidence_on_a_step_fires_once_per_window(env: dict[str, Any]) -> None:
    save_active(
        spec(
            name="Evidence",
            trigger={"kind": "threshold", "evidence_at_least": 3, "window_days": 7},
            filters={"journeys": [env["journey"]]},
            actions=[{"type": "classify"}],
        )
    )
    now = utcnow()
    with session_scope() as session:
        journey = repository.journeys(session, env["workspace"])[0]
        for number in range(4):
            session.add(
                Signal(
                    workspace_id=env["workspace"], journey_id=journey.id, source="manual",
                    external_id=f"s{number}", occurred_at=now - timedelta(days=number),
                    text=f"signal {number}", step_id=env["steps"][0 if number < 3 else 1],
                    state="classified",
                )
            )  # fmt: skip
        session.flush()
        first = automations.match_evidence(session, env["workspace"], journey.id, now)
        second = automations.match_evidence(session, env["workspace"], journey.id, now)
    assert [run.context["step_id"] for run in first] == [env["steps"][0]]
    assert second == []


def test_a_schedule_runs_once_per_scheduled_minute_whatever_deploys_it(env: dict[str, Any]) -> None:
    from model.services import automation_runs

    save_active(
        spec(
            name="Pulse",
            trigger={"kind": "schedule", "every": "weekly", "weekdays": ["mon"]},
            filters={"journeys": [env["journey"]]},
            actions=[{"type": "classify"}],
        )
    )
    due = utcnow().replace(second=0, microsecond=0)
    with session_scope() as session:
        ws = repository.workspace_by_slug(session, "acme")
        assert ws is not None
        first = automation_runs.start(session, ws, "pulse", None, "flow-run-a", scheduled_for=due)
        second = automation_runs.start(
            session, ws, "pulse", None, "flow-run-b", scheduled_for=due + timedelta(seconds=20)
        )
        later = automation_runs.start(
            session, ws, "pulse", None, "flow-run-c", scheduled_for=due + timedelta(days=7)
        )
    assert first.skip is None
    assert second.skip is not None
    assert "is running" in second.skip
    assert later.skip is None
    assert later.run_id != first.run_id
