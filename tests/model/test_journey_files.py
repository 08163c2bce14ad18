"""Journey files: import, idempotent re-import, export and round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.demo import JOURNEY_FILES, load_demo_file
from model import repository
from model.errors import Conflict, InvalidInput
from model.services import journey_files, journeys
from model.tables import Base, ChangeEvent
from tests import factories
from tests.factories import ACTOR


def row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


class TestMinimalFile:
    def test_fintech_journey_has_seven_stages_and_twenty_steps(
        self, session: Session, data_dir: Path
    ) -> None:
        ws = factories.workspace(session)
        data = journey_files.load_file(data_dir / "fintech-journey.json")
        report = journey_files.import_journey(session, ws, data, ACTOR)
        journey = journeys.get_journey(session, ws.id, "card-customer-lifecycle")
        tree = repository.journey_tree(session, journey.id)
        assert report.journey_slug == "card-customer-lifecycle"
        assert len(tree) == 7
        assert sum(len(stage.steps) for stage in tree) == 20
        assert [stage.position for stage in tree] == list(range(7))
        assert tree[0].steps[1].name == "Customer verifies identity"

    def test_second_import_changes_nothing(self, session: Session, data_dir: Path) -> None:
        ws = factories.workspace(session)
        data = journey_files.load_file(data_dir / "fintech-journey.json")
        journey_files.import_journey(session, ws, data, ACTOR)
        before = row_counts(session)
        report = journey_files.import_journey(session, ws, data, ACTOR)
        assert not report.changed
        assert row_counts(session) == before

    def test_name_key_is_accepted_and_slug_can_be_given(self, session: Session) -> None:
        ws = factories.workspace(session)
        report = journey_files.import_journey(
            session, ws, {"name": "Onboarding", "slug": "onboard", "stages": []}, ACTOR
        )
        assert report.journey_slug == "onboard"

    def test_changed_description_updates_only_that(self, session: Session) -> None:
        ws = factories.workspace(session)
        data: dict[str, Any] = {
            "journey": "Onboarding",
            "stages": [{"name": "Setup", "steps": [{"name": "Connect", "description": "Old"}]}],
        }
        journey_files.import_journey(session, ws, data, ACTOR)
        data["stages"][0]["steps"][0]["description"] = "New"
        report = journey_files.import_journey(session, ws, data, ACTOR)
        assert report.counts["steps"]["updated"] == 1
        assert report.counts["stages"]["unchanged"] == 1

    def test_reordered_file_reorders_the_journey(self, session: Session) -> None:
        ws = factories.workspace(session)
        data: dict[str, Any] = {"journey": "J", "stages": [{"name": "A"}, {"name": "B"}]}
        journey_files.import_journey(session, ws, data, ACTOR)
        data["stages"].reverse()
        journey_files.import_journey(session, ws, data, ACTOR)
        journey = journeys.get_journey(session, ws.id, "j")
        assert [s.name for s in repository.stages_of(session, journey.id)] == ["B", "A"]


class TestInvalidFiles:
    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"stages": []}, "journey: Field required"),
            ({"journey": "J", "stages": [{"steps": []}]}, r"stages\[0\]\.name: Field required"),
            ({"journey": "J", "colour": "red"}, "colour: not a field of the journey file"),
            (
                {"journey": "J", "items": [{"type": "insight", "title": "X", "severity": 7}]},
                r"items\[0\]\.severity: Input should be less than or equal to 5",
            ),
            (
                {
                    "journey": "J",
                    "stages": [{"name": "S", "steps": [{"name": "T", "items": ["x"]}]}],
                },
                "lists item 'x', which is neither",
            ),
        ],
    )
    def test_errors_say_where_and_what(
        self, session: Session, data: dict[str, Any], message: str
    ) -> None:
        ws = factories.workspace(session)
        with pytest.raises(InvalidInput, match=message):
            journey_files.import_journey(session, ws, data, ACTOR)

    def test_forbidden_link_in_a_file_leaves_nothing_behind(self, session: Session) -> None:
        ws = factories.workspace(session)
        data = {
            "journey": "J",
            "stages": [{"name": "S", "steps": [{"name": "T", "items": ["m", "i"]}]}],
            "items": [
                {"key": "m", "type": "metric", "title": "M", "links": ["i"]},
                {"key": "i", "type": "insight", "title": "I"},
            ],
        }
        before = row_counts(session)
        with (
            pytest.raises(Conflict, match="a metric cannot link to an insight"),
            session.begin_nested(),
        ):
            journey_files.import_journey(session, ws, data, ACTOR)
        assert row_counts(session) == before

    def test_unreadable_files_say_so(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.json"
        broken.write_text("{not json", encoding="utf-8")
        with pytest.raises(InvalidInput, match=r"broken\.json is not valid json"):
            journey_files.load_file(broken)
        listing = tmp_path / "list.yaml"
        listing.write_text("- a\n- b\n", encoding="utf-8")
        with pytest.raises(InvalidInput, match="holds one object"):
            journey_files.load_file(listing)


class TestRichFilesRoundTrip:
    def test_export_then_import_gives_back_the_same_journey(self, session: Session) -> None:
        source = factories.workspace(session, "source")
        journey_files.import_journey(session, source, load_demo_file(JOURNEY_FILES[0]), ACTOR)
        exported = journey_files.export_journey(
            session, journeys.get_journey(session, source.id, "trial-to-paid")
        )
        target = factories.workspace(session, "target")
        journey_files.import_journey(session, target, json.loads(json.dumps(exported)), ACTOR)
        again = journey_files.export_journey(
            session, journeys.get_journey(session, target.id, "trial-to-paid")
        )
        assert again == exported
        assert len(exported["items"]) == 11
        insight = next(
            i for i in exported["items"] if i["type"] == "insight" and i["severity"] == 4
        )
        assert insight["links"] == [
            "opportunity-let-admins-connect-tools-without-handling-api-keys"
        ]
        assert insight["segment"] == ["Non-technical admin"]

    def test_yaml_and_json_say_the_same(self, session: Session, tmp_path: Path) -> None:
        ws = factories.workspace(session)
        journey_files.import_journey(session, ws, load_demo_file(JOURNEY_FILES[0]), ACTOR)
        document = journey_files.export_journey(
            session, journeys.get_journey(session, ws.id, "trial-to-paid")
        )
        for fmt in ("json", "yaml"):
            path = tmp_path / f"journey.{fmt}"
            path.write_text(journey_files.dump(document, fmt), encoding="utf-8")
            assert journey_files.load_file(path) == document

    def test_building_block_shared_by_two_files_stays_one_item(self, session: Session) -> None:
        ws = factories.workspace(session)
        for name in JOURNEY_FILES:
            journey_files.import_journey(session, ws, load_demo_file(name), ACTOR)
        chat = repository.item_by_key(session, ws.id, "touchpoint-in-app-support-chat")
        assert chat is not None
        assert len(repository.journey_ids_of_item(session, chat.id)) == 2
        assert repository.placement_count(session, chat.id) == 3

    def test_reimporting_rich_files_writes_no_history(self, session: Session) -> None:
        ws = factories.workspace(session)
        for name in JOURNEY_FILES:
            journey_files.import_journey(session, ws, load_demo_file(name), ACTOR)
        events = session.scalar(select(func.count()).select_from(ChangeEvent))
        before = row_counts(session)
        for name in JOURNEY_FILES:
            report = journey_files.import_journey(session, ws, load_demo_file(name), ACTOR)
            assert not report.changed, report.lines()
        assert session.scalar(select(func.count()).select_from(ChangeEvent)) == events
        assert row_counts(session) == before

    def test_inline_items_without_keys_are_matched_on_reimport(self, session: Session) -> None:
        ws = factories.workspace(session)
        data = {
            "journey": "J",
            "stages": [
                {
                    "name": "S",
                    "steps": [{"name": "T", "items": [{"type": "insight", "title": "Slow"}]}],
                }
            ],
        }
        journey_files.import_journey(session, ws, data, ACTOR)
        report = journey_files.import_journey(session, ws, json.loads(json.dumps(data)), ACTOR)
        assert report.counts["items"]["unchanged"] == 1
        assert repository.item_by_key(session, ws.id, "insight-slow") is not None
