"""Members, tokens and personas over HTTP: owners manage, nobody crosses workspaces."""

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


class TestMembersAndTokens:
    def test_owners_manage_members_and_tokens(self, client: TestClient) -> None:
        owner = issue("acme", "owner")
        added = client.post(
            "/members",
            json={"email": "leo@acme.example", "name": "Leo", "role": "editor"},
            headers=auth(owner),
        )
        assert added.status_code == 201
        issued = client.post(
            "/tokens", json={"member_email": "leo@acme.example", "name": "ci"}, headers=auth(owner)
        ).json()
        assert issued["secret"].startswith("jo_")
        assert client.get("/journeys", headers=auth(issued["secret"])).status_code == 200
        listed = client.get("/tokens", headers=auth(owner)).json()
        assert all("secret" not in token for token in listed)
        assert client.delete(f"/tokens/{issued['prefix']}", headers=auth(owner)).json()[
            "revoked_at"
        ]
        assert client.get("/journeys", headers=auth(issued["secret"])).status_code == 401

    def test_editors_cannot_manage_members_or_tokens(self, client: TestClient) -> None:
        editor = issue("acme", "editor")
        assert (
            client.post(
                "/members", json={"email": "x@acme.example", "name": "X"}, headers=auth(editor)
            ).status_code
            == 403
        )
        assert client.get("/tokens", headers=auth(editor)).status_code == 403
        assert client.get("/members", headers=auth(editor)).status_code == 200

    def test_the_last_owner_stays_and_duplicates_conflict(self, client: TestClient) -> None:
        owner = issue("acme", "owner")
        demoted = client.patch(
            "/members/owner@acme.example", json={"role": "viewer"}, headers=auth(owner)
        )
        assert demoted.status_code == 409
        again = client.post(
            "/members", json={"email": "owner@acme.example", "name": "Dup"}, headers=auth(owner)
        )
        assert again.status_code == 409

    def test_tokens_and_members_of_another_workspace_are_out_of_reach(
        self, client: TestClient
    ) -> None:
        owner = issue("acme", "owner")
        intruder = issue("globex", "owner")
        prefix = client.get("/tokens", headers=auth(owner)).json()[0]["prefix"]
        assert client.delete(f"/tokens/{prefix}", headers=auth(intruder)).status_code == 404
        assert (
            client.patch(
                "/members/owner@acme.example", json={"role": "viewer"}, headers=auth(intruder)
            ).status_code
            == 404
        )
        assert [m["email"] for m in client.get("/members", headers=auth(intruder)).json()] == [
            "owner@globex.example"
        ]


class TestPersonas:
    def test_upsert_link_and_isolation(self, client: TestClient) -> None:
        editor = issue("acme", "editor")
        client.post("/journeys", json={"name": "Trial"}, headers=auth(editor))
        persona = {"name": "Admin", "journey_role": "team_admin", "tech_savviness": "low"}
        assert client.put("/personas", json=persona, headers=auth(editor)).status_code == 200
        assert client.put("/journeys/trial/personas/Admin", headers=auth(editor)).status_code == 204
        bad = client.put(
            "/personas", json={"name": "X", "journey_role": "pilot"}, headers=auth(editor)
        )
        assert bad.status_code == 422
        assert "journey_role" in bad.json()["detail"]
        intruder = issue("globex", "owner")
        assert client.get("/personas", headers=auth(intruder)).json() == []
        assert (
            client.put("/journeys/trial/personas/Admin", headers=auth(intruder)).status_code == 404
        )
