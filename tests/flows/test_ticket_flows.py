"""push-tickets and sync-tickets run whole on a Prefect test server and report as artifacts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from flows.tickets import TicketsFailed, push_tickets, sync_tickets
from model.db import session_scope
from model.tables import Item
from tests.flows.test_pull_flows import artifact
from tests.tasks.test_tickets import link_of, request, tracker_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_push_then_sync_report_what_they_did(tracker_env: Any) -> None:  # noqa: F811
    sandbox, ids = tracker_env
    linear = request(ids["solution"], "linear")
    jira = request(ids["opportunity"], "jira")
    outcomes = push_tickets("acme")
    assert sorted(o.outcome for o in outcomes) == ["created", "created"]
    assert "created" in str(artifact("push-tickets-acme").data)
    httpx.post(
        f"{sandbox.url}/_sandbox/linear/issues/{link_of(linear).external_id}/state",
        json={"state": "Done"},
    ).raise_for_status()
    httpx.post(
        f"{sandbox.url}/_sandbox/jira/issues/{link_of(jira).external_key}/status",
        json={"status": "In Progress"},
    ).raise_for_status()
    synced = {o.tracker: o for o in sync_tickets("acme")}
    assert (synced["linear"].done, synced["jira"].changed, synced["jira"].done) == (1, 1, 0)
    assert artifact("sync-tickets-acme") is not None
    with session_scope() as session:
        assert session.get_one(Item, ids["solution"]).status == "shipped"
    assert link_of(jira).remote_status == "In Progress"


def test_a_failed_push_fails_the_run_with_the_cause(tracker_env: Any) -> None:  # noqa: F811
    sandbox, ids = tracker_env
    httpx.post(sandbox.url + "/_sandbox/keys", json={"service": "jira"})
    request(ids["opportunity"], "jira")
    with pytest.raises(TicketsFailed, match="credentials refused"):
        push_tickets("acme")
    assert "failed" in str(artifact("push-tickets-acme").data)
