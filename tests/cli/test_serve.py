"""`journeyops serve` runs a real Prefect server, the served flows and the API, and stops them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from cli.main import app
from connectors.sandbox import chat
from connectors.sandbox.server import free_port
from connectors.webhooks import sign_stripe
from model.db import session_scope
from model.schemas import MemberSpec, WorkspaceSpec
from model.services import automations, workspaces
from model.settings import reset_settings
from tests import factories
from tests.conftest import BACKEND
from tests.factories import ACTOR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BACKEND == "postgresql",
        reason="starts and stops processes; the database backend plays no part",
    ),
]


def listening(port: int) -> bool:
    """Whether anything still accepts connections on the port (after a stop, the port itself
    may stay unbindable for a while: closed connections wait out TIME_WAIT)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def deployments(prefect_port: int) -> list[str]:
    answer = httpx.post(f"http://127.0.0.1:{prefect_port}/api/deployments/filter", json={})
    return sorted(d["name"] for d in answer.json()) if answer.status_code == 200 else []


STRIPE_SECRET = "whsec_serve_test_secret_0123456789"
SERVED = [
    "acme-daily",
    "acme-every-15-minutes",
    "acme-every-15-minutes",
    "acme-every-2-minutes",
    "acme-every-5-minutes",
    "acme-hourly",
    "acme-on-delivery",
    "acme-on-demand",
    "acme-on-demand",
    "acme-on-demand",
]
AUTOMATIONS = ["acme-on-failed-payment", "acme-quick-wins"]


def prefect_get(port: int, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"http://127.0.0.1:{port}/api/{path}"
    answer = httpx.post(url, json=body or {}) if body is not None else httpx.get(url)
    return answer.json() if answer.status_code == 200 else None


def declare_automations(sandbox_url: str) -> tuple[int, str]:
    """A workspace with an opportunity below the quick-win threshold, two active automations
    that post to the Slack stand-in, and an editor's API token."""
    message = {"type": "message", "channel": "slack", "webhook_url": chat.slack_url(sandbox_url)}
    with session_scope() as session:
        ws = workspaces.create_workspace(session, WorkspaceSpec(name="Acme", slug="acme"))
        _journey, _stages, steps = factories.journey(session, ws, stages=1, steps=1)
        item = factories.placed(
            session, ws, steps[0], "opportunity", "Skip keys", impact=2, effort=1
        )
        for data in (
            {
                "name": "On failed payment",
                "trigger": {"kind": "webhook", "provider": "stripe",
                            "event_types": ["invoice.payment_failed"]},
                "actions": [{**message, "template": "A payment failed ({cause})"}],
            },
            {
                "name": "Quick wins",
                "trigger": {"kind": "threshold", "impact_at_least": 4, "effort_at_most": 2},
                "actions": [{**message, "template": "Quick win: {item}"}],
            },
        ):  # fmt: skip
            automation, _ = automations.save(session, ws, automations.parse_spec(data), ACTOR)
            automations.activate(session, automation, ACTOR)
        member = workspaces.add_member(
            session, ws, MemberSpec(email="ed@acme.example", name="Ed", role="editor")
        )
        token = workspaces.create_token(session, member, "serve test").secret
        return item.id, token


def completed_runs(port: int) -> dict[str, Any]:
    """Completed run-automation flow runs by their deployment's name."""
    runs = prefect_get(
        port,
        "flow_runs/filter",
        {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
         "flows": {"name": {"any_": ["run-automation"]}}},
    ) or []  # fmt: skip
    names = {}
    for run in runs:
        deployment = prefect_get(port, f"deployments/{run['deployment_id']}")
        names[deployment["name"]] = run
    return names


def test_serve_runs_automations_on_a_real_prefect_server(
    committed_db: str, tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "a-long-random-test-key-0123456789")
    reset_settings()
    item_id, token = declare_automations(sandbox.url)
    prefect_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "JOURNEYOPS_HOME": str(tmp_path),
        "JOURNEYOPS_DATABASE_URL": committed_db,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "JOURNEYOPS_WEBHOOKS__STRIPE_SECRET": STRIPE_SECRET,
        "JOURNEYOPS_AUTOMATIONS__CONCURRENCY_LIMITS": "true",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "-w", "acme",
         "--prefect-port", str(prefect_port), "--api-port", str(api_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 150
        names: list[str] = []
        while time.monotonic() < deadline and process.poll() is None:
            try:
                names = deployments(prefect_port)
                api = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=2)
                if len(names) == len(SERVED) + len(AUTOMATIONS) and api.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        assert names == sorted(SERVED + AUTOMATIONS)
        ui = httpx.get(f"http://127.0.0.1:{prefect_port}/", timeout=5)
        assert ui.status_code == 200
        limits = prefect_get(prefect_port, "v2/concurrency_limits/filter", {})
        assert "journeyops-linear" in {limit["name"] for limit in limits}

        # A Stripe delivery through the API, and a threshold crossing through the API: each
        # triggers its automation's deployment, whose run completes with its report.
        api_url = f"http://127.0.0.1:{api_port}"
        body = json.dumps({"id": "evt_serve_1", "type": "invoice.payment_failed",
                           "created": int(time.time()),
                           "data": {"object": {"id": "in_1", "customer": "cus_1"}}}).encode()  # fmt: skip
        signature = sign_stripe(body, STRIPE_SECRET, int(time.time()))
        stored = httpx.post(f"{api_url}/webhooks/stripe/acme", content=body,
                            headers={"Stripe-Signature": signature,
                                     "Content-Type": "application/json"})  # fmt: skip
        assert stored.status_code == 200, stored.text
        changed = httpx.patch(f"{api_url}/items/{item_id}", json={"impact": 5},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert changed.status_code == 200, changed.text
        deadline = time.monotonic() + 120
        done: dict[str, Any] = {}
        while time.monotonic() < deadline and set(done) != set(AUTOMATIONS):
            time.sleep(1)
            done = completed_runs(prefect_port)
        assert set(done) == set(AUTOMATIONS), (done, (tmp_path / "logs" / "worker.log").read_text())
        texts = sorted(
            m["text"] for m in httpx.get(f"{sandbox.url}/_sandbox/messages").json()["messages"]
        )
        assert texts == ["A payment failed (webhook)", "Quick win: Skip keys"]
        artifacts = prefect_get(
            prefect_port,
            "artifacts/filter",
            {"artifacts": {"key": {"any_": ["automation-acme-quick-wins"]}}},
        )
        assert "succeeded" in artifacts[0]["data"]

        # Pausing and deleting keep the Prefect side in step.
        with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{prefect_port}/api"}):
            for command in (["pause", "quick-wins"], ["delete", "on-failed-payment"]):
                result = CliRunner().invoke(app, ["automations", *command, "-w", "acme"])
                assert result.exit_code == 0, result.output
        paused = prefect_get(prefect_port, "deployments/name/run-automation/acme-quick-wins")
        assert paused["paused"] is True
        triggers = prefect_get(
            prefect_port, f"automations/related-to/prefect.deployment.{paused['id']}"
        )
        assert [t["enabled"] for t in triggers] == [False]
        assert (
            prefect_get(prefect_port, "deployments/name/run-automation/acme-on-failed-payment")
            is None
        )
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert "Prefect UI" in output
    assert "stopping" in output
    assert not listening(prefect_port)
    assert not listening(api_port)
    assert {p.name for p in (tmp_path / "logs").iterdir()} == {
        "prefect-server.log",
        "flows.log",
        "worker.log",
        "api.log",
    }
