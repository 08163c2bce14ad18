"""Metric sources over HTTP: set, sync now against the stand-ins, read the series."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from model.db import session_scope
from model.services import items, workspaces
from tests.api.test_api import auth, issue
from tests.tasks.test_metrics import capture, metric_env  # noqa: F401 (a fixture)

SOURCE = {"provider": "posthog", "measure": "events", "event": "report_exported"}


@pytest.fixture
def client(metric_env: Any, committed_db: str) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(committed_db)) as test_client:
        yield test_client


@pytest.fixture
def setup(client: TestClient) -> dict[str, Any]:
    tokens = {role: issue("acme", role) for role in ("editor", "viewer")}
    tokens["other"] = issue("globex", "owner")
    with session_scope() as session:
        ws = workspaces.get_workspace(session, "acme")
        metric = items.create_item(
            session,
            ws,
            {
                "type": "metric",
                "title": "Exports",
                "evaluation_period": "month",
                "baseline": 1,
                "target": 5,
            },
            "tests",
        )
        insight = items.create_item(session, ws, {"type": "insight", "title": "I"}, "tests")
        return {**tokens, "metric": metric.id, "insight": insight.id}


class TestMetricSources:
    def test_set_sync_and_read_the_series(
        self,
        client: TestClient,
        setup: dict[str, Any],
        metric_env: Any,  # noqa: F811
    ) -> None:
        metric = setup["metric"]
        empty = client.get(f"/items/{metric}/metric", headers=auth(setup["viewer"])).json()
        assert (empty["state"], empty["series"]) == ("no source", [])
        put = client.put(
            f"/items/{metric}/metric/source", json=SOURCE, headers=auth(setup["editor"])
        )
        assert put.status_code == 200, put.text
        assert put.json()["state"] == "waiting"
        yesterday = datetime.now(UTC) - timedelta(days=1)
        capture(metric_env.url, [("report_exported", f"u{n}", yesterday, {}) for n in range(3)])
        synced = client.post(f"/items/{metric}/metric/sync", headers=auth(setup["editor"]))
        assert synced.status_code == 200, synced.text
        assert synced.json()["state"] == "ok"
        assert synced.json()["value"] >= 3
        view = client.get(f"/items/{metric}/metric", headers=auth(setup["viewer"])).json()
        assert view["state"] == "ok"
        assert [p["value"] for p in view["series"]] == [view["current"]]
        assert view["on_track"] is (view["current"] >= 5)
        assert view["progress"] == pytest.approx((view["current"] - 1) / 4)

    def test_roles_isolation_and_errors(self, client: TestClient, setup: dict[str, Any]) -> None:
        metric = setup["metric"]
        path = f"/items/{metric}/metric/source"
        assert client.put(path, json=SOURCE, headers=auth(setup["viewer"])).status_code == 403
        assert client.put(path, json=SOURCE, headers=auth(setup["other"])).status_code == 404
        assert (
            client.get(f"/items/{metric}/metric", headers=auth(setup["other"])).status_code == 404
        )
        bad = client.put(
            path, json={"provider": "posthog", "measure": "events"}, headers=auth(setup["editor"])
        )
        assert bad.status_code == 422
        assert "event" in bad.json()["detail"]
        not_metric = client.put(
            f"/items/{setup['insight']}/metric/source", json=SOURCE, headers=auth(setup["editor"])
        )
        assert not_metric.status_code == 422
        no_source = client.post(f"/items/{metric}/metric/sync", headers=auth(setup["editor"]))
        assert no_source.status_code == 404
        assert "metric/source" in no_source.json()["detail"]
