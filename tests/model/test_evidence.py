"""Placed signals become evidence: grouped into insights, attached, and proposing opportunities."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import repository
from model.services import evidence, items, signal_files
from model.settings import ClassifySettings
from model.tables import Item, SignalEvidence

SETTINGS = ClassifySettings(group_similarity=0.3, group_min_signals=3, opportunity_min_evidence=6)
CARD_LATE = [
    "my card has still not arrived",
    "the card has not arrived yet after two weeks",
    "card not arrived, where is it",
    "still waiting, my card has not arrived",
]
CLOSE = ["close my account", "please close my account today", "I want to close my account"]


def confirm(
    session: Session, ws: object, journey: object, texts: list[str], step: str, origin: str
) -> None:
    rows = [{"text": t, "step": step} for t in texts]
    signal_files.import_signals(session, ws, journey, rows, step_column="step", origin=origin)  # type: ignore[arg-type]


def insights(session: Session) -> list[Item]:
    return list(session.scalars(select(Item).where(Item.type == "insight").order_by(Item.id)))


class TestGrouping:
    def test_similar_signals_on_a_step_become_one_machine_made_insight(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        confirm(session, ws, journey, CARD_LATE, "Customer orders a physical card", "a")
        report = evidence.group_into_insights(session, ws, journey, SETTINGS)
        assert (report.insights_created, report.attached) == (1, 4)
        [insight] = insights(session)
        assert insight.machine_made
        assert insight.title in CARD_LATE
        assert "4 signals on step 'Customer orders a physical card'" in (insight.description or "")
        summary = repository.evidence_summary(session, [insight.id])[insight.id]
        assert summary["count"] == 4
        assert summary["sources"] == ["import"]

    def test_new_evidence_attaches_instead_of_making_a_near_copy(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        confirm(session, ws, journey, CARD_LATE, "Customer orders a physical card", "a")
        evidence.group_into_insights(session, ws, journey, SETTINGS)
        confirm(
            session,
            ws,
            journey,
            ["my card has not arrived, where is it?"],
            "Customer orders a physical card",
            "b",
        )
        report = evidence.group_into_insights(session, ws, journey, SETTINGS)
        assert (report.insights_created, report.attached) == (0, 1)
        [insight] = insights(session)
        assert repository.evidence_summary(session, [insight.id])[insight.id]["count"] == 5

    def test_small_groups_wait_and_nothing_is_grouped_twice(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        confirm(session, ws, journey, CARD_LATE[:2], "Customer orders a physical card", "a")
        assert evidence.group_into_insights(session, ws, journey, SETTINGS).insights_created == 0
        confirm(session, ws, journey, CARD_LATE[2:], "Customer orders a physical card", "b")
        assert evidence.group_into_insights(session, ws, journey, SETTINGS).insights_created == 1
        again = evidence.group_into_insights(session, ws, journey, SETTINGS)
        assert (again.insights_created, again.attached) == (0, 0)
        assert session.scalar(select(func.count()).select_from(SignalEvidence)) == 4

    def test_different_steps_make_different_insights(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        confirm(session, ws, journey, CARD_LATE, "Customer orders a physical card", "a")
        confirm(session, ws, journey, CLOSE, "Customer closes account", "b")
        report = evidence.group_into_insights(session, ws, journey, SETTINGS)
        assert report.insights_created == 2


class TestOpportunities:
    def test_a_step_over_the_threshold_gets_one_proposed_opportunity(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        confirm(
            session,
            ws,
            journey,
            CARD_LATE + [t + "!" for t in CARD_LATE],
            "Customer orders a physical card",
            "a",
        )
        report = evidence.group_into_insights(session, ws, journey, SETTINGS)
        assert report.opportunities_proposed == 1
        [opportunity] = session.scalars(select(Item).where(Item.type == "opportunity")).all()
        assert opportunity.machine_made
        assert opportunity.title == "Reduce friction at Customer orders a physical card"
        [insight] = insights(session)
        assert repository.link(session, insight.id, opportunity.id) is not None
        assert (
            evidence.group_into_insights(session, ws, journey, SETTINGS).opportunities_proposed == 0
        )

    def test_confirming_makes_an_item_the_teams_own(self, session: Session, fintech: tuple) -> None:
        ws, journey = fintech
        confirm(session, ws, journey, CARD_LATE, "Customer orders a physical card", "a")
        evidence.group_into_insights(session, ws, journey, SETTINGS)
        [found] = insights(session)
        insight = items.get_item(session, ws.id, found.id)
        items.update_item(session, insight, {"machine_made": False}, "maya")
        assert not insight.machine_made
        assert repository.item_history(session, insight.id)[-1].changes == {
            "machine_made": [True, False]
        }
