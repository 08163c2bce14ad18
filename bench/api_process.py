"""What the API benchmarks share: a fresh database to run on, and the API in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.sandbox.server import free_port
from model import migrate


@contextmanager
def fresh_database(postgres_admin_url: str | None) -> Iterator[str]:
    """A migrated, empty database: a throwaway one on the PostgreSQL server when an admin URL
    is given (dropped afterwards), else a SQLite file in a temporary folder."""
    if not postgres_admin_url:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='journeyops-bench-')) / 'bench.db'}"
        migrate.upgrade(url)
        yield url
        return
    name = f"journeyops_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def api_process(url: str, env: dict[str, str] | None = None, workers: int = 1) -> Iterator[str]:
    """`journeyops api` on ``url`` in its own process; yields its base URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, "JOURNEYOPS_DATABASE_URL": url, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the API did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
