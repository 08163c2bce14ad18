"""Metric measures read from PostHog (HogQL) and Stripe (events), day by day over a window.

PostHog computes everything in its query API (counts and unique users grouped by day, and the
window's unique users); nothing downloads events. Stripe has no aggregates, so its events of
the measured types are listed over the window (by the events API's `type` and `created`
filters) and counted per day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.errors import RequestError
from connectors.posthog import PostHogClient, hogql_string, hogql_time, parse_time
from connectors.stripe import StripeClientWrapper
from model.schemas import MetricSourceSpec

# How far back an event must have been seen for its name to count as real.
EVENT_LOOKBACK = timedelta(days=90)

STRIPE_EVENT_TYPES = {
    "new_subscriptions": {"customer.subscription.created": 1},
    "cancelled_subscriptions": {"customer.subscription.deleted": 1},
    "net_subscriptions": {"customer.subscription.created": 1, "customer.subscription.deleted": -1},
    "failed_payments": {"invoice.payment_failed": 1},
    "refunds": {"refund.created": 1},
}


@dataclass(frozen=True)
class Window:
    """Whole UTC days ``[start, end)``; ``end`` is the start of the day the sync runs on."""

    start: datetime
    end: datetime

    @classmethod
    def ending_before(cls, moment: datetime, days: int) -> Window:
        end = datetime.combine(moment.astimezone(UTC).date(), datetime.min.time(), UTC)
        return cls(end - timedelta(days=days), end)

    def days(self) -> list[date]:
        count = (self.end - self.start).days
        return [(self.start + timedelta(days=n)).date() for n in range(count)]


@dataclass(frozen=True)
class Measured:
    """A measure's value for each day of the window, and over the whole window where a day
    sum would be wrong (unique users, ratios)."""

    daily: dict[date, float]
    whole: float | None


def _day(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


class PostHogMeasures:
    """Reads a PostHog measure through HogQL."""

    def __init__(self, client: PostHogClient) -> None:
        self.client = client

    def _where(self, event: str, spec: MetricSourceSpec, start: datetime, end: datetime) -> str:
        clauses = [
            f"event = {hogql_string(event)}",
            f"timestamp >= {hogql_time(start)}",
            f"timestamp < {hogql_time(end)}",
        ]
        clauses += [
            f"properties.{name} = {hogql_string(value)}"
            for name, value in sorted(spec.properties.items())
        ]
        return " AND ".join(clauses)

    def _rows(self, hogql: str) -> list[list[Any]]:
        answer = self.client.query(hogql)
        rows = answer.get("results")
        if not isinstance(rows, list):
            raise RequestError("posthog", "the query answer has no results")
        return rows

    def check_event(self, event: str, now: datetime) -> None:
        """Raise RequestError when PostHog has not seen ``event`` lately: a misspelt name would
        otherwise read as a metric that fell to zero."""
        rows = self._rows(
            f"SELECT count() FROM events WHERE event = {hogql_string(event)} "
            f"AND timestamp >= {hogql_time(now - EVENT_LOOKBACK)}"
        )
        if not rows or not rows[0] or not rows[0][0]:
            raise RequestError(
                "posthog",
                f"PostHog has no event named {event!r} in the last {EVENT_LOOKBACK.days} days; "
                "check the name (it is case-sensitive)",
            )

    def _daily(
        self, aggregate: str, event: str, spec: MetricSourceSpec, window: Window
    ) -> dict[date, float]:
        rows = self._rows(
            f"SELECT toStartOfDay(timestamp) AS day, {aggregate} FROM events "
            f"WHERE {self._where(event, spec, window.start, window.end)} "
            "GROUP BY day ORDER BY day"
        )
        return {_day(day): float(value or 0) for day, value in rows}

    def _whole(self, aggregate: str, event: str, spec: MetricSourceSpec, window: Window) -> float:
        rows = self._rows(
            f"SELECT {aggregate} FROM events WHERE {self._where(event, spec, window.start, window.end)}"
        )
        return float(rows[0][0] or 0) if rows and rows[0] else 0.0

    def top_events(self, window: Window, limit: int = 5) -> list[tuple[str, int]]:
        """The most frequent events of the window, most first."""
        rows = self._rows(
            "SELECT event, count() AS n FROM events "
            f"WHERE timestamp >= {hogql_time(window.start)} AND timestamp < {hogql_time(window.end)} "
            f"GROUP BY event ORDER BY n DESC, event LIMIT {int(limit)}"
        )
        return [(str(event), int(count or 0)) for event, count in rows]

    def measure(self, spec: MetricSourceSpec, window: Window, now: datetime) -> Measured:
        assert spec.event is not None
        events = [spec.event] + ([spec.denominator_event] if spec.denominator_event else [])
        for event in events:
            self.check_event(event, now)
        if spec.measure == "events":
            return Measured(self._daily("count()", spec.event, spec, window), None)
        if spec.measure == "unique_users":
            aggregate = "uniq(distinct_id)"
            return Measured(
                self._daily(aggregate, spec.event, spec, window),
                self._whole(aggregate, spec.event, spec, window),
            )
        assert spec.denominator_event is not None
        aggregate = "count()" if spec.ratio_of == "events" else "uniq(distinct_id)"
        top = self._daily(aggregate, spec.event, spec, window)
        bottom = self._daily(aggregate, spec.denominator_event, spec, window)
        daily = {day: top.get(day, 0.0) / count for day, count in bottom.items() if count}
        whole_bottom = self._whole(aggregate, spec.denominator_event, spec, window)
        whole = (
            self._whole(aggregate, spec.event, spec, window) / whole_bottom
            if whole_bottom
            else None
        )
        return Measured(daily, whole)


class StripeMeasures:
    """Counts a Stripe measure's events per day."""

    def __init__(self, client: StripeClientWrapper, page_size: int = 100) -> None:
        self.client = client
        self.page_size = page_size

    def _events(self, event_type: str, window: Window) -> Iterator[dict[str, Any]]:
        """The window's events of one type, a page at a time."""
        after: str | None = None
        while True:
            page = self.client.list_events_of_type(
                event_type,
                int(window.start.timestamp()),
                int(window.end.timestamp()),
                limit=self.page_size,
                starting_after=after,
            )
            data = page.get("data") or []
            yield from data
            if not page.get("has_more") or not data:
                return
            after = data[-1]["id"]

    def measure(self, spec: MetricSourceSpec, window: Window, now: datetime) -> Measured:
        daily: dict[date, float] = {day: 0.0 for day in window.days()}
        for event_type, sign in STRIPE_EVENT_TYPES[spec.measure].items():
            for event in self._events(event_type, window):
                created = datetime.fromtimestamp(int(event["created"]), UTC)
                if window.start <= created < window.end:
                    daily[created.date()] = daily.get(created.date(), 0.0) + sign
        return Measured(daily, None)


