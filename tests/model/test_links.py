"""Item links: only along the allowed directions, only within one journey."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from model.enums import ALLOWED_LINKS, ItemType
from model.errors import Conflict
from model.services import items
from tests import factories
from tests.factories import ACTOR


def article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


ALL_PAIRS = [(source, target) for source in ItemType for target in ItemType if source != target]


class TestLinkDirections:
    @pytest.mark.parametrize(("source_type", "target_type"), ALL_PAIRS)
    def test_only_allowed_directions_link(
        self, session: Session, source_type: ItemType, target_type: ItemType
    ) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=1, steps=1)
        source = factories.placed(session, ws, steps[0], source_type, "Source")
        target = factories.placed(session, ws, steps[0], target_type, "Target")
        if target_type in ALLOWED_LINKS[source_type]:
            link, created = items.link_items(session, source, target, ACTOR)
            assert created
            assert (link.source_id, link.target_id) == (source.id, target.id)
        else:
            with pytest.raises(
                Conflict, match=f"{article(source_type)} cannot link to {article(target_type)}"
            ):
                items.link_items(session, source, target, ACTOR)

    def test_the_five_allowed_directions(self) -> None:
        allowed = {(s.value, t.value) for s, targets in ALLOWED_LINKS.items() for t in targets}
        assert allowed == {
            ("touchpoint", "insight"),
            ("insight", "opportunity"),
            ("opportunity", "solution"),
            ("opportunity", "metric"),
            ("solution", "metric"),
        }


class TestLinkScope:
    def test_items_in_different_journeys_cannot_link(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, one = factories.journey(session, ws, name="One", stages=1, steps=1)
        _, _, two = factories.journey(session, ws, name="Two", stages=1, steps=1)
        insight = factories.placed(session, ws, one[0], "insight", "Stall")
        opportunity = factories.placed(session, ws, two[0], "opportunity", "Fix")
        with pytest.raises(Conflict, match="not placed in the same journey"):
            items.link_items(session, insight, opportunity, ACTOR)

    def test_unplaced_items_cannot_link(self, session: Session) -> None:
        ws = factories.workspace(session)
        insight = factories.item(session, ws, "insight", "Stall")
        opportunity = factories.item(session, ws, "opportunity", "Fix")
        with pytest.raises(Conflict, match="same journey"):
            items.link_items(session, insight, opportunity, ACTOR)

    def test_different_steps_of_one_journey_can_link(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=2, steps=1)
        insight = factories.placed(session, ws, steps[0], "insight", "Stall")
        opportunity = factories.placed(session, ws, steps[1], "opportunity", "Fix")
        _, created = items.link_items(session, insight, opportunity, ACTOR)
        _, again = items.link_items(session, insight, opportunity, ACTOR)
        assert created
        assert not again

    def test_unlink_is_recorded_on_both_items(self, session: Session) -> None:
        ws = factories.workspace(session)
        _, _, steps = factories.journey(session, ws, stages=1, steps=1)
        insight = factories.placed(session, ws, steps[0], "insight", "Stall")
        opportunity = factories.placed(session, ws, steps[0], "opportunity", "Fix")
        items.link_items(session, insight, opportunity, ACTOR)
        items.unlink_items(session, insight, opportunity, ACTOR)
        from model import repository

        for item in (insight, opportunity):
            actions = [e.action for e in repository.item_history(session, item.id)]
            assert actions[-2:] == ["linked", "unlinked"]
