"""Stages, steps, placements, links and history over HTTP, each kept inside its workspace."""

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


@pytest.fixture
def editor(client: TestClient) -> str:
    token = issue("acme", "editor")
    assert client.post("/journeys", json={"name": "Trial"}, headers=auth(token)).status_code == 201
    return token


def build(client: TestClient, token: str) -> dict[str, int]:
    """A journey with two stages of two steps, an insight and an opportunity on the first step."""
    ids: dict[str, int] = {}
    for stage in ("Setup", "Value"):
        ids[stage] = client.post(
            "/journeys/trial/stages", json={"name": stage}, headers=auth(token)
        ).json()["id"]
        for step in ("A", "B"):
            response = client.post(
                f"/stages/{ids[stage]}/steps", json={"name": f"{stage} {step}"}, headers=auth(token)
            )
            ids[f"{stage} {step}"] = response.json()["id"]
    for kind, title in (("insight", "Stall"), ("opportunity", "Fix")):
        ids[kind] = client.post(
            "/items", json={"type": kind, "title": title}, headers=auth(token)
        ).json()["id"]
        assert (
            client.put(
                f"/steps/{ids['Setup A']}/items/{ids[kind]}", headers=auth(token)
            ).status_code
            == 204
        )
    return ids


class TestStructure:
    def test_reorder_keeps_positions_dense(self, client: TestClient, editor: str) -> None:
        ids = build(client, editor)
        moved = client.post(
            f"/stages/{ids['Value']}/move", json={"position": 0}, headers=auth(editor)
        )
        assert moved.json()["position"] == 0
        step = client.post(
            f"/steps/{ids['Setup B']}/move",
            json={"position": 0, "stage_id": ids["Value"]},
            headers=auth(editor),
        )
        assert (step.json()["stage_id"], step.json()["position"]) == (ids["Value"], 0)
        stages = client.get("/journeys/trial/map", headers=auth(editor)).json()["stages"]
        assert [(s["name"], s["position"]) for s in stages] == [("Value", 0), ("Setup", 1)]
        assert [(s["name"], s["position"]) for s in stages[0]["steps"]] == [
            ("Setup B", 0),
            ("Value A", 1),
            ("Value B", 2),
        ]

    def test_a_step_cannot_move_into_another_journeys_stage(
        self, client: TestClient, editor: str
    ) -> None:
        ids = build(client, editor)
        client.post("/journeys", json={"name": "Other"}, headers=auth(editor))
        other = client.post(
            "/journeys/other/stages", json={"name": "Elsewhere"}, headers=auth(editor)
        ).json()["id"]
        response = client.post(
            f"/steps/{ids['Setup A']}/move",
            json={"position": 0, "stage_id": other},
            headers=auth(editor),
        )
        assert response.status_code == 422
        assert response.json()["field"] == "stage_id"

    def test_links_follow_the_allowed_directions(self, client: TestClient, editor: str) -> None:
        ids = build(client, editor)
        assert (
            client.put(
                f"/items/{ids['insight']}/links/{ids['opportunity']}", headers=auth(editor)
            ).status_code
            == 204
        )
        backwards = client.put(
            f"/items/{ids['opportunity']}/links/{ids['insight']}", headers=auth(editor)
        )
        assert backwards.status_code == 409
        assert "an opportunity cannot link to an insight" in backwards.json()["detail"]

    def test_removing_a_placement_keeps_the_item_and_history_tells(
        self, client: TestClient, editor: str
    ) -> None:
        ids = build(client, editor)
        assert (
            client.delete(
                f"/steps/{ids['Setup A']}/items/{ids['insight']}", headers=auth(editor)
            ).status_code
            == 204
        )
        assert client.get(f"/items/{ids['insight']}", headers=auth(editor)).status_code == 200
        actions = [
            e["action"]
            for e in client.get(f"/items/{ids['insight']}/history", headers=auth(editor)).json()
        ]
        assert actions == ["created", "placed", "unplaced"]
        journey = client.get("/journeys/trial/history", headers=auth(editor)).json()
        assert any(e["summary"].startswith("removed insight 'Stall'") for e in journey)


class TestIsolation:
    def test_another_workspace_cannot_touch_any_of_it(
        self, client: TestClient, editor: str
    ) -> None:
        ids = build(client, editor)
        intruder = issue("globex", "owner")
        calls = [
            ("post", f"/stages/{ids['Setup']}/move", {"position": 1}),
            ("delete", f"/stages/{ids['Setup']}", None),
            ("post", f"/stages/{ids['Setup']}/steps", {"name": "x"}),
            ("post", f"/steps/{ids['Setup A']}/move", {"position": 1}),
            ("delete", f"/steps/{ids['Setup A']}", None),
            ("put", f"/steps/{ids['Setup A']}/items/{ids['insight']}", None),
            ("delete", f"/steps/{ids['Setup A']}/items/{ids['insight']}", None),
            ("put", f"/items/{ids['insight']}/links/{ids['opportunity']}", None),
            ("get", f"/items/{ids['insight']}/history", None),
            ("get", "/journeys/trial/history", None),
            ("post", "/journeys/trial/stages", {"name": "x"}),
            ("delete", f"/journeys/trial/items/{ids['insight']}", None),
            ("delete", f"/items/{ids['insight']}", None),
            ("get", "/journeys/trial/table", None),
            ("get", "/journeys/trial/table.csv", None),
            ("get", "/journeys/trial/priority", None),
        ]
        for method, path, body in calls:
            response = client.request(method, path, json=body, headers=auth(intruder))
            assert response.status_code == 404, (method, path, response.status_code)
        # Nothing changed for the owner.
        stages = client.get("/journeys/trial/map", headers=auth(editor)).json()["stages"]
        assert [s["name"] for s in stages] == ["Setup", "Value"]

    def test_viewers_cannot_change_the_structure(self, client: TestClient, editor: str) -> None:
        ids = build(client, editor)
        viewer = issue("acme", "viewer")
        assert (
            client.post(
                f"/stages/{ids['Setup']}/move", json={"position": 1}, headers=auth(viewer)
            ).status_code
            == 403
        )
        assert (
            client.get(f"/items/{ids['insight']}/history", headers=auth(viewer)).status_code == 200
        )
