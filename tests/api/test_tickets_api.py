"""Ticket links over HTTP: ask for follow-up once, see it, stay inside the workspace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.test_api import auth, issue


@pytest.fixture
def client(committed_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(committed_db)) as test_client:
        yield test_client


def test_request_list_and_isolation(client: TestClient) -> None:
    editor = issue("acme", "editor")
    viewer = issue("acme", "viewer")
    client.post("/journeys", json={"name": "Trial", "linear_team_key": "ENG"}, headers=auth(editor))
    stage = client.post("/journeys/trial/stages", json={"name": "Setup"}, headers=auth(editor))
    step = client.post(
        f"/stages/{stage.json()['id']}/steps", json={"name": "Connect"}, headers=auth(editor)
    ).json()["id"]
    made = {}
    for kind in ("opportunity", "metric"):
        made[kind] = client.post(
            "/items", json={"type": kind, "title": f"A {kind}"}, headers=auth(editor)
        ).json()["id"]
        client.put(f"/steps/{step}/items/{made[kind]}", headers=auth(editor))
    path = f"/items/{made['opportunity']}/tickets"

    first = client.post(path, json={"tracker": "linear"}, headers=auth(editor))
    assert first.status_code == 201
    assert (first.json()["state"], first.json()["destination"]) == ("requested", "ENG")
    again = client.post(path, json={"tracker": "linear"}, headers=auth(editor))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]

    no_project = client.post(path, json={"tracker": "jira"}, headers=auth(editor))
    assert no_project.status_code == 422
    assert "jira_project_key" in no_project.json()["detail"]
    metric = client.post(
        f"/items/{made['metric']}/tickets", json={"tracker": "linear"}, headers=auth(editor)
    )
    assert metric.status_code == 422
    assert client.post(path, json={"tracker": "asana"}, headers=auth(editor)).status_code == 422
    assert client.post(path, json={"tracker": "linear"}, headers=auth(viewer)).status_code == 403

    assert [t["tracker"] for t in client.get(path, headers=auth(viewer)).json()] == ["linear"]
    listed = client.get("/tickets", params={"state": "requested"}, headers=auth(viewer)).json()
    assert [t["id"] for t in listed] == [first.json()["id"]]
    assert client.get("/tickets", params={"state": "linked"}, headers=auth(viewer)).json() == []

    intruder = issue("globex", "owner")
    assert client.get(path, headers=auth(intruder)).status_code == 404
    assert client.post(path, json={"tracker": "linear"}, headers=auth(intruder)).status_code == 404
    assert client.get("/tickets", headers=auth(intruder)).json() == []
