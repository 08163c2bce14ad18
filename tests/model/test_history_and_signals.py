"""The append-only history, and the signal table's shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model import repository
from model.services import items
from model.tables import ChangeEvent, Signal, SignalEvidence
from tests import factories
from tests.factories import ACTOR


class TestHistory:
    def test_entries_cannot_be_changed_or_deleted(self, session: Session) -> None:
        ws = factories.workspace(session)
        factories.journey(session, ws, stages=1, steps=0)
        event = session.scalars(select(ChangeEvent)).first()
        assert event is not None
        event.summary = "rewritten"
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()

    def test_deleting_is_refused(self, session: Session) -> None:
        ws = factories.workspace(session)
        factories.journey(session, ws, stages=1, steps=0)
        event = session.scalars(select(ChangeEvent)).first()
        session.delete(event)
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()

    def test_journey_history_holds_changes_to_its_items(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey, _, steps = factories.journey(session, ws, stages=1, steps=1)
        insight = factories.placed(session, ws, steps[0], "insight", "Stall")
        opportunity = factories.placed(session, ws, steps[0], "opportunity", "Fix")
        items.link_items(session, insight, opportunity, ACTOR)
        items.update_item(session, insight, {"severity": 3}, ACTOR)
        summaries = [e.summary for e in repository.journey_history(session, journey.id)]
        assert "updated insight 'Stall': severity" in summaries
        assert sum("linked insight" in s for s in summaries) == 1

    def test_an_items_history_outlives_it(self, session: Session) -> None:
        ws = factories.workspace(session)
        insight = factories.item(session, ws, "insight", "Stall")
        insight_id = insight.id
        items.delete_item(session, insight, ACTOR)
        assert [e.action for e in repository.item_history(session, insight_id)] == [
            "created",
            "deleted",
        ]


def signal(workspace_id: int, external_id: str, **fields: object) -> Signal:
    values: dict[str, object] = {
        "workspace_id": workspace_id,
        "source": "intercom",
        "external_id": external_id,
        "occurred_at": datetime(2026, 11, 1, tzinfo=UTC),
        "text": "I can't find my API key",
    }
    values.update(fields)
    return Signal(**values)


def insert(session: Session, row: Signal) -> None:
    session.add(row)
    session.flush()


class TestSignalShape:
    def test_external_id_is_unique_per_workspace_and_source(self, session: Session) -> None:
        ws = factories.workspace(session)
        session.add(signal(ws.id, "conv-1"))
        session.add(signal(ws.id, "conv-1", source="stripe"))
        session.flush()
        with pytest.raises(IntegrityError), session.begin_nested():
            insert(session, signal(ws.id, "conv-1"))

    def test_state_and_confidence_are_checked(self, session: Session) -> None:
        ws = factories.workspace(session)
        for bad in ({"state": "lost"}, {"confidence": 1.5}, {"source": "email"}):
            with pytest.raises(IntegrityError), session.begin_nested():
                insert(session, signal(ws.id, "conv-x", **bad))

    def test_evidence_links_a_signal_to_items_and_placement_to_a_step(
        self, session: Session
    ) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=1, steps=1)
        insight = factories.placed(session, ws, steps[0], "insight", "Stall")
        row = signal(ws.id, "conv-2", state="classified", step_id=steps[0].id, confidence=0.9)
        session.add(row)
        session.flush()
        session.add(SignalEvidence(signal_id=row.id, item_id=insight.id))
        session.flush()
        assert row.occurred_at.tzinfo is not None
        assert session.get(SignalEvidence, (row.id, insight.id)) is not None
