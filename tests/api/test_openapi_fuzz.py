"""Requests generated from the OpenAPI document never make the service fail.

Schemathesis builds valid and invalid requests for every operation the document describes and
sends them, with an owner's token, to the app on a workspace that holds the demo journey and a
few signals; each operation meets what the ones before it left. Generated ids would only ever meet a 404 (which other tests cover), so path
parameters are swapped for real ones of the workspace, chosen from the generated value so runs
repeat.
Any 5xx answer fails the test with the request that caused it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from api.app import create_app
from cli.demo import JOURNEY_FILES, load_demo_file
from model import migrate, repository
from model.db import dispose_engines, session_scope
from model.schemas import MemberSpec
from model.services import journey_files, signal_files, workspaces
from model.tables import Item, Signal, Stage, Step
from tests.conftest import create_throwaway_database, drop_throwaway_database

EXAMPLES_PER_OPERATION = 4

# The document is read once at import; the fixtures point the app at the module's database.
APP = create_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def fuzz_db() -> Iterator[str]:
    """A database of its own for the whole module: every operation runs on what the ones
    before it left, as a service does."""
    url = create_throwaway_database("fuzz")
    migrate.upgrade(url)
    yield url
    dispose_engines()
    drop_throwaway_database(url)


@pytest.fixture(scope="module")
def known(fuzz_db: str) -> dict[str, list[Any]]:
    """An owner's token and the real values of the workspace's path parameters."""
    with session_scope(fuzz_db) as session:
        ws = workspaces.ensure_workspace(session, "acme", "Acme")
        member = workspaces.ensure_member(
            session, ws, MemberSpec(email="owner@acme.example", name="Owner", role="owner")
        )
        journey_files.import_journey(session, ws, load_demo_file(JOURNEY_FILES[0]), "tests")
        [journey] = repository.journeys(session, ws.id)
        signal_files.import_signals(
            session, ws, journey, [{"text": "the import never finishes"}, {"text": "refund?"}]
        )
        token = workspaces.create_token(session, member, "fuzz").secret
        # Requests may change this member's role; the owner's own stays, so the run goes on.
        editor = workspaces.ensure_member(
            session, ws, MemberSpec(email="editor@acme.example", name="Editor", role="editor")
        )
        item_ids = list(session.scalars(select(Item.id).where(Item.workspace_id == ws.id)))
        return {
            "token": [token],
            "slug": [journey.slug],
            "item_id": item_ids,
            "source_id": item_ids,
            "target_id": item_ids,
            "stage_id": list(session.scalars(select(Stage.id))),
            "step_id": list(session.scalars(select(Step.id))),
            "signal_id": list(session.scalars(select(Signal.id))),
            "workspace": [ws.slug],
            "email": [editor.email],
        }


@pytest.fixture
def owner_headers(fuzz_db: str, known: dict[str, list[Any]]) -> dict[str, str]:
    APP.state.database_url = fuzz_db
    return {"Authorization": f"Bearer {known['token'][0]}"}


def use_known_values(case: Any, known: dict[str, list[Any]]) -> None:
    """Swap generated path parameters for real ones, picked by the generated value."""
    for name, value in list((case.path_parameters or {}).items()):
        pool = known.get(name)
        if pool:
            case.path_parameters[name] = pool[zlib.crc32(repr(value).encode()) % len(pool)]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_service_fail(
    case: Any, owner_headers: dict[str, str], known: dict[str, list[Any]]
) -> None:
    use_known_values(case, known)
    case.call_and_validate(headers=owner_headers, checks=[not_a_server_error])
