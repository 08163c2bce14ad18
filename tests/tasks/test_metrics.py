"""Metric items synced from the PostHog and Stripe stand-ins over HTTP, on data whose answers
are known by construction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.sandbox import data as sandbox_data
from model import repository
from model.db import session_scope
from model.schemas import WorkspaceSpec
from model.services import items, metrics, sources, workspaces
from model.settings import reset_settings
from model.tables import ChangeEvent, MetricPoint
from tasks.metrics import sync_metric

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # the week measured: Nov 16 to Nov 22
DAY = {n: datetime(2026, 11, n, 10, 0, tzinfo=UTC) for n in range(10, 24)}


def capture(url: str, events: list[tuple[str, str, datetime, dict[str, str]]]) -> None:
    """Send events the way PostHog's SDK does (the /batch/ capture endpoint)."""
    batch = [
        {
            "event": name,
            "distinct_id": user,
            "timestamp": moment.isoformat(),
            "uuid": str(uuid.uuid4()),
            "properties": properties,
        }
        for name, user, moment, properties in events
    ]
    httpx.post(
        url + "/posthog/batch/", json={"api_key": sandbox_data.POSTHOG_PROJECT_KEY, "batch": batch}
    ).raise_for_status()


def stripe_event(url: str, kind: str, moment: datetime) -> None:
    obj = {"id": f"obj_{uuid.uuid4().hex[:10]}", "customer": "cus_1", "status": "active"}
    httpx.post(
        url + "/_sandbox/stripe/events",
        json={"type": kind, "object": obj, "created": int(moment.timestamp())},
    ).raise_for_status()


PRO, FREE = {"plan": "pro"}, {"plan": "free"}
EXPORTS = [
    # day 16: 3 events by a and b; day 17: 1 by a; day 19: 4 by c and d; outside the week: 2
    ("report_exported", "a", DAY[16], PRO),
    ("report_exported", "b", DAY[16], FREE),
    ("report_exported", "b", DAY[16] + timedelta(hours=1), FREE),
    ("report_exported", "a", DAY[17], PRO),
    ("report_exported", "c", DAY[19], PRO),
    ("report_exported", "c", DAY[19], PRO),
    ("report_exported", "c", DAY[19], PRO),
    ("report_exported", "d", DAY[19], FREE),
    ("report_exported", "e", DAY[15], PRO),
    ("report_exported", "e", DAY[23], PRO),
]
SIGNUPS: list[tuple[str, str, datetime, dict[str, str]]] = [
    *[("signup_started", f"s{n}", DAY[16], {}) for n in range(1, 5)],
    *[("signup_completed", f"s{n}", DAY[16], {}) for n in range(1, 3)],
    *[("signup_started", f"s{n}", DAY[17], {}) for n in range(5, 7)],
    *[("signup_completed", f"s{n}", DAY[17], {}) for n in range(5, 7)],
]


