"""The table and priority views, the CSV export, and removing building blocks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from model import repository
from model.db import session_scope
from model.schemas import JourneySpec, StageSpec, StepSpec
from model.services import items, journeys, workspaces
from tests.api.test_api import auth, issue


@pytest.fixture
def client(committed_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(committed_db)) as test_client:
        yield test_client


# Opportunities and solutions with known impact/effort, spread over two stages.
SCORED = [
    ("opportunity", "Quick A", 5, 1, "high", "ana"),
    ("opportunity", "Quick B", 3, 2, "medium", "ben"),
    ("solution", "Bet", 4, 5, "high", "ana"),
    ("solution", "Fill", 1, 1, "low", None),
    ("opportunity", "Pit", 2, 4, "low", "ben"),
    ("opportunity", "Unscored", None, 2, None, None),
]


@pytest.fixture
def viewer(client: TestClient) -> str:
    """A 'Trial' journey: stages Setup and Value, 3 steps each, the scored items on Setup's
    first step, 12 insights spread over every step, and a building block on two steps."""
    token = issue("acme", "viewer")
    with session_scope() as session:
        ws = workspaces.get_workspace(session, "acme")
        journey = journeys.create_journey(session, ws, JourneySpec(name="Trial"), "tests")
        steps = []
        for stage_name in ("Setup", "Value"):
            stage = journeys.add_stage(session, journey, StageSpec(name=stage_name), "tests")
            for index in range(3):
                steps.append(
                    journeys.add_step(
                        session, stage, StepSpec(name=f"{stage_name} {index}"), "tests"
                    )
                )
        for kind, title, impact, effort, priority, owner in SCORED:
            values: dict[str, Any] = {"type": kind, "title": title, "effort": effort}
            values.update(impact=impact, priority=priority, owner=owner)
            item = items.create_item(session, ws, values, "tests")
            items.place_item(session, item, steps[0], "tests")
        for index in range(12):
            insight = items.create_item(
                session,
                ws,
                {"type": "insight", "title": f"Insight {index:02d}", "severity": 1 + index % 5},
                "tests",
            )
            items.place_item(session, insight, steps[index % 6], "tests")
        chat = items.create_item(session, ws, {"type": "touchpoint", "title": "Chat"}, "tests")
        items.place_item(session, chat, steps[1], "tests")
        items.place_item(session, chat, steps[4], "tests")
    return token


def table(client: TestClient, token: str, **params: Any) -> dict[str, Any]:
    response = client.get("/journeys/trial/table", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def every_row(client: TestClient, token: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = table(client, token, **params, **({"cursor": cursor} if cursor else {}))
        rows.extend(page["rows"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


class TestTable:
    def test_pages_walk_every_placement_once_in_journey_order(
        self, client: TestClient, viewer: str
    ) -> None:
        rows = every_row(client, viewer, limit=4)
        assert len(rows) == len(SCORED) + 12 + 2
        assert len({row["placement_id"] for row in rows}) == len(rows)
        order = [(row["stage"], row["step"]) for row in rows]
        assert order == sorted(order, key=lambda pair: (pair[0] != "Setup", pair[1]))
        chat = [row for row in rows if row["title"] == "Chat"]
        assert [row["building_block"] for row in chat] == [True, True]

    @pytest.mark.parametrize(
        "sort",
        ["title", "-title", "impact", "-impact", "priority", "-priority", "owner", "-updated_at"],
    )
    def test_every_sort_pages_without_gaps_or_repeats(
        self, client: TestClient, viewer: str, sort: str
    ) -> None:
        whole = table(client, viewer, sort=sort, limit=500)["rows"]
        paged = every_row(client, viewer, sort=sort, limit=3)
        assert [row["placement_id"] for row in paged] == [row["placement_id"] for row in whole]
        column = sort.removeprefix("-")
        if column == "impact":
            values = [row["impact"] or 0 for row in whole]
            assert values == sorted(values, reverse=sort.startswith("-"))
        if column == "title":
            titles = [row["title"] for row in whole]
            assert titles == sorted(titles, reverse=sort.startswith("-"))
        if column == "priority":
            rank = {"high": 3, "medium": 2, "low": 1, None: 0}
            ranks = [rank[row["priority"]] for row in whole]
            assert ranks == sorted(ranks, reverse=sort.startswith("-"))

    def test_filters_combine_with_and(self, client: TestClient, viewer: str) -> None:
        rows = table(client, viewer, type="opportunity", impact_min=3)["rows"]
        assert sorted(row["title"] for row in rows) == ["Quick A", "Quick B"]
        rows = table(client, viewer, type=["opportunity", "solution"], effort_max=1)["rows"]
        assert sorted(row["title"] for row in rows) == ["Fill", "Quick A"]
        rows = table(client, viewer, owner="ana", priority="high")["rows"]
        assert sorted(row["title"] for row in rows) == ["Bet", "Quick A"]
        rows = table(client, viewer, status="new", type="insight")["rows"]
        assert len(rows) == 12
        first_step = rows[0]["step_id"]
        on_step = table(client, viewer, step_id=first_step, type="insight")["rows"]
        assert {row["step_id"] for row in on_step} == {first_step}
        value_stage = next(r for r in every_row(client, viewer) if r["stage"] == "Value")
        in_stage = every_row(client, viewer, stage_id=value_stage["stage_id"])
        assert {row["stage"] for row in in_stage} == {"Value"}
        assert len(in_stage) == 6 + 1
        assert table(client, viewer, updated_after="2999-01-01T00:00:00Z")["rows"] == []
        assert len(every_row(client, viewer, placed_before="2999-01-01T00:00:00Z")) == 20

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"sort": "colour"}, "sort"),
            ({"type": "idea"}, "type"),
            ({"status": "finished"}, "status"),
            ({"impact_min": 9}, "impact_min"),
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"limit": 0}, "limit"),
        ],
    )
    def test_bad_filters_are_422_naming_the_parameter(
        self, client: TestClient, viewer: str, params: dict[str, Any], field: str
    ) -> None:
        response = client.get("/journeys/trial/table", params=params, headers=auth(viewer))
        assert response.status_code == 422
        assert field in response.text

    def test_a_cursor_belongs_to_its_sort(self, client: TestClient, viewer: str) -> None:
        cursor = table(client, viewer, sort="title", limit=2)["next_cursor"]
        response = client.get(
            "/journeys/trial/table",
            params={"sort": "impact", "cursor": cursor},
            headers=auth(viewer),
        )
        assert response.status_code == 422
        assert "start again" in response.json()["detail"]

    def test_csv_export_holds_the_filtered_rows(self, client: TestClient, viewer: str) -> None:
        response = client.get(
            "/journeys/trial/table.csv",
            params={"type": "insight", "sort": "title"},
            headers=auth(viewer),
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [row["title"] for row in rows] == [f"Insight {i:02d}" for i in range(12)]
        assert rows[0]["stage"] == "Setup"
        assert rows[0]["severity"] == "1"
        assert rows[0]["owner"] == ""


class TestPriority:
    def test_quadrants(self, client: TestClient, viewer: str) -> None:
        response = client.get("/journeys/trial/priority", headers=auth(viewer))
        assert response.status_code == 200
        titles = {name: [i["title"] for i in group] for name, group in response.json().items()}
        assert titles == {
            "quick_wins": ["Quick A", "Quick B"],
            "big_bets": ["Bet"],
            "fill_ins": ["Fill"],
            "money_pits": ["Pit"],
            "unscored": ["Unscored"],
        }
        stricter = client.get(
            "/journeys/trial/priority", params={"high_impact": 4}, headers=auth(viewer)
        ).json()
        assert [i["title"] for i in stricter["fill_ins"]] == ["Quick B", "Fill"]


class TestBuildingBlocks:
    def test_remove_from_journey_then_delete_the_source(
        self, client: TestClient, viewer: str
    ) -> None:
        editor = issue("acme", "editor")
        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            other = journeys.create_journey(session, ws, JourneySpec(name="Other"), "tests")
            stage = journeys.add_stage(session, other, StageSpec(name="Only"), "tests")
            step = journeys.add_step(session, stage, StepSpec(name="Elsewhere"), "tests")
            chat = items.get_item_by_key(session, ws.id, "touchpoint-chat")
            items.place_item(session, chat, step, "tests")
            chat_id = chat.id
        assert (
            client.delete(f"/journeys/trial/items/{chat_id}", headers=auth(viewer)).status_code
            == 403
        )
        assert (
            client.delete(f"/journeys/trial/items/{chat_id}", headers=auth(editor)).status_code
            == 204
        )
        assert [r for r in every_row(client, viewer) if r["item_id"] == chat_id] == []
        with session_scope() as session:
            assert repository.placement_count(session, chat_id) == 1
        again = client.delete(f"/journeys/trial/items/{chat_id}", headers=auth(editor))
        assert again.status_code == 404
        history = client.get(f"/items/{chat_id}/history", headers=auth(viewer)).json()
        assert sum(1 for e in history if e["action"] == "unplaced") == 2

        assert client.delete(f"/items/{chat_id}", headers=auth(editor)).status_code == 204
        assert client.get(f"/items/{chat_id}", headers=auth(viewer)).status_code == 404
        with session_scope() as session:
            assert repository.placement_count(session, chat_id) == 0