FUNNEL_PAGE = 10_000
EVENT_NAME = re.compile(r"^[$\w][\w$.:/ -]{0,199}$")


def step_condition(reached_when: str) -> str:
    """A step's ``reached_when`` as a HogQL condition: a bare event name means that event."""
    text = reached_when.strip()
    if EVENT_NAME.match(text) and not re.search(r"\s(=|AND|OR|IN)\s", text, re.IGNORECASE):
        return f"event = {hogql_string(text)}"
    return f"({text})"


def first_reached(
    client: PostHogClient, conditions: list[str], window: Window
) -> Iterator[tuple[str, list[datetime | None]]]:
    """Each customer (``distinct_id``) who met any condition in the window, with the first time
    they met each one: per-customer aggregates from HogQL, a page at a time, never raw events."""
    columns = ", ".join(
        f"minIf(timestamp, {condition}) AS s{index}" for index, condition in enumerate(conditions)
    )
    any_condition = " OR ".join(conditions)
    after = ""
    while True:
        hogql = (
            f"SELECT distinct_id, {columns} FROM events "
            f"WHERE timestamp >= {hogql_time(window.start)} AND timestamp < {hogql_time(window.end)} "
            f"AND ({any_condition}) AND distinct_id > {hogql_string(after)} "
            f"GROUP BY distinct_id ORDER BY distinct_id LIMIT {FUNNEL_PAGE}"
        )
        rows = client.query(hogql).get("results")
        if not isinstance(rows, list):
            raise RequestError("posthog", "the funnel query answer has no results")
        for row in rows:
            yield str(row[0]), [None if v is None else parse_time(v) for v in row[1:]]
        if len(rows) < FUNNEL_PAGE:
            return
        after = str(rows[-1][0])
