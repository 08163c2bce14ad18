"""Latency of the map view on a large journey, over HTTP, on SQLite and PostgreSQL.

    python -m bench.map_bench                       # embedded SQLite in a temporary folder
    python -m bench.map_bench --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Builds a workspace with one journey of 5 stages x 10 steps and 10,000 items of the five types
(every item on one step, 500 of them building blocks on a second step too), 20,000 placed
signals of which 10,000 are evidence on insights, and links between opportunities and
solutions. Then starts the API in its own process (`journeyops api`) and asks for
`GET /journeys/{slug}/map` with a viewer's token, one request at a time, after warm-up
requests: while nothing changes (the API keeps the rendered map), with If-None-Match (304), and
each right after a card on the map was renamed from this process, as a flow would (the map is
built anew). Reports the median, p95 and max wall time of a request as the client sees it,
and the size of the answer; exits non-zero if a change does not show. With --postgres a throwaway database is created on that server
and dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from bench.api_process import api_process, fresh_database
from model.db import build_engine, session_scope
from model.enums import DEFAULT_STATUS, ItemType
from model.schemas import MemberSpec
from model.services import workspaces
from model.tables import (
    Item,
    ItemLink,
    Journey,
    Placement,
    Signal,
    SignalEvidence,
    Stage,
    Step,
    Workspace,
    render_card,
)

STAGES = 5
STEPS_PER_STAGE = 10
ITEMS = 10_000
BUILDING_BLOCKS = 500
SIGNALS = 20_000
EVIDENCE = 10_000


def seed(url: str, seed_value: int = 7) -> tuple[str, str]:
    """Fill the database; return the journey's slug and a viewer's token."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    engine = build_engine(url)
    with engine.begin() as connection:
        workspace_id = connection.execute(
            insert(Workspace).values(slug="bench", name="Bench").returning(Workspace.id)
        ).scalar_one()
        journey_id = connection.execute(
            insert(Journey)
            .values(workspace_id=workspace_id, slug="big", name="Big journey")
            .returning(Journey.id)
        ).scalar_one()
        step_ids: list[int] = []
        for stage_index in range(STAGES):
            stage_id = connection.execute(
                insert(Stage)
                .values(journey_id=journey_id, name=f"Stage {stage_index}", position=stage_index)
                .returning(Stage.id)
            ).scalar_one()
            for step_index in range(STEPS_PER_STAGE):
                step_ids.append(
                    connection.execute(
                        insert(Step)
                        .values(
                            journey_id=journey_id,
                            stage_id=stage_id,
                            name=f"Step {stage_index}.{step_index}",
                            description="A customer moment on the big journey.",
                            position=step_index,
                        )
                        .returning(Step.id)
                    ).scalar_one()
                )
        types = list(ItemType)
        item_rows: list[dict[str, Any]] = []
        for index in range(ITEMS):
            item_type = types[index % len(types)]
            row: dict[str, Any] = {
                "workspace_id": workspace_id,
                "type": item_type.value,
                "key": f"{item_type.value}-{index}",
                "title": f"{item_type.value.title()} number {index} on the big journey",
                "description": "Some words about it. " * 3,
                "status": DEFAULT_STATUS[item_type],
                "external_links": [],
                "machine_made": index % 7 == 0,
                "created_at": now,
                "updated_at": now,
            }
            if item_type in (ItemType.OPPORTUNITY, ItemType.SOLUTION):
                row |= {"impact": rng.randint(1, 5), "effort": rng.randint(1, 5), "owner": "pm"}
            if item_type is ItemType.INSIGHT:
                row |= {"severity": rng.randint(1, 5), "kind": "pain", "confidence": "medium"}
            if item_type is ItemType.METRIC:
                row |= {"unit": "percent", "baseline": 10.0, "current": 12.5, "target": 20.0}
            # Bulk rows skip the ORM's write events, so each card is rendered here.
            row["card"] = render_card(Item(**row))
            item_rows.append(row)
        connection.execute(insert(Item), item_rows)
        items = connection.execute(
            select(Item.id, Item.type).where(Item.workspace_id == workspace_id).order_by(Item.id)
        ).all()
        placements = []
        for index, (item_id, _) in enumerate(items):
            placements.append(
                {
                    "workspace_id": workspace_id,
                    "item_id": item_id,
                    "step_id": step_ids[index % len(step_ids)],
                    "journey_id": journey_id,
                }
            )
            if index < BUILDING_BLOCKS:
                placements.append(
                    {
                        "workspace_id": workspace_id,
                        "item_id": item_id,
                        "step_id": step_ids[(index + 1) % len(step_ids)],
                        "journey_id": journey_id,
                    }
                )
        connection.execute(insert(Placement), placements)
        by_type: dict[str, list[int]] = {}
        for item_id, type_name in items:
            by_type.setdefault(type_name, []).append(item_id)
        connection.execute(
            insert(ItemLink),
            [
                {"workspace_id": workspace_id, "source_id": opportunity, "target_id": solution}
                for opportunity, solution in zip(
                    by_type["opportunity"], by_type["solution"], strict=False
                )
            ],
        )
        signal_rows = [
            {
                "workspace_id": workspace_id,
                "journey_id": journey_id,
                "source": "intercom",
                "external_id": f"conv-{index}",
                "occurred_at": now - timedelta(minutes=index),
                "text": f"Customer message {index}",
                "payload": {},
                "state": "classified",
                "step_id": step_ids[index % len(step_ids)],
                "confidence": 0.9,
                "classifier": "offline",
                "created_at": now,
                "updated_at": now,
            }
            for index in range(SIGNALS)
        ]
        connection.execute(insert(Signal), signal_rows)
        signal_ids = connection.execute(select(Signal.id).order_by(Signal.id)).scalars().all()
        insights = by_type["insight"]
        connection.execute(
            insert(SignalEvidence),
            [
                {"signal_id": signal_id, "item_id": insights[index % len(insights)]}
                for index, signal_id in enumerate(signal_ids[:EVIDENCE])
            ],
        )
        if connection.dialect.name == "postgresql":
            # What autovacuum does shortly after a bulk load; without statistics the planner
            # takes the fresh tables for empty ones.
            connection.execute(text("ANALYZE"))
    engine.dispose()
    with session_scope(url) as session:
        ws = workspaces.get_workspace(session, "bench")
        member = workspaces.ensure_member(
            session, ws, MemberSpec(email="viewer@bench.example", name="Viewer", role="viewer")
        )
        token = workspaces.create_token(session, member, "bench").secret
    return "big", token


