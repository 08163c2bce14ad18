"""Signals over HTTP: listing and the review endpoint, inside the caller's workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from model.db import session_scope
from model.services import journey_files, journeys, signal_files, workspaces
from tests.api.test_api import auth, issue


@pytest.fixture
def client(committed_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(committed_db)) as test_client:
        yield test_client


@pytest.fixture
def setup(client: TestClient) -> dict[str, str]:
    tokens = {"editor": issue("acme", "editor"), "viewer": issue("acme", "viewer")}
    with session_scope() as session:
        ws = workspaces.get_workspace(session, "acme")
        journey_files.import_journey(
            session,
            ws,
            {
                "journey": "J",
                "stages": [
                    {"name": "S", "steps": [{"name": "Card arrives"}, {"name": "Account closes"}]}
                ],
            },
            "tests",
        )
        journey = journeys.get_journey(session, ws.id, "j")
        signal_files.import_signals(
            session, ws, journey, [{"text": "where is my card"}, {"text": "close it"}]
        )
    return tokens


class TestSignals:
    def test_list_and_reassign(self, client: TestClient, setup: dict[str, str]) -> None:
        listed = client.get(
            "/signals", params={"state": "new"}, headers=auth(setup["viewer"])
        ).json()
        assert {s["text"] for s in listed} == {"where is my card", "close it"}
        target = next(s for s in listed if s["text"] == "close it")
        body = {"action": "reassign", "journey": "j", "step": "Account closes"}
        reviewed = client.post(
            f"/signals/{target['id']}/review", json=body, headers=auth(setup["editor"])
        )
        assert reviewed.status_code == 200
        assert (reviewed.json()["state"], reviewed.json()["classifier"]) == ("confirmed", "person")

    def test_review_errors_and_roles(self, client: TestClient, setup: dict[str, str]) -> None:
        [first, *_] = client.get("/signals", headers=auth(setup["viewer"])).json()
        assert (
            client.post(
                f"/signals/{first['id']}/review",
                json={"action": "noise"},
                headers=auth(setup["viewer"]),
            ).status_code
            == 403
        )
        unplaced = client.post(
            f"/signals/{first['id']}/review",
            json={"action": "accept"},
            headers=auth(setup["editor"]),
        )
        assert unplaced.status_code == 422
        assert (
            client.post(
                f"/signals/{first['id']}/review",
                json={"action": "shred"},
                headers=auth(setup["editor"]),
            ).status_code
            == 422
        )
        assert (
            client.post(
                f"/signals/{first['id']}/review",
                json={"action": "noise"},
                headers=auth(setup["editor"]),
            ).json()["state"]
            == "ignored"
        )

    def test_another_workspace_sees_no_signals(
        self, client: TestClient, setup: dict[str, str]
    ) -> None:
        intruder = issue("globex", "owner")
        assert client.get("/signals", headers=auth(intruder)).json() == []
        [first, *_] = client.get("/signals", headers=auth(setup["viewer"])).json()
        assert (
            client.post(
                f"/signals/{first['id']}/review", json={"action": "noise"}, headers=auth(intruder)
            ).status_code
            == 404
        )
