"""Fixtures shared by the model tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from model.services import journey_files, journeys
from tests import factories
from tests.factories import ACTOR


@pytest.fixture
def fintech(session: Session, data_dir: Path) -> tuple[Any, Any]:
    """A workspace with the 20-step card customer journey imported."""
    ws = factories.workspace(session)
    document = journey_files.load_file(data_dir / "fintech-journey.json")
    journey_files.import_journey(session, ws, document, ACTOR)
    return ws, journeys.get_journey(session, ws.id, "card-customer-lifecycle")