@pytest.fixture
def metric_env(committed_db: str, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    httpx.post(
        sandbox.url + "/_sandbox/reset",
        json={"seed": 1, "conversations": 0, "stripe_events": 0, "posthog_events": 0},
    ).raise_for_status()
    monkeypatch.setenv("JOURNEYOPS_STRIPE__API_KEY", sandbox_data.STRIPE_KEY)
    monkeypatch.setenv("JOURNEYOPS_POSTHOG__PERSONAL_API_KEY", sandbox_data.POSTHOG_KEY)
    monkeypatch.setenv("JOURNEYOPS_HTTP__MAX_ATTEMPTS", "2")
    monkeypatch.setenv("JOURNEYOPS_POSTHOG__QUERIES_PER_MINUTE", "100000")
    monkeypatch.setenv("JOURNEYOPS_HTTP__MAX_BACKOFF_SECONDS", "0.05")
    reset_settings()
    with session_scope() as session:
        ws = workspaces.create_workspace(session, WorkspaceSpec(name="Acme", slug="acme"))
        sources.configure_source(session, ws, "stripe", base_url=sandbox.url + "/stripe")
        sources.configure_source(
            session,
            ws,
            "posthog",
            base_url=sandbox.url + "/posthog",
            options={"project_id": sandbox_data.POSTHOG_PROJECT},
        )
    capture(sandbox.url, EXPORTS + SIGNUPS)
    for kind, day in [
        ("customer.subscription.created", 16),
        ("customer.subscription.created", 16),
        ("customer.subscription.created", 18),
        ("customer.subscription.deleted", 17),
        ("invoice.payment_failed", 20),
        ("invoice.payment_failed", 20),
        ("invoice.payment_failed", 20),
        ("refund.created", 21),
        ("customer.subscription.created", 23),  # today: outside the week
        ("customer.subscription.created", 10),  # before the week
    ]:
        stripe_event(sandbox.url, kind, DAY[day])
    yield sandbox
    reset_settings()


def metric(source: dict[str, Any], **fields: Any) -> int:
    """A weekly metric item with ``source``; returns its id."""
    with session_scope() as session:
        ws = workspaces.get_workspace(session, "acme")
        item = items.create_item(
            session,
            ws,
            {
                "type": "metric",
                "title": f"Metric {uuid.uuid4().hex[:6]}",
                "evaluation_period": "week",
                **fields,
            },
            "tests",
        )
        metrics.set_source(session, item, source, "tests")
        return item.id


def value_of(source: dict[str, Any], **fields: Any) -> float | None:
    outcome = sync_metric.fn(metric(source, **fields), now=NOW)
    assert outcome.state == "ok", outcome.error
    return outcome.value


class TestPostHogMeasures:
    @pytest.mark.parametrize(
        ("measure", "calculation", "expected"),
        [
            ("events", "total", 8),
            ("events", "average", 8 / 7),
            ("events", "median", 0),
            ("events", "peak", 4),
            ("unique_users", "total", 4),  # a, b, c, d over the week, not a sum of days
            ("unique_users", "average", 5 / 7),
            ("unique_users", "peak", 2),
        ],
    )
    def test_counts_and_unique_users(
        self, metric_env: Any, measure: str, calculation: str, expected: float
    ) -> None:
        source = {
            "provider": "posthog",
            "measure": measure,
            "event": "report_exported",
            "calculation": calculation,
        }
        assert value_of(source) == pytest.approx(expected, abs=1e-4)

    def test_property_filters(self, metric_env: Any) -> None:
        source = {
            "provider": "posthog",
            "measure": "events",
            "event": "report_exported",
            "properties": {"plan": "pro"},
        }
        assert value_of(source) == 5

    @pytest.mark.parametrize(
        ("ratio_of", "calculation", "unit", "expected"),
        [
            ("events", "total", "%", 4 / 6 * 100),
            ("users", "total", None, 4 / 6),
            ("events", "average", None, 0.75),  # days 0.5 and 1.0
            ("events", "peak", None, 1.0),
        ],
    )
    def test_ratios(
        self,
        metric_env: Any,
        ratio_of: str,
        calculation: str,
        unit: str | None,
        expected: float,
    ) -> None:
        source = {
            "provider": "posthog",
            "measure": "ratio",
            "event": "signup_completed",
            "denominator_event": "signup_started",
            "ratio_of": ratio_of,
            "calculation": calculation,
        }
        fields = {"unit": unit} if unit else {}
        assert value_of(source, **fields) == pytest.approx(expected, abs=1e-3)


class TestStripeMeasures:
    @pytest.mark.parametrize(
        ("measure", "calculation", "expected"),
        [
            ("new_subscriptions", "total", 3),
            ("cancelled_subscriptions", "total", 1),
            ("net_subscriptions", "total", 2),
            ("failed_payments", "total", 3),
            ("failed_payments", "peak", 3),
            ("failed_payments", "median", 0),
            ("refunds", "total", 1),
        ],
    )
    def test_measures(
        self, metric_env: Any, measure: str, calculation: str, expected: float
    ) -> None:
        source = {"provider": "stripe", "measure": measure, "calculation": calculation}
        assert value_of(source) == pytest.approx(expected)


class TestSeriesAndState:
    def test_one_point_per_day_current_and_history(self, metric_env: Any) -> None:
        item_id = metric(
            {"provider": "posthog", "measure": "events", "event": "report_exported"},
            target=10,
            direction="higher",
        )
        first = sync_metric.fn(item_id, now=NOW)
        again = sync_metric.fn(item_id, now=NOW + timedelta(hours=3))
        assert (first.value, again.value) == (8, 8)
        assert first.on_track is False
        with session_scope() as session:
            points = repository.metric_series(session, item_id)
            assert [(p.period_end.date().day, p.value) for p in points] == [(23, 8)]
        capture(
            metric_env.url,
            [("report_exported", f"u{n}", DAY[23] + timedelta(minutes=n), PRO) for n in range(6)],
        )
        tomorrow = sync_metric.fn(item_id, now=NOW + timedelta(days=1))
        # Nov 17 to 23: the 8 minus day 16's 3, plus today's 1 and the 6 just sent.
        assert tomorrow.value == 12
        assert (tomorrow.on_track, tomorrow.crossed) == (True, "reached")
        with session_scope() as session:
            series = repository.metric_series(session, item_id)
            assert [p.value for p in series] == [8, 12]
            item = items.get_item(session, workspaces.get_workspace(session, "acme").id, item_id)
            assert (item.current, item.status) == (12, "active")
            actions = session.scalars(
                select(ChangeEvent.action).where(ChangeEvent.item_id == item_id)
            ).all()
            assert "target_reached" in actions
            assert repository.metric_source(session, item_id).state == "ok"  # type: ignore[union-attr]

    def test_a_deprecated_metric_keeps_its_status(self, metric_env: Any) -> None:
        item_id = metric({"provider": "stripe", "measure": "refunds"}, status="deprecated")
        assert sync_metric.fn(item_id, now=NOW).value == 1
        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            assert items.get_item(session, ws.id, item_id).status == "deprecated"

    def test_a_misspelt_event_breaks_the_metric_with_the_reason(self, metric_env: Any) -> None:
        item_id = metric({"provider": "posthog", "measure": "events", "event": "report_exportd"})
        outcome = sync_metric.fn(item_id, now=NOW)
        assert outcome.state == "broken"
        assert "no event named 'report_exportd'" in (outcome.error or "")
        with session_scope() as session:
            source = repository.metric_source(session, item_id)
            assert source is not None
            assert (source.state, source.error) == ("broken", outcome.error)
            assert session.scalars(select(MetricPoint)).all() == []
            ws = workspaces.get_workspace(session, "acme")
            assert items.get_item(session, ws.id, item_id).status == "broken"
            fixed = {"provider": "posthog", "measure": "events", "event": "report_exported"}
            metrics.set_source(session, items.get_item(session, ws.id, item_id), fixed, "tests")
        assert sync_metric.fn(item_id, now=NOW).state == "ok"

    @pytest.mark.parametrize("provider", ["posthog", "stripe"])
    def test_a_revoked_key_breaks_the_metric_with_the_reason(
        self, metric_env: Any, provider: str
    ) -> None:
        source = (
            {"provider": "posthog", "measure": "events", "event": "report_exported"}
            if provider == "posthog"
            else {"provider": "stripe", "measure": "refunds"}
        )
        item_id = metric(source)
        httpx.post(metric_env.url + "/_sandbox/keys", json={"service": provider}).raise_for_status()
        outcome = sync_metric.fn(item_id, now=NOW)
        assert outcome.state == "broken"
        assert outcome.error


class TestSources:
    def test_only_metrics_have_sources_and_bad_specs_name_the_field(self, metric_env: Any) -> None:
        from model.errors import InvalidInput

        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            insight = items.create_item(session, ws, {"type": "insight", "title": "I"}, "tests")
            with pytest.raises(InvalidInput, match="only metrics"):
                metrics.set_source(
                    session, insight, {"provider": "stripe", "measure": "refunds"}, "t"
                )
            item = items.create_item(session, ws, {"type": "metric", "title": "M"}, "tests")
            for bad, field in [
                ({"provider": "posthog", "measure": "events"}, "event"),
                ({"provider": "posthog", "measure": "ratio", "event": "x"}, "denominator_event"),
                ({"provider": "stripe", "measure": "events"}, "measure"),
                ({"provider": "posthog", "measure": "events", "event": "it's"}, "event"),
                (
                    {"provider": "stripe", "measure": "refunds", "calculation": "mode"},
                    "calculation",
                ),
            ]:
                with pytest.raises(InvalidInput, match=field):
                    metrics.set_source(session, item, bad, "t")
