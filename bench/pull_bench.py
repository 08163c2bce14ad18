"""Pull throughput and memory against the sandbox, end to end and bare HTTP.

    python -m bench.pull_bench --records 20000

Starts the stand-ins in a separate process with N Intercom conversations and N Stripe events,
then, in this process: fetches every page bare (HTTP only), and pulls the same pages end to
end into a fresh SQLite database (or --database-url). Reports signals per second, the
end-to-end/bare time ratio, and peak traced memory of the pull for a small and a full run, so
a pull that accumulates records instead of streaming them shows up as growth.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from connectors.sandbox import data as sandbox_data
from connectors.sandbox.server import free_port


def start_sandbox(records: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "sandbox",
            "--port",
            str(port),
            "--conversations",
            str(records),
            "--stripe-events",
            str(records),
            "--posthog-events",
            "0",
            "--malformed",
            "0",
            "--funnel-customers",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/_sandbox/stats", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("sandbox did not start")


def bare_intercom(url: str) -> int:
    """Fetch every search page and every conversation, parse JSON, do nothing else."""
    headers = {"Authorization": f"Bearer {sandbox_data.INTERCOM_TOKEN}", "Intercom-Version": "2.14"}
    fetched = 0
    with httpx.Client(base_url=url + "/intercom", headers=headers, timeout=30) as client:
        cursor = None
        while True:
            pagination: dict[str, Any] = {"per_page": 150}
            if cursor:
                pagination["starting_after"] = cursor
            page = client.post(
                "/conversations/search",
                json={
                    "query": {"field": "updated_at", "operator": ">", "value": "0"},
                    "pagination": pagination,
                },
            ).json()
            for conversation in page["conversations"]:
                client.get(
                    f"/conversations/{conversation['id']}", params={"display_as": "plaintext"}
                ).json()
                fetched += 1
            cursor = (page.get("pages") or {}).get("next", {}).get("starting_after")
            if not cursor:
                return fetched


def bare_stripe(url: str) -> int:
    """Fetch every events page (the first pull's backfill lists included), parse JSON only."""
    headers = {"Authorization": f"Bearer {sandbox_data.STRIPE_KEY}"}
    fetched = 0
    since = int(time.time()) - 90 * 86400
    with httpx.Client(base_url=url + "/stripe", headers=headers, timeout=30) as client:
        for resource, params in (
            ("subscriptions", {"status": "canceled"}),
            ("invoices", {"status": "open"}),
            ("refunds", {}),
            ("events", {}),
        ):
            after = None
            while True:
                query: dict[str, Any] = {"created[gte]": since, "limit": 100, **params}
                if after:
                    query["starting_after"] = after
                page = client.get(f"/v1/{resource}", params=query).json()
                fetched += len(page["data"]) if resource == "events" else 0
                if not page["has_more"]:
                    break
                after = page["data"][-1]["id"]
    return fetched


def pull_child(url: str, database_url: str, source: str) -> tuple[int, float, int]:
    """In a fresh process: pull ``source`` into a new workspace.

    Returns signals written, seconds, and the process's peak resident memory in KiB.
    """
    os.environ["JOURNEYOPS_DATABASE_URL"] = database_url
    os.environ["JOURNEYOPS_STRIPE__API_KEY"] = sandbox_data.STRIPE_KEY
    os.environ["JOURNEYOPS_INTERCOM__ACCESS_TOKEN"] = sandbox_data.INTERCOM_TOKEN
    from model import migrate
    from model.db import session_scope
    from model.schemas import WorkspaceSpec
    from model.services import signals, sources, workspaces
    from tasks.pull import pull_source

    migrate.upgrade(database_url)
    with session_scope() as session:
        slug = f"bench-{source}-{time.time_ns()}"
        ws = workspaces.create_workspace(session, WorkspaceSpec(name=slug, slug=slug))
        sources.configure_source(session, ws, source, base_url=f"{url}/{source}")
        run = signals.start_run(session, ws.id, source, None)
        workspace_id, run_id = ws.id, run.id
    started = time.perf_counter()
    counts = pull_source(workspace_id, source, run_id)
    elapsed = time.perf_counter() - started
    return (
        counts.created + counts.updated,
        elapsed,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


def pull_once(url: str, database_url: str, source: str) -> tuple[int, float, int]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(pull_child, (url, database_url, source))


def timed(call: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = call()
    return count, time.perf_counter() - started


def measure(records: int, database_url: str | None) -> dict[str, Any]:
    process, url = start_sandbox(records)
    results: dict[str, Any] = {"records": records}
    try:
        for source, bare in (("intercom", bare_intercom), ("stripe", bare_stripe)):
            db = database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
            fetched, bare_seconds = timed(functools.partial(bare, url))
            written, seconds, peak_kib = pull_once(url, db, source)
            results[source] = {
                "bare_records": fetched,
                "bare_seconds": round(bare_seconds, 2),
                "signals": written,
                "seconds": round(seconds, 2),
                "signals_per_second": round(written / seconds),
                "overhead_ratio": round(seconds / bare_seconds, 2),
                "peak_rss_mib": round(peak_kib / 1024, 1),
            }
    finally:
        process.terminate()
        process.wait(timeout=30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000, help="conversations and events each")
    parser.add_argument(
        "--small", type=int, default=2_000, help="the smaller run memory is compared to"
    )
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh SQLite file per source"
    )
    args = parser.parse_args()
    report = {
        "small": measure(args.small, args.database_url),
        "full": measure(args.records, args.database_url),
    }
    for source in ("intercom", "stripe"):
        report[f"{source}_memory_growth_mib"] = round(
            report["full"][source]["peak_rss_mib"] - report["small"][source]["peak_rss_mib"], 1
        )
    full = report["full"]
    bare = sum(full[source]["bare_seconds"] for source in ("intercom", "stripe"))
    pulled = sum(full[source]["seconds"] for source in ("intercom", "stripe"))
    written = sum(full[source]["signals"] for source in ("intercom", "stripe"))
    report["combined"] = {
        "signals": written,
        "signals_per_second": round(written / pulled),
        "overhead_ratio": round(pulled / bare, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
