"""``journeyops serve``: a Prefect server with its UI, the flows served, and the API, together.

Four child processes, started in order and stopped in reverse on Ctrl-C (or when any of them
exits): ``prefect server start`` (scheduler, UI and API; its state under the journeyops home
unless ``PREFECT_HOME`` says otherwise), ``python -m deployments.serve`` (the built-in
deployments, scheduled, run in that process), a process worker on the automations' work pool
(each automation is a deployment of its own), and ``journeyops api``. Before them, the work
pool and the providers' concurrency limits are set up and the automations deployed. Everything runs on the configured
database (the embedded SQLite one by default).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cli.context import console, err_console
from model.settings import get_settings

STARTUP_SECONDS = 120
STOP_SECONDS = 20


@dataclass
class Stack:
    """The running children, in start order."""

    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        handle = log.open("ab")
        process = subprocess.Popen(
            command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((name, process))

    def exited(self) -> str | None:
        for name, process in self.children:
            if process.poll() is not None:
                return f"{name} exited with code {process.returncode}"
        return None

    def stop(self) -> None:
        """Interrupt each child's whole process group (servers start workers of their own),
        newest first; kill what does not stop in time."""
        for name, process in reversed(self.children):
            if process.poll() is None:
                _signal_group(process, signal.SIGINT)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    err_console.print(f"{name} did not stop in {STOP_SECONDS} s; killing it")
                    _signal_group(process, signal.SIGKILL)
                    process.wait()
            # Whatever the child left behind in its group goes too.
            _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, number)


def wait_until(check: Callable[[], bool], what: str, stack: Stack) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        problem = stack.exited()
        if problem:
            raise RuntimeError(f"{problem} while waiting for {what}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not come up within {STARTUP_SECONDS} s")


def run(workspace: str, prefect_port: int, api_port: int, host: str = "127.0.0.1") -> int:
    """Start everything, wait for Ctrl-C (or a child to exit), stop everything."""
    settings = get_settings()
    home = settings.home.expanduser()
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", str(home / "prefect"))
    prefect_url = f"http://{host}:{prefect_port}"
    env["PREFECT_API_URL"] = f"{prefect_url}/api"
    env["JOURNEYOPS_DATABASE_URL"] = settings.resolved_database_url
    # Each webhook delivery the API stores starts the served on-delivery deployment.
    env.setdefault(
        "JOURNEYOPS_WEBHOOKS__PROCESS_DEPLOYMENT", f"process-webhooks/{workspace}-on-delivery"
    )
    stack = Stack()
    interrupted = False

    def interrupt(*_: object) -> None:
        nonlocal interrupted
        interrupted = True

    previous = {
        number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        stack.start(
            "prefect server",
            [sys.executable, "-m", "prefect", "server", "start", "--host", host,
             "--port", str(prefect_port)],
            env,
            logs / "prefect-server.log",
        )  # fmt: skip
        wait_until(
            lambda: httpx.get(f"{prefect_url}/api/health", timeout=2).status_code == 200,
            "the Prefect server",
            stack,
        )
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", "prefect", "setup", "--deploy-automations"],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"journeyops prefect setup failed: {done.stderr.strip()}")
        stack.start(
            "flows",
            [sys.executable, "-m", "deployments.serve", "--workspace", workspace],
            env,
            logs / "flows.log",
        )
        stack.start(
            "worker",
            [sys.executable, "-m", "prefect", "worker", "start", "--pool",
             settings.automations.work_pool, "--type", "process"],
            {"PREFECT_WORKER_QUERY_SECONDS": "5", **env},
            logs / "worker.log",
        )  # fmt: skip
        stack.start(
            "api",
            [sys.executable, "-m", "cli.main", "api", "--host", host, "--port", str(api_port)],
            env,
            logs / "api.log",
        )
        wait_until(
            lambda: httpx.get(f"http://{host}:{api_port}/health", timeout=2).status_code == 200,
            "the API",
            stack,
        )
        console.print(
            f"Prefect UI      {prefect_url}\n"
            f"journeyops API  http://{host}:{api_port}/docs\n"
            f"flows served for workspace {workspace!r}; logs in {logs}\n"
            "Ctrl-C stops everything."
        )
        while not interrupted:
            problem = stack.exited()
            if problem:
                err_console.print(f"[red]{problem}[/]; stopping (see {logs})")
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as error:
        err_console.print(f"[red]{error}[/] (see {logs})")
        return 1
    finally:
        console.print("stopping...")
        stack.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
