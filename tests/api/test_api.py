"""The HTTP API: tokens and roles, workspace isolation, errors, and the map view."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from api.app import MAX_BODY_BYTES, create_app
from api.schemas import JourneyMap, MapCard
from cli.demo import JOURNEY_FILES, load_demo_file
from model import repository
from model.db import get_engine, session_scope
from model.schemas import JourneySpec, MemberSpec, StageSpec, StepSpec
from model.services import items, journey_files, journeys, workspaces
from model.tables import CARD_FIELDS


def issue(workspace: str, role: str) -> str:
    with session_scope() as session:
        ws = workspaces.ensure_workspace(session, workspace, workspace.title())
        member = workspaces.ensure_member(
            session, ws, MemberSpec(email=f"{role}@{workspace}.example", name=role, role=role)
        )
        return workspaces.create_token(session, member, f"{role} token").secret


@pytest.fixture
def client(committed_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(committed_db)) as test_client:
        yield test_client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def acme(client: TestClient) -> dict[str, str]:
    tokens = {role: issue("acme", role) for role in ("owner", "editor", "viewer")}
    with session_scope() as session:
        ws = workspaces.get_workspace(session, "acme")
        journey_files.import_journey(session, ws, load_demo_file(JOURNEY_FILES[0]), "tests")
    return tokens


class TestAuthentication:
    def test_health_needs_no_token(self, client: TestClient) -> None:
        assert client.get("/health").json() == {"status": "ok"}

    def test_no_token_or_a_wrong_one_is_401(self, client: TestClient, acme: dict[str, str]) -> None:
        missing = client.get("/journeys")
        assert missing.status_code == 401
        assert "Bearer" in missing.json()["detail"]
        assert client.get("/journeys", headers=auth("jo_wrong")).status_code == 401

    def test_a_revoked_token_is_401(self, client: TestClient, acme: dict[str, str]) -> None:
        with session_scope() as session:
            workspaces.revoke_token(
                session, workspaces.get_workspace(session, "acme").id, acme["viewer"][:12]
            )
        assert client.get("/journeys", headers=auth(acme["viewer"])).status_code == 401


class TestRoles:
    def test_viewers_read_editors_write(self, client: TestClient, acme: dict[str, str]) -> None:
        assert client.get("/journeys", headers=auth(acme["viewer"])).status_code == 200
        refused = client.post(
            "/journeys", json={"name": "Onboarding"}, headers=auth(acme["viewer"])
        )
        assert refused.status_code == 403
        assert "editor role" in refused.json()["detail"]
        created = client.post(
            "/journeys", json={"name": "Onboarding"}, headers=auth(acme["editor"])
        )
        assert created.status_code == 201
        assert created.json()["slug"] == "onboarding"


class TestErrors:
    def test_invalid_fields_are_422_naming_the_field(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        response = client.post(
            "/items",
            json={"type": "insight", "title": "x", "severity": 7},
            headers=auth(acme["editor"]),
        )
        assert response.status_code == 422
        assert response.json()["detail"].startswith("severity:")
        assert response.json()["field"] == "severity"

    def test_conflicts_are_409_and_unknown_ids_404(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        duplicate = client.post(
            "/journeys", json={"name": "Trial to paid"}, headers=auth(acme["editor"])
        )
        assert duplicate.status_code == 409
        assert client.get("/items/424242", headers=auth(acme["viewer"])).status_code == 404
        assert client.get("/journeys/nope", headers=auth(acme["viewer"])).status_code == 404

    def test_ids_past_the_databases_range_are_422_naming_the_field(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        huge = 2**31
        for response in (
            client.get(f"/items/{huge}", headers=auth(acme["viewer"])),
            client.get(
                f"/journeys/trial-to-paid/table?stage_id={huge}", headers=auth(acme["viewer"])
            ),
            client.post(f"/stages/{huge}/steps", json={"name": "x"}, headers=auth(acme["editor"])),
        ):
            assert response.status_code == 422, response.text
            assert "less than or equal to 2147483647" in response.json()["detail"]
        assert client.get(f"/items/{huge - 1}", headers=auth(acme["viewer"])).status_code == 404

    def test_oversize_bodies_are_refused(self, client: TestClient, acme: dict[str, str]) -> None:
        big = {"type": "insight", "title": "x", "description": "y" * (MAX_BODY_BYTES + 10)}
        assert client.post("/items", json=big, headers=auth(acme["editor"])).status_code == 413


class TestIsolation:
    def test_another_workspaces_token_sees_nothing_whatever_it_guesses(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        other = issue("globex", "owner")
        mine = client.get("/journeys", headers=auth(acme["viewer"])).json()
        item_id = client.get("/journeys/trial-to-paid/map", headers=auth(acme["viewer"])).json()[
            "stages"
        ][1]["steps"][0]["items"]["insight"][0]["item"]["id"]
        assert client.get("/journeys", headers=auth(other)).json() == []
        assert client.get("/journeys/trial-to-paid", headers=auth(other)).status_code == 404
        assert client.get("/journeys/trial-to-paid/map", headers=auth(other)).status_code == 404
        assert client.get(f"/items/{item_id}", headers=auth(other)).status_code == 404
        assert (
            client.patch(
                f"/items/{item_id}", json={"title": "pwned"}, headers=auth(other)
            ).status_code
            == 404
        )
        assert mine[0]["slug"] == "trial-to-paid"


def queries(client: TestClient, request: Callable[[], Any]) -> int:
    """SQL statements ``request`` makes (it must succeed)."""
    statements: list[Any] = []

    def count(*_: Any) -> None:
        statements.append(1)

    engine = get_engine(client.app.state.database_url)  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert request().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


class TestMapView:
    def test_stages_steps_and_items_grouped_by_type(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        body = client.get("/journeys/trial-to-paid/map", headers=auth(acme["viewer"])).json()
        assert [s["name"] for s in body["stages"]] == [
            "Sign-up",
            "Setup",
            "First value",
            "Conversion",
        ]
        connect = body["stages"][1]["steps"][0]
        assert connect["name"] == "Customer connects first integration"
        assert sorted(connect["items"]) == [
            "insight",
            "metric",
            "opportunity",
            "solution",
            "touchpoint",
        ]
        chat = next(
            i
            for i in connect["items"]["touchpoint"]
            if i["item"]["key"] == "touchpoint-in-app-support-chat"
        )
        assert chat["building_block"] is True
        # The cards the database builds are exactly what the document promises.
        JourneyMap.model_validate(body)
        cards = [
            c for s in body["stages"] for st in s["steps"] for g in st["items"].values() for c in g
        ]
        assert all(set(c["item"]) <= set(MapCard.model_fields) for c in cards)
        assert all(isinstance(c["item"]["machine_made"], bool) for c in cards)
        assert list(MapCard.model_fields) == ["id", *CARD_FIELDS]
        assert chat["item"]["channel"] == "support"
        assert "impact" not in chat["item"]

    def test_cards_follow_every_change_of_their_item(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        def card(key: str) -> dict[str, Any]:
            body = client.get("/journeys/trial-to-paid/map", headers=auth(acme["viewer"])).json()
            return next(
                c["item"]
                for s in body["stages"]
                for st in s["steps"]
                for group in st["items"].values()
                for c in group
                if c["item"]["key"] == key
            )

        before = card("touchpoint-in-app-support-chat")
        changed = client.patch(
            f"/items/{before['id']}",
            json={"title": "Chat with a human", "status": "deprecated"},
            headers=auth(acme["editor"]),
        )
        assert changed.status_code == 200, changed.text
        after = card("touchpoint-in-app-support-chat")
        assert (after["title"], after["status"]) == ("Chat with a human", "deprecated")

    def test_queries_do_not_grow_with_the_number_of_items(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        # The token's first use is recorded once; the requests measured are alike.
        client.get("/journeys", headers=auth(acme["viewer"]))

        def queries_for_map() -> int:  # building the map, not serving it again
            client.app.state.rendered.clear()  # type: ignore[attr-defined]
            return queries(
                client, lambda: client.get("/journeys/big/map", headers=auth(acme["viewer"]))
            )

        def add_items(number: int) -> None:
            with session_scope() as session:
                ws = workspaces.get_workspace(session, "acme")
                journey = journeys.get_journey(session, ws.id, "big")
                [stage] = repository.stages_of(session, journey.id)
                step = journeys.add_step(session, stage, StepSpec(name=f"Step {number}"), "tests")
                for index in range(number):
                    item = items.create_item(
                        session,
                        ws,
                        {"type": "insight", "title": f"Insight {number}-{index}", "severity": 3},
                        "tests",
                    )
                    items.place_item(session, item, step, "tests")

        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            big = journeys.create_journey(session, ws, JourneySpec(name="Big"), "tests")
            journeys.add_stage(session, big, StageSpec(name="Only"), "tests")
        add_items(5)
        few = queries_for_map()
        add_items(60)
        many = queries_for_map()
        assert few == many

    def test_a_map_is_kept_until_anything_it_shows_changes(
        self, client: TestClient, acme: dict[str, str]
    ) -> None:
        def get(etag: str | None = None) -> Any:
            headers = auth(acme["viewer"]) | ({"If-None-Match": etag} if etag else {})
            return client.get("/journeys/trial-to-paid/map", headers=headers)

        first = get()
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "private, no-cache"
        unchanged = get(etag)
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        assert get(f'W/"other", {etag}').status_code == 304
        # Served again without building it: the token, the revision and the journey.
        assert queries(client, get) < queries(client, lambda: get_fresh(client, acme)) / 2
        assert get().content == first.content

        # A change from outside the API (a flow, the CLI, another process) shows at once.
        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            chat = items.get_item_by_key(session, ws.id, "touchpoint-in-app-support-chat")
            items.update_item(session, chat, {"title": "Talk to a human"}, "flow")
        changed = get(etag)
        assert changed.status_code == 200
        assert changed.headers["ETag"] != etag
        assert b"Talk to a human" in changed.content

        # Another workspace's changes leave this map's version alone.
        other = issue("globex", "owner")
        assert client.post("/journeys", json={"name": "X"}, headers=auth(other)).status_code == 201
        assert get(changed.headers["ETag"]).status_code == 304


def get_fresh(client: TestClient, acme: dict[str, str]) -> Any:
    """The map built anew: the process's rendered maps forgotten first."""
    client.app.state.rendered.clear()  # type: ignore[attr-defined]
    return client.get("/journeys/trial-to-paid/map", headers=auth(acme["viewer"]))
