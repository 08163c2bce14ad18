"""`journeyops serve` runs a real Prefect server, the served flows and the API, and stops them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.sandbox.server import free_port
from model.db import session_scope
from model.schemas import WorkspaceSpec
from model.services import workspaces
from tests.conftest import BACKEND

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


def test_serve_starts_everything_and_stops_cleanly(committed_db: str, tmp_path: Path) -> None:
    with session_scope() as session:
        workspaces.create_workspace(session, WorkspaceSpec(name="Acme", slug="acme"))
    prefect_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "JOURNEYOPS_HOME": str(tmp_path),
        "JOURNEYOPS_DATABASE_URL": committed_db,
        "PREFECT_HOME": str(tmp_path / "prefect"),
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
                if len(names) == 8 and api.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        assert names == [
            "acme-daily",
            "acme-every-15-minutes",
            "acme-every-15-minutes",
            "acme-every-5-minutes",
            "acme-hourly",
            "acme-on-demand",
            "acme-on-demand",
            "acme-on-demand",
        ]
        ui = httpx.get(f"http://127.0.0.1:{prefect_port}/", timeout=5)
        assert ui.status_code == 200
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
        "api.log",
    }
