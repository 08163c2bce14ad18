"""Automations over HTTP: editors declare and switch them, viewers read, workspaces apart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from model.settings import reset_settings
from tests.api.test_api import auth, issue

SLACK = "https://hooks.slack.com/services/T000/B000/abcdefabcdef"
PULSE: dict[str, Any] = {
    "name": "Pulse",
    "trigger": {"kind": "schedule", "every": "weekly", "weekdays": ["mon"]},
    "actions": [{"type": "message", "channel": "slack", "template": "{results}"}],
}


@pytest.fixture
def client(committed_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "a-long-random-test-key-0123456789")
    reset_settings()
    with TestClient(create_app(committed_db)) as test_client:
        yield test_client


@pytest.mark.usefixtures("no_prefect_server")
def test_declare_check_activate_run_and_read_the_history(client: TestClient) -> None:
    editor, viewer = issue("acme", "editor"), issue("acme", "viewer")
    created = client.put("/automations", json=PULSE, headers=auth(editor))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert created.json()["problems"] == ["action 1 (message): give the slack incoming webhook URL"]
    refused = client.post("/automations/pulse/activate", headers=auth(editor))
    assert refused.status_code == 409
    assert "give the slack incoming webhook URL" in refused.json()["detail"]
    message = {"type": "message", "channel": "slack", "template": "{results}", "webhook_url": SLACK}
    with_url = {**PULSE, "actions": [message]}
    updated = client.put("/automations", json=with_url, headers=auth(editor))
    assert updated.status_code == 200
    assert SLACK not in updated.text
    active = client.post("/automations/pulse/activate", headers=auth(editor)).json()
    assert active["status"] == "active"
    assert active["prefect"].startswith("not deployed: no Prefect server is configured")
    run = client.post("/automations/pulse/run", headers=auth(editor))
    assert run.status_code == 202
    assert (run.json()["cause"], run.json()["state"]) == ("manual", "pending")
    history = client.get("/automations/pulse/runs", headers=auth(viewer)).json()
    assert [r["id"] for r in history] == [run.json()["id"]]
    assert client.post("/automations/pulse/pause", headers=auth(viewer)).status_code == 403
    assert (
        client.post("/automations/pulse/pause", headers=auth(editor)).json()["status"] == "paused"
    )
    assert client.delete("/automations/pulse", headers=auth(editor)).status_code == 204
    assert client.get("/automations/pulse", headers=auth(viewer)).status_code == 404


def test_bad_specs_name_the_field_and_templates_make_drafts(client: TestClient) -> None:
    editor = issue("acme", "editor")
    bad = client.put("/automations", json={**PULSE, "actions": []}, headers=auth(editor))
    assert bad.status_code == 422
    assert "actions" in bad.text
    drafted = client.post(
        "/automations/from-template", json={"template": "quick-wins"}, headers=auth(editor)
    )
    assert drafted.status_code == 201
    assert drafted.json()["trigger"]["impact_at_least"] == 4
    unknown = client.post(
        "/automations/from-template", json={"template": "nope"}, headers=auth(editor)
    )
    assert unknown.status_code == 422


def test_another_workspace_sees_nothing(client: TestClient) -> None:
    client.put("/automations", json=PULSE, headers=auth(issue("acme", "editor")))
    other = issue("globex", "owner")
    assert client.get("/automations", headers=auth(other)).json() == []
    assert client.get("/automations/pulse", headers=auth(other)).status_code == 404
    assert client.post("/automations/pulse/run", headers=auth(other)).status_code == 404
    assert client.delete("/automations/pulse", headers=auth(other)).status_code == 404
