"""Journeys, stages and steps: slugs, dense ordering and the one-journey rule."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model import repository
from model.errors import Conflict, InvalidInput
from model.schemas import JourneySpec, StageSpec, StepSpec
from model.services import journeys
from tests import factories
from tests.factories import ACTOR


def positions(rows: list) -> list[tuple[str, int]]:
    return [(row.name, row.position) for row in rows]


class TestJourneySlug:
    def test_slug_comes_from_the_name(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey = journeys.create_journey(
            session, ws, JourneySpec(name="Card customer lifecycle"), ACTOR
        )
        assert journey.slug == "card-customer-lifecycle"

    def test_duplicate_slug_in_a_workspace_is_a_conflict(self, session: Session) -> None:
        ws = factories.workspace(session)
        journeys.create_journey(session, ws, JourneySpec(name="Trial to paid"), ACTOR)
        with pytest.raises(Conflict, match="slug 'trial-to-paid'"):
            journeys.create_journey(session, ws, JourneySpec(name="Trial -- to paid"), ACTOR)

    def test_same_slug_in_another_workspace_is_fine(self, session: Session) -> None:
        first, second = factories.workspace(session, "one"), factories.workspace(session, "two")
        a = journeys.create_journey(session, first, JourneySpec(name="Trial to paid"), ACTOR)
        b = journeys.create_journey(session, second, JourneySpec(name="Trial to paid"), ACTOR)
        assert a.slug == b.slug
        assert a.id != b.id

    def test_rename_records_history(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey, _, _ = factories.journey(session, ws, stages=0)
        changed = journeys.update_journey(session, journey, {"description": "Why"}, ACTOR)
        assert changed == {"description": (None, "Why")}
        events = repository.journey_history(session, journey.id)
        assert [e.action for e in events] == ["created", "updated"]
        assert journeys.update_journey(session, journey, {"description": "Why"}, ACTOR) == {}


class TestStageOrder:
    def test_insert_at_a_position_shifts_the_rest(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey, _, _ = factories.journey(session, ws, stages=3, steps=0)
        journeys.add_stage(session, journey, StageSpec(name="First"), ACTOR, position=0)
        assert positions(repository.stages_of(session, journey.id)) == [
            ("First", 0),
            ("Stage 0", 1),
            ("Stage 1", 2),
            ("Stage 2", 3),
        ]

    def test_move_keeps_positions_dense_and_unique(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey, stages, _ = factories.journey(session, ws, stages=4, steps=0)
        journeys.move_stage(session, stages[3], 0, ACTOR)
        journeys.move_stage(session, stages[0], 3, ACTOR)
        assert positions(repository.stages_of(session, journey.id)) == [
            ("Stage 3", 0),
            ("Stage 1", 1),
            ("Stage 2", 2),
            ("Stage 0", 3),
        ]

    def test_delete_closes_the_gap(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey, stages, _ = factories.journey(session, ws, stages=3, steps=1)
        journeys.delete_stage(session, stages[1], ACTOR)
        assert positions(repository.stages_of(session, journey.id)) == [
            ("Stage 0", 0),
            ("Stage 2", 1),
        ]

    def test_duplicate_stage_name_is_a_conflict(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey, _, _ = factories.journey(session, ws, stages=1, steps=0)
        with pytest.raises(Conflict, match="Stage 0"):
            journeys.add_stage(session, journey, StageSpec(name="Stage 0"), ACTOR)

    def test_negative_position_is_refused(self, session: Session) -> None:
        ws = factories.workspace(session)
        _journey, stages, _ = factories.journey(session, ws, stages=2, steps=0)
        with pytest.raises(InvalidInput, match="position"):
            journeys.move_stage(session, stages[0], -1, ACTOR)

    def test_database_refuses_two_stages_at_one_position(self, session: Session) -> None:
        ws = factories.workspace(session)
        _journey, stages, _ = factories.journey(session, ws, stages=2, steps=0)
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(
                text("UPDATE stages SET position = 0 WHERE id = :id"), {"id": stages[1].id}
            )


class TestStepOrder:
    def test_move_within_a_stage(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, stages, steps = factories.journey(session, ws, stages=1, steps=3)
        journeys.move_step(session, steps[2], ACTOR, position=0)
        assert positions(repository.steps_of(session, stages[0].id)) == [
            ("Step 0.2", 0),
            ("Step 0.0", 1),
            ("Step 0.1", 2),
        ]

    def test_move_to_another_stage_of_the_same_journey(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, stages, steps = factories.journey(session, ws, stages=2, steps=3)
        journeys.move_step(session, steps[0], ACTOR, stage_id=stages[1].id, position=1)
        assert positions(repository.steps_of(session, stages[0].id)) == [
            ("Step 0.1", 0),
            ("Step 0.2", 1),
        ]
        assert positions(repository.steps_of(session, stages[1].id)) == [
            ("Step 1.0", 0),
            ("Step 0.0", 1),
            ("Step 1.1", 2),
            ("Step 1.2", 3),
        ]

    def test_move_into_another_journeys_stage_is_refused(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, name="One", stages=1, steps=1)
        _, other_stages, _ = factories.journey(session, ws, name="Two", stages=1, steps=1)
        with pytest.raises(InvalidInput, match="its own journey") as caught:
            journeys.move_step(session, steps[0], ACTOR, stage_id=other_stages[0].id)
        assert caught.value.field == "stage_id"

    def test_database_refuses_a_step_in_another_journeys_stage(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, name="One", stages=1, steps=1)
        _, other_stages, _ = factories.journey(session, ws, name="Two", stages=1, steps=1)
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(
                text("UPDATE steps SET stage_id = :stage, position = 9 WHERE id = :id"),
                {"stage": other_stages[0].id, "id": steps[0].id},
            )

    def test_add_step_at_position_and_delete(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, stages, steps = factories.journey(session, ws, stages=1, steps=2)
        journeys.add_step(session, stages[0], StepSpec(name="Between"), ACTOR, position=1)
        journeys.delete_step(session, steps[0], ACTOR)
        assert positions(repository.steps_of(session, stages[0].id)) == [
            ("Between", 0),
            ("Step 0.1", 1),
        ]
