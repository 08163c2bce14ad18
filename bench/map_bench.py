"""Latency of the map view on a large journey, over HTTP, on SQLite and PostgreSQL.

    python -m bench.map_bench                       # embedded SQLite in a temporary folder
    python -m bench.map_bench --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Builds a workspace with one journey of 5 stages x 10 steps and 10,000 items of the five types
(every item on one step, 500 of them building blocks on a second step too), 20,000 placed
signals of which 10,000 are evidence on insights, and links between opportunities and
solutions. Then starts the API in its own process (`journeyops api`) and asks for
`GET /journeys/{slug}/map` with a viewer's token: warm-up requests first, then the measured
ones, one at a time. Reports the median, p95 and max wall time of a request as the client sees
it, and the size of the answer. With --postgres a throwaway database is created on that server
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


def measure(base: str, slug: str, token: str, warmup: int, requests: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    size = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for index in range(warmup + requests):
            started = time.perf_counter()
            response = client.get(f"/journeys/{slug}/map")
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            size = len(response.content)
            if index >= warmup:
                timings.append(elapsed * 1000)
        body = client.get(f"/journeys/{slug}/map").json()
    placed = sum(
        len(entries)
        for stage in body["stages"]
        for step in stage["steps"]
        for entries in step["items"].values()
    )
    timings.sort()
    return {
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "max_ms": timings[-1],
        "bytes": size,
        "placements": placed,
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
            result = measure(base, slug, token, args.warmup, args.requests)
    print(
        f"map view, {result['steps']} steps, {result['placements']:,} placements "
        f"({ITEMS:,} items), {result['bytes'] / 1e6:.1f} MB: "
        f"median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
        f"max {result['max_ms']:.1f} ms over {args.requests} requests"
    )


if __name__ == "__main__":
    main()