def _summary(timings: list[float]) -> dict[str, float]:
    timings = sorted(timings)
    return {
        "median_ms": statistics.median(timings),
        "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)],
        "max_ms": timings[-1],
    }


def _rename(url: str, item_id: int, index: int) -> None:
    """Change one card the way a flow or another process would: through the model."""
    with session_scope(url) as session:
        session.get_one(Item, item_id).title = f"Renamed {index}"


def measure(
    base: str, url: str, slug: str, token: str, warmup: int, requests: int
) -> dict[str, Any]:
    """Time the map three ways: unchanged since the last request (kept rendered), right after
    a change (built anew), and revalidated with If-None-Match (304)."""
    path = f"/journeys/{slug}/map"
    kept: list[float] = []
    fresh: list[float] = []
    revalidated: list[float] = []

    def timed(client: httpx.Client, into: list[float], **headers: str) -> httpx.Response:
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        into.append((time.perf_counter() - started) * 1000)
        if response.status_code not in (200, 304):
            response.raise_for_status()
        return response

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        client.timeout = 60
        for _ in range(warmup):
            client.get(path).raise_for_status()
        for _ in range(requests):
            response = timed(client, kept)
        body, etag = response.json(), response.headers["ETag"]
        for _ in range(requests):
            if timed(client, revalidated, **{"If-None-Match": etag}).status_code != 304:
                raise SystemExit("an unchanged map was not revalidated with 304")
        first_step = body["stages"][0]["steps"][0]["items"]
        item_id = next(iter(first_step.values()))[0]["item"]["id"]
        for index in range(requests):
            _rename(url, item_id, index)
            response = timed(client, fresh)
            if f"Renamed {index}".encode() not in response.content:
                raise SystemExit("the map did not show a change made before the request")
    return {
        "kept": _summary(kept),
        "fresh": _summary(fresh),
        "revalidated": _summary(revalidated),
        "bytes": len(response.content),
        "placements": sum(
            len(entries)
            for stage in body["stages"]
            for step in stage["steps"]
            for entries in step["items"].values()
        ),
        "steps": sum(len(stage["steps"]) for stage in body["stages"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="Admin URL of a PostgreSQL server to run against.")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with fresh_database(args.postgres) as url:
        started = time.perf_counter()
        slug, token = seed(url)
        print(
            f"seeded in {time.perf_counter() - started:.1f} s on {make_url(url).get_backend_name()}"
        )
        with api_process(url) as base:
            result = measure(base, url, slug, token, args.warmup, args.requests)
    print(
        f"map view, {result['steps']} steps, {result['placements']:,} placements "
        f"({ITEMS:,} items), {result['bytes'] / 1e6:.1f} MB, {args.requests} requests each:"
    )
    for key, label in (
        ("kept", "unchanged since the last request"),
        ("fresh", "right after a change"),
        ("revalidated", "If-None-Match, 304"),
    ):
        figures = result[key]
        print(
            f"  {label:34} median {figures['median_ms']:6.1f} ms, "
            f"p95 {figures['p95_ms']:6.1f} ms, max {figures['max_ms']:6.1f} ms"
        )


if __name__ == "__main__":
    main()
