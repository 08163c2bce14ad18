"""Workspace revisions: every committed change to what a journey view shows bumps its
workspace once, and nothing else does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.base import SignalRecord
from model import repository, revisions
from model.db import get_engine, session_scope
from model.schemas import MemberSpec, StepSpec
from model.services import items, journeys, signals, workspaces
from model.tables import (
    FunnelRun,
    FunnelStep,
    Item,
    Signal,
    SignalEvidence,
    Stage,
    Step,
    Workspace,
)
from tests import factories


@dataclass
class World:
    acme: int
    globex: int
    journey: int
    steps: list[int]
    item: int
    signal: int


@pytest.fixture
def world(committed_db: str) -> World:
    with session_scope() as session:
        acme = factories.workspace(session, "acme")
        globex = factories.workspace(session, "globex")
        journey, _, steps = factories.journey(session, acme)
        factories.journey(session, globex)
        item = factories.placed(session, acme, steps[0], "insight", "Setup is slow", severity=3)
        signals.upsert_signals(
            session,
            acme.id,
            "intercom",
            [SignalRecord("c1", datetime(2026, 11, 1, tzinfo=UTC), "It keeps failing", {})],
        )
        signal = session.scalars(select(Signal).where(Signal.external_id == "c1")).one()
        return World(acme.id, globex.id, journey.id, [s.id for s in steps], item.id, signal.id)


def revision_of(workspace_id: int) -> int:
    with session_scope() as session:
        return repository.workspace_revision(session, workspace_id)


def change(world: World, apply: Callable[[Session, World], object]) -> tuple[int, int]:
    """Apply a change in its own transaction; how much each workspace's revision moved."""
    before = revision_of(world.acme), revision_of(world.globex)
    with session_scope() as session:
        apply(session, world)
    return revision_of(world.acme) - before[0], revision_of(world.globex) - before[1]


def _item(session: Session, world: World) -> Item:
    return items.get_item(session, world.acme, world.item)


def _funnel_run(session: Session, world: World) -> None:
    run = FunnelRun(
        journey_id=world.journey,
        window_start=datetime(2026, 11, 1, tzinfo=UTC),
        window_end=datetime(2026, 11, 8, tzinfo=UTC),
    )
    session.add(run)
    session.flush()
    session.add(FunnelStep(run_id=run.id, step_id=world.steps[0], position=0, reached=10))


CHANGES: dict[str, Callable[[Session, World], object]] = {
    "an item's field": lambda s, w: items.update_item(s, _item(s, w), {"severity": 5}, "tests"),
    "a new item placed": lambda s, w: factories.placed(
        s, s.get_one(Workspace, w.acme), s.get_one(Step, w.steps[1]), "metric", "NPS"
    ),
    "a building block placed again": lambda s, w: items.place_item(
        s, _item(s, w), s.get_one(Step, w.steps[2]), "tests"
    ),
    "a placement removed": lambda s, w: items.remove_placement(
        s, _item(s, w), s.get_one(Step, w.steps[0]), "tests"
    ),
    "an item deleted": lambda s, w: items.delete_item(s, _item(s, w), "tests"),
    "a step renamed": lambda s, w: journeys.update_step(
        s, s.get_one(Step, w.steps[1]), StepSpec(name="Connects a bank"), "tests"
    ),
    "a step added": lambda s, w: journeys.add_step(
        s, repository.stages_of(s, w.journey)[0], StepSpec(name="Invites a teammate"), "tests"
    ),
    "a stage deleted": lambda s, w: journeys.delete_stage(
        s, repository.stages_of(s, w.journey)[1], "tests"
    ),
    "a signal placed": lambda s, w: setattr(s.get_one(Signal, w.signal), "step_id", w.steps[0]),
    "signals pulled in bulk": lambda s, w: signals.upsert_signals(
        s, w.acme, "stripe", [SignalRecord("evt_1", datetime.now(UTC), "Card declined", {})]
    ),
    "evidence linked": lambda s, w: s.add(SignalEvidence(signal_id=w.signal, item_id=w.item)),
    "a funnel run": lambda s, w: _funnel_run(s, w),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_change_a_view_shows_bumps_its_workspace_once(world: World, name: str) -> None:
    assert change(world, CHANGES[name]) == (1, 0)


def test_a_funnel_steps_own_change_bumps_through_its_step(world: World) -> None:
    change(world, CHANGES["a funnel run"])

    def edit(session: Session, _: World) -> None:
        session.scalars(select(FunnelStep)).one().conversion = 0.4

    assert change(world, edit) == (1, 0)


def test_changes_no_view_shows_leave_the_revision(world: World) -> None:
    def token(session: Session, w: World) -> None:
        ws = session.get_one(Workspace, w.acme)
        member = workspaces.ensure_member(
            session, ws, MemberSpec(email="ana@acme.example", name="Ana", role="viewer")
        )
        workspaces.create_token(session, member, "ana")

    assert change(world, token) == (0, 0)
    assert change(world, lambda s, w: journeys.get_journey(s, w.acme, "trial-to-paid")) == (0, 0)


def test_a_rolled_back_change_leaves_the_revision(world: World) -> None:
    def failing_request() -> None:
        with session_scope() as session:
            items.update_item(session, _item(session, world), {"severity": 1}, "tests")
            session.flush()
            raise RuntimeError("the request failed")

    before = revision_of(world.acme)
    with pytest.raises(RuntimeError):
        failing_request()
    assert revision_of(world.acme) == before
    assert change(world, lambda s, w: None) == (0, 0)  # nothing noted lingers


def test_many_changes_in_one_transaction_bump_once(world: World) -> None:
    def many(session: Session, w: World) -> None:
        for severity in (1, 2, 4):
            items.update_item(session, _item(session, w), {"severity": severity}, "tests")
            session.flush()
        session.get_one(Stage, repository.stages_of(session, w.journey)[0].id).name = "First"

    assert change(world, many) == (1, 0)


def test_changes_left_for_the_commit_to_flush_are_counted(world: World) -> None:
    """A session whose only listener is the revisions' one: nothing flushes before it."""
    maker = sessionmaker(bind=get_engine(), expire_on_commit=False)
    revisions.watch(maker)
    before = revision_of(world.acme)
    with maker() as session, session.begin():
        session.get_one(Signal, world.signal).step_id = world.steps[1]
    assert revision_of(world.acme) == before + 1


def test_a_bulk_statement_that_names_no_workspace_bumps_every_workspace(world: World) -> None:
    def bulk(session: Session, _: World) -> None:
        session.execute(update(Signal).values(confidence=0.5))

    assert change(world, bulk) == (1, 1)

    def named(session: Session, w: World) -> None:
        session.execute(
            update(Signal).where(Signal.workspace_id == w.acme).values(confidence=0.6),
            execution_options={"workspace_id": w.acme},
        )

    assert change(world, named) == (1, 0)
