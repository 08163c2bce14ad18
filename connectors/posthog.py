"""PostHog: the events a workspace says matter, read through the HogQL query API.

Raw events are paged on a ``(timestamp, uuid)`` cursor and counted per event and time window,
so a signal reads "42 users hit `api_key_error` 57 times on /integrations/connect", not one row
per click. The stored cursor is always a window boundary: every window before it is written
whole, and a resumed pull re-reads at most the one window it was in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base import KnownVersions, Page, SignalRecord, SkippedItem
from connectors.errors import MalformedRecord, RequestError
from connectors.http import JsonHttpClient, RetryPolicy

SOURCE = "posthog"
STREAM = "windows"
COLUMNS = "uuid, event, timestamp, distinct_id, properties.$pathname, properties.$screen_name"


def _describe(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("detail") or body.get("error") or body)[:300]
    except ValueError:
        return response.text[:300]


def hogql_string(value: str) -> str:
    """Quote ``value`` as a HogQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def hogql_time(moment: datetime) -> str:
    return f"toDateTime64({hogql_string(moment.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f'))}, 6, 'UTC')"


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise MalformedRecord("timestamp must be a string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedRecord(f"timestamp {value!r} is not ISO 8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PostHogClient:
    """PostHog's query API for one project, paced to stay within the query rate limit."""

    def __init__(
        self,
        personal_api_key: str,
        host: str,
        project_id: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        queries_per_minute: int = 60,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.project_id = project_id
        self.http = JsonHttpClient(
            SOURCE,
            host,
            {"Authorization": f"Bearer {personal_api_key}"},
            timeout=timeout,
            retry=retry or RetryPolicy(),
            describe_error=_describe,
            min_interval=60.0 / queries_per_minute,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def query(self, hogql: str) -> dict[str, Any]:
        """Run a HogQL query and return the response (``results``, ``columns``).

        Raises:
            AuthError, RequestError (a query PostHog refuses), RetryableError.
        """
        body = {"query": {"kind": "HogQLQuery", "query": hogql}, "refresh": "blocking"}
        return self.http.request("POST", f"/api/projects/{self.project_id}/query/", json=body)


@dataclass
class _Tally:
    count: int = 0
    users: set[str] = field(default_factory=set)
    paths: Counter[str] = field(default_factory=Counter)


def window_signal(
    event: str, start: datetime, end: datetime, tally: _Tally, pulled_at: int
) -> SignalRecord:
    users = len(tally.users)
    where = ""
    if tally.paths:
        top, _ = tally.paths.most_common(1)[0]
        where = f" on {top}"
    people = f"{users} user{'s' if users != 1 else ''}"
    times = f"{tally.count} time{'s' if tally.count != 1 else ''}"
    text = (
        f"{people} hit `{event}` {times}{where} between {start:%H:%M} and {end:%H:%M} UTC "
        f"on {start:%Y-%m-%d}"
    )
    return SignalRecord(
        external_id=f"{start:%Y%m%dT%H%M}:{event}"[:200],
        occurred_at=start,
        text=text,
        version=f"{tally.count}:{users}",
        # A later pull has seen at least as many late-arriving events: it wins.
        sequence=pulled_at,
        payload={
            "event": event,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "count": tally.count,
            "users": users,
            "top_paths": tally.paths.most_common(3),
            "sample_users": sorted(tally.users)[:5],
        },
    )


class PostHogSource:
    """Counts of the chosen events per window, one signal per event and window."""

    name = SOURCE

    def __init__(
        self,
        client: PostHogClient,
        *,
        events: list[str],
        hogql_filter: str | None = None,
        window: timedelta = timedelta(hours=1),
        lag: timedelta = timedelta(minutes=10),
        page_size: int = 5000,
        first_pull: timedelta = timedelta(days=7),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not events and not hogql_filter:
            raise RequestError(
                SOURCE,
                "no events chosen: set the workspace's PostHog event names or a HogQL filter "
                "(journeyops source set posthog --option events=name1,name2)",
            )
        self.client = client
        self.events = events
        self.hogql_filter = hogql_filter
        self.window = window
        self.lag = lag
        self.page_size = page_size
        self.first_pull = first_pull
        self.now = now

    def close(self) -> None:
        self.client.close()

    def _floor(self, moment: datetime) -> datetime:
        seconds = int(self.window.total_seconds())
        return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)

    def _condition(self) -> str:
        if self.hogql_filter:
            return f"({self.hogql_filter})"
        return f"event IN ({', '.join(hogql_string(e) for e in self.events)})"

    def _query(self, start: datetime, end: datetime, after: tuple[datetime, str] | None) -> str:
        where = [
            f"timestamp >= {hogql_time(start)}",
            f"timestamp < {hogql_time(end)}",
            self._condition(),
        ]
        if after is not None:
            ts, uuid = after
            where.append(
                f"(timestamp > {hogql_time(ts)} OR (timestamp = {hogql_time(ts)} AND toString(uuid) > {hogql_string(uuid)}))"
            )
        return (
            f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} "
            f"ORDER BY timestamp, uuid LIMIT {self.page_size}"
        )

    def pages(self, cursors: dict[str, dict[str, Any]], known: KnownVersions) -> Iterator[Page]:
        cursor = cursors.get(STREAM, {})
        start = (
            datetime.fromisoformat(cursor["next_start"])
            if cursor.get("next_start")
            else self._floor(self.now() - self.first_pull)
        )
        horizon = self._floor(self.now() - self.lag)
        if horizon <= start:
            return
        pulled_at = int(self.now().timestamp())
        open_windows: dict[datetime, dict[str, _Tally]] = {}
        after: tuple[datetime, str] | None = None
        while True:
            response = self.client.query(self._query(start, horizon, after))
            rows = response.get("results") or []
            page = Page(stream=STREAM, cursor={}, seen=len(rows))
            previous = after
            for row in rows:
                try:
                    uuid, event, moment = self._row(row)
                except MalformedRecord as error:
                    raw_id = (
                        row[0]
                        if isinstance(row, list) and row and isinstance(row[0], str)
                        else None
                    )
                    page.skipped.append(SkippedItem.of(raw_id, error.reason, row))
                    after = self._position(row) or after
                    continue
                after = (moment, uuid)
                tally = open_windows.setdefault(self._floor(moment), {}).setdefault(event, _Tally())
                tally.count += 1
                if isinstance(row[3], str):
                    tally.users.add(row[3])
                path = row[4] if isinstance(row[4], str) and row[4] else row[5]
                if isinstance(path, str) and path:
                    tally.paths[path] += 1
            done = len(rows) < self.page_size
            if not done and after == previous:
                raise RequestError(
                    SOURCE,
                    f"a whole page of {len(rows)} rows had no readable (timestamp, uuid) to page "
                    "past; lower posthog.page_size or check the events' timestamps",
                )
            # Windows before the last row's window are complete; all are at the end.
            boundary = horizon if done or after is None else self._floor(after[0])
            for window_start in sorted(w for w in open_windows if w < boundary):
                window_end = window_start + self.window
                for event, tally in sorted(open_windows.pop(window_start).items()):
                    page.records.append(
                        window_signal(event, window_start, window_end, tally, pulled_at)
                    )
            page.cursor = {"next_start": boundary.isoformat()}
            yield page
            if done:
                return

    @staticmethod
    def _position(row: Any) -> tuple[datetime, str] | None:
        """Where a malformed row sits in the sort order, if that much can be read."""
        try:
            if isinstance(row, list) and len(row) >= 3 and isinstance(row[0], str):
                return parse_time(row[2]), row[0]
        except MalformedRecord:
            pass
        return None

    @staticmethod
    def _row(row: Any) -> tuple[str, str, datetime]:
        if not isinstance(row, list) or len(row) < 6:
            raise MalformedRecord("row does not have the six selected columns")
        uuid, event, timestamp = row[0], row[1], row[2]
        if not isinstance(uuid, str) or not uuid:
            raise MalformedRecord("uuid must be a non-empty string")
        if not isinstance(event, str) or not event:
            raise MalformedRecord("event must be a non-empty string")
        return uuid, event, parse_time(timestamp)
