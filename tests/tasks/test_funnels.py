"""The journey funnel from the PostHog stand-in, on customers whose path is known."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from model import repository
from model.db import session_scope
from model.errors import InvalidInput
from model.services import journey_files, journeys, views, workspaces
from model.tables import Signal
from tasks.funnels import compute_funnel, funnel_markdown
from tests.tasks.test_metrics import DAY, NOW, capture, metric_env  # noqa: F401  (fixture)

JOURNEY = {
    "journey": "Onboarding",
    "stages": [
        {
            "name": "Start",
            "steps": [
                {"name": "Signs up", "reached_when": "signed_up"},
                {"name": "Reads the docs"},  # not mapped: left out of the funnel
                {"name": "Connects an integration", "reached_when": "integration_connected"},
            ],
        },
        {
            "name": "Value",
            "steps": [{"name": "Builds a report", "reached_when": "event = 'report_built'"}],
        },
    ],
}
H = timedelta(hours=1)
T0 = DAY[18]
PATHS = {
    "u1": [("signed_up", 0), ("integration_connected", 1), ("report_built", 3)],
    "u2": [("signed_up", 0), ("integration_connected", 2)],
    "u3": [("signed_up", 0), ("report_built", 1)],  # skipped a step: stops at the first
    "u4": [("integration_connected", 0), ("signed_up", 1)],  # out of order
    "u5": [("signed_up", 0)],
    "u6": [("report_built", 0)],  # never entered
    "u7": [("signed_up", 0), ("integration_connected", 4), ("report_built", 5)],
}


def send(paths: dict[str, list[tuple[str, int]]], start: Any, url: str) -> None:
    capture(
        url,
        [
            (event, user, start + hours * H, {})
            for user, path in paths.items()
            for event, hours in path
        ],
    )


@pytest.fixture
def funnel_env(metric_env: Any) -> Any:  # noqa: F811
    with session_scope() as session:
        ws = workspaces.get_workspace(session, "acme")
        journey_files.import_journey(session, ws, JOURNEY, "tests")
    send(PATHS, T0, metric_env.url)
    return metric_env


class TestFunnel:
    def test_customers_conversion_and_median_time_per_step(self, funnel_env: Any) -> None:
        result = compute_funnel.fn("acme", "onboarding", days=7, now=NOW)
        rows = [(s.name, s.reached, s.conversion, s.median_seconds) for s in result.steps]
        assert rows == [
            ("Signs up", 6, None, None),
            ("Connects an integration", 3, 0.5, 2 * 3600),
            ("Builds a report", 2, pytest.approx(2 / 3), 1.5 * 3600),
        ]
        assert result.biggest_drop is not None
        assert result.biggest_drop.name == "Connects an integration"
        markdown = funnel_markdown(result)
        assert "| Connects an integration | 3 | 50% | 2.0 h |" in markdown
        assert "data:image/svg+xml;base64," in markdown

    def test_a_fall_against_the_previous_window_is_a_signal_once(self, funnel_env: Any) -> None:
        week_before = NOW - timedelta(days=7)
        earlier = {f"p{n}": [("signed_up", 0), ("integration_connected", 1)] for n in range(4)}
        send(earlier, T0 - timedelta(days=7), funnel_env.url)
        first = compute_funnel.fn("acme", "onboarding", days=7, now=week_before)
        assert [s.conversion for s in first.steps][1] == 1.0
        assert first.signals == []
        current = compute_funnel.fn("acme", "onboarding", days=7, now=NOW)
        assert current.signals == [
            "Funnel: conversion to 'Connects an integration' fell from 100% to 50% "
            "(2026-11-16 to 2026-11-23)"
        ]
        again = compute_funnel.fn("acme", "onboarding", days=7, now=NOW + timedelta(hours=2))
        assert again.signals == []
        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            journey = journeys.get_journey(session, ws.id, "onboarding")
            history = repository.funnel_history(session, journey.id)
            assert [len(h.steps) for h in history] == [3, 3]  # one run per window
            [signal] = session.scalars(select(Signal).where(Signal.classifier == "funnel")).all()
            assert signal.step_id == history[-1].steps[1].step_id
            assert signal.state == "classified"

    def test_the_map_shows_conversion_and_counts_the_drop_off_as_friction(
        self, funnel_env: Any
    ) -> None:
        compute_funnel.fn("acme", "onboarding", days=7, now=NOW)
        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            body = views.journey_map(session, journeys.get_journey(session, ws.id, "onboarding"))
        steps = {st["name"]: st for s in body["stages"] for st in s["steps"]}
        assert (steps["Signs up"]["conversion"], steps["Signs up"]["friction"]) == (None, 0)
        assert steps["Connects an integration"]["conversion"] == 0.5
        assert steps["Connects an integration"]["friction"] == 50
        assert steps["Reads the docs"]["conversion"] is None

    def test_a_journey_needs_two_mapped_steps(self, metric_env: Any) -> None:  # noqa: F811
        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            journey_files.import_journey(
                session,
                ws,
                {"journey": "Bare", "stages": [{"name": "S", "steps": [{"name": "A"}]}]},
                "tests",
            )
        with pytest.raises(InvalidInput, match="at least two steps with `reached_when`"):
            compute_funnel.fn("acme", "bare", now=NOW)
