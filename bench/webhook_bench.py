"""Stripe webhooks under concurrent load: every delivery stored once, none lost, and latency.

    python -m bench.webhook_bench                    # embedded SQLite in a temporary folder
    python -m bench.webhook_bench --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Starts the API in its own process (`journeyops api`) with a Stripe endpoint secret, sends 100
distinct warm-up events (not timed: a cold process opens its connections and compiles its
statements on the first burst), then 2,000 signed Stripe events from 50 concurrent clients: 1,800 distinct events and 200
redeliveries of events already sent (re-signed with a fresh timestamp, as Stripe does), mixed
in so some race their original. Checks that every request was answered 200, that the
database holds each distinct event exactly once, and that the answers say "stored" exactly
once per event; reports p50, p95, p99 and max latency as the clients see it. With --postgres a
throwaway database is created on that server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections import Counter

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.api_process import api_process, fresh_database
from connectors import webhooks as protocol
from connectors.sandbox import data as sandbox_data
from model.db import build_engine, session_scope
from model.services import workspaces
from model.tables import WebhookDelivery

SECRET = "whsec_bench_" + uuid.uuid4().hex


def deliveries(
    total: int, duplicates: int, warmup: int, seed: int = 3
) -> tuple[list[bytes], list[bytes]]:
    """``warmup`` distinct Stripe events to send first; then ``total`` bodies: distinct events,
    and redeliveries shuffled in among them."""
    rng = random.Random(seed)
    events = sandbox_data.generate(
        seed=seed, conversations=0, stripe_events=warmup + total - duplicates, posthog_events=0
    ).stripe["events"]
    bodies = [json.dumps(event).encode() for event in events]
    first, measured = bodies[:warmup], bodies[warmup:]
    order = measured + [rng.choice(measured) for _ in range(duplicates)]
    rng.shuffle(order)
    return first, order


async def send_all(
    base: str, bodies: list[bytes], clients: int
) -> tuple[list[float], Counter[str], Counter[int]]:
    """Send every body from ``clients`` concurrent connections.

    The load comes from aiohttp, whose client costs a fraction of httpx's per request: on a
    small machine the load generator shares the cores with the service it measures.
    """
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    url = base + "/webhooks/stripe/bench"

    async def client(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            headers = {
                "Stripe-Signature": protocol.sign_stripe(body, SECRET, int(time.time())),
                "Content-Type": "application/json",
            }
            started = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as response:
                answer = await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status] += 1
            if response.status == 200:
                answers[json.loads(answer)["status"]] += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, answers, statuses


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="Admin URL of a PostgreSQL server to run against.")
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--duplicates", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="API server processes.")
    parser.add_argument(
        "--warmup", type=int, default=100, help="Distinct events sent first, not timed."
    )
    args = parser.parse_args()
    with fresh_database(args.postgres) as url:
        with session_scope(url) as session:
            workspaces.ensure_workspace(session, "bench", "Bench")
        first, bodies = deliveries(args.deliveries, args.duplicates, args.warmup)
        distinct = {json.loads(body)["id"] for body in first + bodies}
        # Processing is the drain flow's job; the bench measures receiving.
        env = {
            "JOURNEYOPS_WEBHOOKS__STRIPE_SECRET": SECRET,
            "JOURNEYOPS_WEBHOOKS__PROCESS_DEPLOYMENT": "",
        }
        with api_process(url, env, args.workers) as base:
            _, warm_answers, warm_statuses = asyncio.run(send_all(base, first, args.clients))
            started = time.perf_counter()
            latencies, answers, statuses = asyncio.run(send_all(base, bodies, args.clients))
            elapsed = time.perf_counter() - started
        engine = build_engine(url)
        with engine.connect() as connection:
            rows = connection.execute(
                select(WebhookDelivery.delivery_id, func.count()).group_by(
                    WebhookDelivery.delivery_id
                )
            ).all()
        engine.dispose()
    stored = {delivery_id for delivery_id, _ in rows}
    doubled = [delivery_id for delivery_id, count in rows if count > 1]
    problems = []
    statuses += warm_statuses
    answers += warm_answers
    if statuses != Counter({200: len(first) + len(bodies)}):
        problems.append(f"answers other than 200: {dict(statuses)}")
    if stored != distinct:
        problems.append(f"lost {len(distinct - stored)}, unexpected {len(stored - distinct)}")
    if doubled:
        problems.append(f"stored more than once: {len(doubled)}")
    if answers["stored"] != len(distinct):
        problems.append(f"'stored' answered {answers['stored']} times for {len(distinct)} events")
    backend = make_url(url).get_backend_name()
    print(
        f"{backend}: {len(bodies):,} Stripe webhooks ({args.duplicates} duplicates) "
        f"from {args.clients} clients in {elapsed:.1f} s ({len(bodies) / elapsed:.0f}/s) "
        f"after {len(first)} warm-up deliveries; "
        f"stored {len(stored):,} distinct, {answers['duplicate']} answered duplicate; "
        f"latency p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    if problems:
        raise SystemExit("FAILED: " + "; ".join(problems))
    print("every delivery stored exactly once, none lost")


if __name__ == "__main__":
    main()
