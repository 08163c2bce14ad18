"""Tickets over real HTTP against the Linear and Jira stand-ins: full context, exactly once,
sync back to shipped with metric snapshots, and the error paths."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.base import SignalRecord
from connectors.sandbox import trackers as stand_in
from model import repository
from model.db import session_scope
from model.services import items, signals, tickets
from model.settings import reset_settings
from model.tables import Item, Signal, SignalEvidence, TicketLink
from tasks import tickets as ticket_tasks
from tests import factories

ACTOR = "tests"


@pytest.fixture
def tracker_env(committed_db: str, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A journey with an insight backed by evidence, an opportunity, a solution and a metric,
    and both trackers pointing at the stand-ins."""
    monkeypatch.setenv("JOURNEYOPS_LINEAR__API_KEY", stand_in.LINEAR_KEY)
    monkeypatch.setenv("JOURNEYOPS_LINEAR__URL", sandbox.url + "/linear/graphql")
    monkeypatch.setenv("JOURNEYOPS_JIRA__URL", sandbox.url + "/jira")
    monkeypatch.setenv("JOURNEYOPS_JIRA__EMAIL", stand_in.JIRA_EMAIL)
    monkeypatch.setenv("JOURNEYOPS_JIRA__API_TOKEN", stand_in.JIRA_TOKEN)
    monkeypatch.setenv("JOURNEYOPS_TICKETS__PUBLIC_URL", "https://journeys.acme.example")
    monkeypatch.setenv("JOURNEYOPS_HTTP__MAX_ATTEMPTS", "3")
    monkeypatch.setenv("JOURNEYOPS_HTTP__MAX_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("JOURNEYOPS_HTTP__TIMEOUT_SECONDS", "2")
    reset_settings()
    ids: dict[str, int] = {}
    with session_scope() as session:
        ws = factories.workspace(session)
        journey, _stages, steps = factories.journey(session, ws, stages=1, steps=1)
        journey.linear_team_key, journey.jira_project_key = "ENG", "OPS"
        insight = factories.placed(session, ws, steps[0], "insight", "Admins stall at API keys")
        opportunity = factories.placed(
            session,
            ws,
            steps[0],
            "opportunity",
            "Guide admins through keys",
            impact=4,
            effort=2,
            priority="high",
        )
        solution = factories.placed(session, ws, steps[0], "solution", "Key wizard")
        metric = factories.placed(
            session,
            ws,
            steps[0],
            "metric",
            "Integration connect rate",
            baseline=41.0,
            current=43.0,
            target=60.0,
            unit="%",
            direction="higher",
        )
        items.link_items(session, insight, opportunity, ACTOR)
        items.link_items(session, opportunity, solution, ACTOR)
        items.link_items(session, opportunity, metric, ACTOR)
        items.link_items(session, solution, metric, ACTOR)
        signals.upsert_signals(
            session,
            ws.id,
            "intercom",
            [
                SignalRecord(
                    external_id=f"c{n}",
                    occurred_at=datetime(2026, 10, n, tzinfo=UTC),
                    text=f"I cannot find where the API key goes (ticket {n})",
                    payload={},
                    version=str(n),
                )
                for n in range(1, 6)
            ],
        )
        for signal in session.scalars(select(Signal)):
            session.add(SignalEvidence(signal_id=signal.id, item_id=insight.id))
        ids.update(
            workspace=ws.id, opportunity=opportunity.id, solution=solution.id, metric=metric.id
        )
    yield sandbox, ids
    reset_settings()


def request(item_id: int, tracker: str) -> int:
    with session_scope() as session:
        item = session.get_one(Item, item_id)
        link, _ = tickets.request_ticket(session, item, tracker, ACTOR)
        return link.id


def remote(sandbox: Any) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(sandbox.url + "/_sandbox/trackers").json()
    return body


def link_of(link_id: int) -> TicketLink:
    with session_scope() as session:
        link = session.get_one(TicketLink, link_id)
        session.expunge(link)
        return link


def fault(sandbox: Any, **spec: Any) -> None:
    httpx.post(sandbox.url + "/_sandbox/faults", json=spec).raise_for_status()


class TestCreate:
    def test_linear_ticket_carries_the_context_and_links_back(self, tracker_env: Any) -> None:
        sandbox, ids = tracker_env
        link_id = request(ids["opportunity"], "linear")
        outcome = ticket_tasks.push_ticket.fn(link_id)
        assert outcome.outcome == "created"
        assert outcome.ticket == "ENG-1"
        [issue] = remote(sandbox)["linear"]["issues"]
        description = issue["description"]
        assert issue["title"] == "Guide admins through keys"
        assert issue["priority"] == 2
        assert "Stage 0 → Step 0.0" in description
        assert (
            "5 signal(s) from intercom, first seen 2026-10-01, last seen 2026-10-05" in description
        )
        assert description.count("> I cannot find where the API key goes") == 3
        assert "Integration connect rate: baseline 41%, now 43%, target 60%" in description
        url = f"https://journeys.acme.example/items/{ids['opportunity']}"
        assert f"]({url})" in description
        [attachment] = remote(sandbox)["linear"]["attachments"]
        assert (attachment["url"], attachment["issueId"]) == (url, issue["id"])
        link = link_of(link_id)
        assert (link.state, link.external_key, link.remote_status) == ("linked", "ENG-1", "Todo")
        assert link.metric_before is not None
        assert link.metric_before["metrics"][0]["current"] == 43.0
        with session_scope() as session:
            item = session.get_one(Item, ids["opportunity"])
            assert {"url": issue["url"], "label": "Linear ENG-1"} in item.external_links
            actions = [e.action for e in repository.item_history(session, item.id)]
            assert "ticket_linked" in actions

    def test_jira_ticket_is_adf_with_a_label_marker_and_a_remote_link(
        self, tracker_env: Any
    ) -> None:
        sandbox, ids = tracker_env
        link_id = request(ids["solution"], "jira")
        assert ticket_tasks.push_ticket.fn(link_id).outcome == "created"
        [issue] = remote(sandbox)["jira"]["issues"]
        fields = issue["fields"]
        link = link_of(link_id)
        assert f"journeyops-{link.marker}" in fields["labels"]
        assert fields["description"]["type"] == "doc"
        text = str(fields["description"])
        assert "5 signal(s) from intercom" in text
        assert "Integration connect rate" in text
        links = remote(sandbox)["jira"]["remote_links"][issue["key"]]
        assert [x["object"]["url"] for x in links] == [
            f"https://journeys.acme.example/items/{ids['solution']}"
        ]
        assert link.url is not None
        assert link.url.endswith(f"/browse/{issue['key']}")


class TestExactlyOnce:
    def test_asking_twice_and_pushing_twice_makes_one_ticket(self, tracker_env: Any) -> None:
        sandbox, ids = tracker_env
        first = request(ids["opportunity"], "linear")
        assert request(ids["opportunity"], "linear") == first
        ticket_tasks.push_ticket.fn(first)
        assert ticket_tasks.push_ticket.fn(first).outcome == "skipped"
        assert len(remote(sandbox)["linear"]["issues"]) == 1

    @pytest.mark.parametrize(
        ("tracker", "path"), [("linear", "/linear"), ("jira", "/rest/api/3/issue")]
    )
    def test_a_lost_answer_is_found_by_its_marker_not_created_again(
        self, tracker_env: Any, monkeypatch: pytest.MonkeyPatch, tracker: str, path: str
    ) -> None:
        sandbox, ids = tracker_env
        monkeypatch.setenv("JOURNEYOPS_HTTP__TIMEOUT_SECONDS", "0.5")
        reset_settings()
        link_id = request(ids["opportunity"], tracker)
        # The create request succeeds on the tracker, but its answer comes too late.
        service = "linear" if tracker == "linear" else "jira"
        skip = 3 if tracker == "linear" else 0  # Linear: two lookups and the team come first
        fault(sandbox, service=service, status=200, delay=1.0, path=path, after=skip, times=1)
        first = ticket_tasks.push_ticket.fn(link_id)
        if first.outcome == "retrying":
            # The tracker had not finished when we looked; the next attempt finds it.
            assert link_of(link_id).state == "creating"
            time.sleep(1.0)
            first = ticket_tasks.push_ticket.fn(link_id)
        assert first.outcome == "found", first
        issues = remote(sandbox)[tracker]["issues"]
        assert len(issues) == 1
        assert link_of(link_id).state == "linked"

    def test_a_crash_after_creating_is_reconciled_by_the_next_run(self, tracker_env: Any) -> None:
        sandbox, ids = tracker_env
        link_id = request(ids["opportunity"], "linear")
        with session_scope() as session:
            assert tickets.claim(session, link_id)
            link = session.get_one(TicketLink, link_id)
            draft = tickets.draft(session, link)
        tracker = ticket_tasks.open_tracker("linear")
        tracker.create(draft, "ENG")  # ... and the run dies before recording anything.
        tracker.close()
        with session_scope() as session:  # the claim lapses
            session.get_one(TicketLink, link_id).claimed_until = datetime(2000, 1, 1, tzinfo=UTC)
        assert ticket_tasks.push_ticket.fn(link_id).outcome == "found"
        assert len(remote(sandbox)["linear"]["issues"]) == 1
        assert len(remote(sandbox)["linear"]["attachments"]) == 1

    def test_racing_runs_create_one_ticket(self, tracker_env: Any) -> None:
        sandbox, ids = tracker_env
        link_id = request(ids["solution"], "jira")
        fault(sandbox, service="jira", status=200, delay=0.3, path="/search/jql", times=4)
        outcomes: list[str] = []

        def run() -> None:
            outcomes.append(ticket_tasks.push_ticket.fn(link_id).outcome)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["created", "skipped", "skipped", "skipped"]
        assert len(remote(sandbox)["jira"]["issues"]) == 1

    def test_linear_rate_limits_are_waited_out(self, tracker_env: Any) -> None:
        sandbox, ids = tracker_env
        link_id = request(ids["opportunity"], "linear")
        fault(sandbox, service="linear", status=429, times=2)
        assert ticket_tasks.push_ticket.fn(link_id).outcome == "created"
        assert len(remote(sandbox)["linear"]["issues"]) == 1


class TestSyncBack:
    def test_done_ships_the_solution_closes_the_opportunity_and_snapshots_metrics(
        self, tracker_env: Any
    ) -> None:
        sandbox, ids = tracker_env
        link_id = request(ids["solution"], "linear")
        ticket_tasks.push_ticket.fn(link_id)
        issue_id = link_of(link_id).external_id
        with session_scope() as session:
            items.update_item(
                session, session.get_one(Item, ids["metric"]), {"current": 55.0}, ACTOR
            )
        unchanged = ticket_tasks.sync_tracker.fn("acme", "linear")
        assert (unchanged.checked, unchanged.changed) == (1, 0)
        httpx.post(
            f"{sandbox.url}/_sandbox/linear/issues/{issue_id}/state", json={"state": "Done"}
        ).raise_for_status()
        synced = ticket_tasks.sync_tracker.fn("acme", "linear")
        assert (synced.changed, synced.done) == (1, 1)
        link = link_of(link_id)
        assert link.done
        assert link.shipped_at is not None
        assert link.metric_before is not None
        assert link.metric_after is not None
        before = link.metric_before["metrics"][0]["current"]
        after = link.metric_after["metrics"][0]["current"]
        assert (before, after) == (43.0, 55.0)
        with session_scope() as session:
            assert session.get_one(Item, ids["solution"]).status == "shipped"
            assert session.get_one(Item, ids["opportunity"]).status == "closed"
            events = repository.item_history(session, ids["solution"])
            done = next(e for e in events if e.action == "ticket_done")
            assert done.changes == {"ticket_status": ["Todo", "Done"]}
        # Reading the same state again changes nothing and writes no history.
        assert ticket_tasks.sync_tracker.fn("acme", "linear").changed == 0

    def test_a_jira_webhook_moves_the_item_and_its_echo_does_nothing(
        self, tracker_env: Any
    ) -> None:
        from model.services import webhooks

        _sandbox, ids = tracker_env
        link_id = request(ids["solution"], "jira")
        ticket_tasks.push_ticket.fn(link_id)
        link = link_of(link_id)
        issue = {
            "id": link.external_id,
            "key": link.external_key,
            "fields": {"status": {"name": "To Do", "statusCategory": {"key": "new"}}},
        }
        done = {
            **issue,
            "fields": {"status": {"name": "Done", "statusCategory": {"key": "done"}}},
        }
        with session_scope() as session:
            webhooks.store_deliveries(
                session,
                [
                    webhooks.Delivery(
                        ids["workspace"],
                        "jira",
                        f"d{number}",
                        "jira:issue_updated",
                        json.dumps({"webhookEvent": "jira:issue_updated", "issue": body}).encode(),
                    )
                    for number, body in enumerate((issue, done, done))
                ],
            )
        with session_scope() as session:
            report = webhooks.drain(session)
        assert (report.processed, report.tickets) == (3, 1)
        with session_scope() as session:
            assert session.get_one(Item, ids["solution"]).status == "shipped"
            events = repository.item_history(session, ids["solution"])
            assert sum(1 for e in events if e.action == "ticket_done") == 1

    def test_a_deleted_ticket_is_reported_on_the_link(self, tracker_env: Any) -> None:
        _sandbox, ids = tracker_env
        link_id = request(ids["solution"], "jira")
        ticket_tasks.push_ticket.fn(link_id)
        with session_scope() as session:
            session.get_one(TicketLink, link_id).external_id = "99999"
        assert ticket_tasks.sync_tracker.fn("acme", "jira").missing == 1
        assert "no longer exists" in (link_of(link_id).error or "")


class TestFailures:
    def test_revoked_credentials_fail_the_link_with_the_reason(self, tracker_env: Any) -> None:
        sandbox, ids = tracker_env
        httpx.post(sandbox.url + "/_sandbox/keys", json={"service": "linear"})
        link_id = request(ids["opportunity"], "linear")
        outcome = ticket_tasks.push_ticket.fn(link_id)
        assert outcome.outcome == "failed"
        link = link_of(link_id)
        assert link.state == "failed"
        assert "credentials refused" in (link.error or "")
        assert link.external_id is None
        assert remote(sandbox)["linear"]["issues"] == []
        # Fixed credentials and a new request: one ticket, same link.
        httpx.post(sandbox.url + "/_sandbox/keys", json={"service": "linear", "revoke": False})
        assert request(ids["opportunity"], "linear") == link_id
        assert ticket_tasks.push_ticket.fn(link_id).outcome == "created"

    def test_an_unknown_team_or_a_deleted_project_is_a_clear_error(self, tracker_env: Any) -> None:
        sandbox, ids = tracker_env
        with session_scope() as session:
            journey = repository.first_journey_of_item(session, ids["opportunity"])
            assert journey is not None
            journey.linear_team_key = "NOPE"
        linear_link = request(ids["opportunity"], "linear")
        assert ticket_tasks.push_ticket.fn(linear_link).outcome == "failed"
        assert "no Linear team has the key 'NOPE'" in (link_of(linear_link).error or "")
        httpx.delete(sandbox.url + "/_sandbox/jira/projects/OPS")
        jira_link = request(ids["opportunity"], "jira")
        assert ticket_tasks.push_ticket.fn(jira_link).outcome == "failed"
        assert "no Jira project has the key 'OPS'" in (link_of(jira_link).error or "")
        assert remote(sandbox)["linear"]["issues"] == []
        assert remote(sandbox)["jira"]["issues"] == []
        with session_scope() as session:
            assert session.scalar(select(func.count()).select_from(TicketLink)) == 2
            events = repository.item_history(session, ids["opportunity"])
            assert sum(1 for e in events if e.action == "ticket_failed") == 2

    def test_only_opportunities_and_solutions_become_tickets(self, tracker_env: Any) -> None:
        from model.errors import InvalidInput

        _, ids = tracker_env
        with pytest.raises(InvalidInput, match="only opportunities and solutions"):
            request(ids["metric"], "linear")
