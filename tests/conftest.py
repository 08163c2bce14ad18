"""Test fixtures: one real database per run (SQLite or PostgreSQL), migrated with Alembic.

``JOURNEYOPS_TEST_DATABASE`` picks the backend (``sqlite`` by default, or ``postgresql``).
For PostgreSQL a throwaway database is created on ``JOURNEYOPS_TEST_POSTGRES_URL`` and dropped
at the end; when no server answers the run stops with a message, or fails if
``JOURNEYOPS_TEST_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Keep every test away from the user's own journeyops and Prefect state.
_HOME = Path(tempfile.mkdtemp(prefix="journeyops-tests-"))
os.environ["JOURNEYOPS_HOME"] = str(_HOME / "journeyops")
os.environ["PREFECT_HOME"] = str(_HOME / "prefect")
os.environ["PREFECT_API_URL"] = ""
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
# Provider limits live on a Prefect server; tests that exercise them turn them on.
os.environ["JOURNEYOPS_AUTOMATIONS__CONCURRENCY_LIMITS"] = "false"
os.environ.pop("JOURNEYOPS_DATABASE_URL", None)

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from model import migrate  # noqa: E402
from model.base import Base  # noqa: E402
from model.db import build_engine, dispose_engines  # noqa: E402
from model.settings import reset_settings  # noqa: E402

BACKEND = os.environ.get("JOURNEYOPS_TEST_DATABASE", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get(
    "JOURNEYOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("JOURNEYOPS_TEST_REQUIRE_POSTGRES") == "1"


def _postgres_admin() -> Engine:
    return create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_throwaway_database(label: str) -> str:
    """Create an empty database for this run and return its URL."""
    if BACKEND == "sqlite":
        return f"sqlite:///{_HOME / f'{label}-{uuid.uuid4().hex[:8]}.db'}"
    name = f"journeyops_{label}_{uuid.uuid4().hex[:10]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_throwaway_database(url: str) -> None:
    if BACKEND == "sqlite":
        return
    name = make_url(url).database
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    if BACKEND not in {"sqlite", "postgresql"}:
        raise pytest.UsageError("JOURNEYOPS_TEST_DATABASE must be sqlite or postgresql")
    if BACKEND == "postgresql":
        try:
            admin = _postgres_admin()
            with admin.connect():
                pass
            admin.dispose()
        except Exception as error:  # any failure to reach the server
            message = f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL)!r} is not reachable ({error})"
            if REQUIRE_POSTGRES:
                raise pytest.UsageError(message) from error
            pytest.exit(f"{message}: skipping the PostgreSQL run", returncode=0)


def pytest_report_header(config: pytest.Config) -> str:
    return f"journeyops test database: {BACKEND}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The run's database, migrated to the latest migration."""
    url = create_throwaway_database("run")
    migrate.upgrade(url)
    yield url
    dispose_engines()
    drop_throwaway_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def committed_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the app at the run's database for code that commits; emptied afterwards."""
    monkeypatch.setenv("JOURNEYOPS_DATABASE_URL", database_url)
    reset_settings()
    dispose_engines()
    yield database_url
    dispose_engines()
    reset_settings()
    engine = build_engine(database_url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """An empty database of the run's backend, for migration tests."""
    url = create_throwaway_database("fresh")
    yield url
    dispose_engines()
    drop_throwaway_database(url)


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    """The stand-in services on loopback, for the whole run."""
    from connectors.sandbox.server import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Any) -> Any:
    """The stand-ins with fresh, small data and no faults."""
    import httpx

    httpx.post(
        sandbox_server.url + "/_sandbox/reset",
        json={
            "seed": 11,
            "conversations": 40,
            "stripe_events": 30,
            "posthog_events": 400,
            "malformed": 3,
        },
    ).raise_for_status()
    return sandbox_server


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the run, started only when a test runs whole flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def no_prefect_server() -> Iterator[None]:
    """No Prefect server configured, as on the embedded default, even once the run's test
    harness has started one."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: ""}):
        yield


@pytest.fixture(scope="session")
def llm_stub_server() -> Iterator[Any]:
    """An OpenAI-compatible chat endpoint on loopback."""
    from connectors.sandbox.llm_stub import create_stub_app
    from connectors.sandbox.server import LoopbackServer

    with LoopbackServer(create_stub_app()) as server:
        yield server
