"""Items: per-type fields and statuses, validation, updates, placements, building blocks."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model import repository
from model.errors import Conflict, InvalidInput, NotFound
from model.schemas import PersonaSpec
from model.services import items, journeys
from model.tables import Item, Metric, Placement
from tests import factories
from tests.factories import ACTOR


class TestItemTypes:
    def test_each_type_keeps_its_own_fields(self, session: Session) -> None:
        ws = factories.workspace(session)
        journeys.upsert_persona(session, ws, PersonaSpec(name="Admin", journey_role="team_admin"))
        touchpoint = factories.item(
            session, ws, "touchpoint", "Setup wizard", channel="app", actors=["Admin"]
        )
        insight = factories.item(
            session, ws, "insight", "Admins stall", kind="pain", severity=4, confidence="high"
        )
        solution = factories.item(
            session,
            ws,
            "solution",
            "OAuth connect",
            solution_type="feature",
            target_date="2027-01-29",
            impact=4,
            effort=2,
        )
        metric = factories.item(
            session,
            ws,
            "metric",
            "Activation",
            unit="%",
            baseline=38,
            target=60,
            direction="higher",
        )
        assert touchpoint.status == "exists"
        assert touchpoint.channel == "app"
        assert [p.persona.name for p in touchpoint.personas] == ["Admin"]
        assert insight.status == "new"
        assert insight.severity == 4
        assert solution.status == "idea"
        assert solution.target_date == date(2027, 1, 29)
        assert isinstance(metric, Metric)
        assert metric.status == "draft"
        assert metric.target == 60

    def test_key_is_made_from_type_and_title_and_kept_unique(self, session: Session) -> None:
        ws = factories.workspace(session)
        first = factories.item(session, ws, "insight", "Admins stall!")
        second = factories.item(session, ws, "insight", "Admins stall")
        assert (first.key, second.key) == ("insight-admins-stall", "insight-admins-stall-2")


class TestItemValidation:
    def test_severity_out_of_range_names_the_field(self, session: Session) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match="severity: Input should be less than or equal to 5"):
            factories.item(session, ws, "insight", "Bad", severity=7)

    def test_unknown_status_lists_the_allowed_ones(self, session: Session) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match=r"status: .*'exists'.*'deprecated'"):
            factories.item(session, ws, "touchpoint", "Bad", status="validated")

    def test_a_field_of_another_type_is_refused(self, session: Session) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match="severity: not a field of touchpoint items"):
            factories.item(session, ws, "touchpoint", "Bad", severity=3)

    def test_unknown_type_says_which_exist(self, session: Session) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match="use one of touchpoint, insight"):
            factories.item(session, ws, "epic", "Bad")

    @pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://files.example", "example.com"])
    def test_external_links_must_be_http(self, session: Session, url: str) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match=r"external_links\[0\]\.url"):
            factories.item(session, ws, "insight", "Bad", external_links=[{"url": url}])

    def test_unknown_persona_is_refused(self, session: Session) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match="persona 'Ghost' does not exist"):
            factories.item(session, ws, "insight", "Bad", segment=["Ghost"])

    def test_nothing_half_written_stays_behind(self, session: Session) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput), session.begin_nested():
            factories.item(session, ws, "insight", "Half", segment=["Ghost"])
        assert session.scalars(select(Item).where(Item.title == "Half")).all() == []

    @pytest.mark.parametrize(
        ("column", "value"),
        [("severity", 7), ("status", "'validated'"), ("channel", "'app'"), ("impact", 0)],
    )
    def test_database_refuses_what_the_service_refuses(
        self, session: Session, column: str, value: object
    ) -> None:
        ws = factories.workspace(session)
        insight = factories.item(session, ws, "insight", "Direct write")
        if column == "status":
            insight = factories.item(session, ws, "touchpoint", "Direct write 2")
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(
                text(f"UPDATE items SET {column} = {value} WHERE id = :id"), {"id": insight.id}
            )


class TestItemUpdate:
    def test_update_is_validated_and_recorded(self, session: Session) -> None:
        ws = factories.workspace(session)
        insight = factories.item(session, ws, "insight", "Admins stall", severity=2)
        changed = items.update_item(session, insight, {"severity": 4, "status": "observed"}, "maya")
        assert changed == {"severity": (2, 4), "status": ("new", "observed")}
        [created, updated] = repository.item_history(session, insight.id)
        assert (created.action, updated.action, updated.actor) == ("created", "updated", "maya")
        assert updated.changes == {"severity": [2, 4], "status": ["new", "observed"]}
        assert insight.updated_by == "maya"

    def test_status_change_alone_is_its_own_kind_of_event(self, session: Session) -> None:
        ws = factories.workspace(session)
        solution = factories.item(session, ws, "solution", "OAuth")
        items.update_item(session, solution, {"status": "shipped"}, ACTOR)
        assert repository.item_history(session, solution.id)[-1].action == "status_changed"

    def test_invalid_update_changes_nothing(self, session: Session) -> None:
        ws = factories.workspace(session)
        insight = factories.item(session, ws, "insight", "Admins stall", severity=2)
        with pytest.raises(InvalidInput, match="severity"):
            items.update_item(session, insight, {"severity": 9}, ACTOR)
        assert insight.severity == 2
        assert len(repository.item_history(session, insight.id)) == 1

    def test_type_cannot_change(self, session: Session) -> None:
        ws = factories.workspace(session)
        insight = factories.item(session, ws, "insight", "Admins stall")
        with pytest.raises(InvalidInput, match="type cannot change"):
            items.update_item(session, insight, {"type": "opportunity"}, ACTOR)

    def test_same_values_record_nothing(self, session: Session) -> None:
        ws = factories.workspace(session)
        insight = factories.item(session, ws, "insight", "Admins stall", severity=2)
        assert items.update_item(session, insight, {"severity": 2}, ACTOR) == {}
        assert len(repository.item_history(session, insight.id)) == 1

    def test_personas_are_replaced(self, session: Session) -> None:
        ws = factories.workspace(session)
        for name in ("Admin", "Buyer"):
            journeys.upsert_persona(session, ws, PersonaSpec(name=name))
        insight = factories.item(session, ws, "insight", "Admins stall", segment=["Admin"])
        changed = items.update_item(session, insight, {"segment": ["Buyer", "Admin"]}, ACTOR)
        assert changed == {"segment": (["Admin"], ["Admin", "Buyer"])}
        reloaded = items.get_item(session, ws.id, insight.id)
        assert sorted(p.persona.name for p in reloaded.personas) == ["Admin", "Buyer"]


class TestPlacementsAndBuildingBlocks:
    def test_one_item_on_steps_of_two_journeys(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, trial_steps = factories.journey(session, ws, name="Trial", stages=1, steps=1)
        _, _, expand_steps = factories.journey(session, ws, name="Expand", stages=1, steps=1)
        chat = factories.placed(session, ws, trial_steps[0], "touchpoint", "Support chat")
        items.place_item(session, chat, expand_steps[0], ACTOR)
        assert items.is_building_block(session, chat)
        items.update_item(session, chat, {"title": "In-app support chat"}, ACTOR)
        for journey_id in {trial_steps[0].journey_id, expand_steps[0].journey_id}:
            [placement] = repository.placements_of_journey(session, journey_id)
            assert placement.item.title == "In-app support chat"

    def test_placing_twice_is_a_no_op(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=1, steps=1)
        chat = factories.placed(session, ws, steps[0], "touchpoint", "Support chat")
        _, created = items.place_item(session, chat, steps[0], ACTOR)
        assert not created
        assert repository.placement_count(session, chat.id) == 1

    def test_removing_a_placement_keeps_the_item(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=1, steps=1)
        chat = factories.placed(session, ws, steps[0], "touchpoint", "Support chat")
        items.remove_placement(session, chat, steps[0], ACTOR)
        assert items.get_item(session, ws.id, chat.id).title == "Support chat"
        assert repository.placement_count(session, chat.id) == 0

    def test_deleting_the_item_removes_its_placements_and_keeps_history(
        self, session: Session
    ) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=1, steps=2)
        chat = factories.placed(session, ws, steps[0], "touchpoint", "Support chat")
        items.place_item(session, chat, steps[1], ACTOR)
        chat_id = chat.id
        items.delete_item(session, chat, ACTOR)
        session.expire_all()
        assert session.scalars(select(Placement).where(Placement.item_id == chat_id)).all() == []
        assert [e.action for e in repository.item_history(session, chat_id)][-1] == "deleted"

    def test_deleting_a_step_keeps_its_items(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=1, steps=1)
        chat = factories.placed(session, ws, steps[0], "touchpoint", "Support chat")
        journeys.delete_step(session, steps[0], ACTOR)
        session.expire_all()
        assert items.get_item(session, ws.id, chat.id).placements == []

    def test_items_of_another_workspace_are_not_found(self, session: Session) -> None:
        ws, other = factories.workspace(session, "one"), factories.workspace(session, "two")
        chat = factories.item(session, ws, "touchpoint", "Support chat")
        with pytest.raises(NotFound):
            items.get_item(session, other.id, chat.id)

    def test_explicit_key_must_be_unique(self, session: Session) -> None:
        ws = factories.workspace(session)
        factories.item(session, ws, "insight", "One", key="shared-key")
        with pytest.raises(Conflict, match="shared-key"):
            factories.item(session, ws, "insight", "Two", key="shared-key")
