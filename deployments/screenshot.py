"""Screenshots of the Prefect UI as ops teams see journeyops: the deployments, and a
completed automation run with its report artifact.

    journeyops serve &            # or any Prefect server journeyops runs on
    journeyops automations run operating-loop -w acme-product-team
    python -m deployments.screenshot --out screenshots/

Needs a headless Chromium (``apt-get install chromium``). The images are written to ``--out``
(nothing is committed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--hide-scrollbars",
    "--window-size=1440,1000",
    "--virtual-time-budget=20000",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no Chromium found: apt-get install chromium")


def latest_automation_run(api: str) -> str | None:
    """The newest completed run-automation flow run."""
    runs = httpx.post(
        f"{api}/flow_runs/filter",
        json={
            "flows": {"name": {"any_": ["run-automation"]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            "sort": "START_TIME_DESC",
            "limit": 1,
        },
        timeout=10,
    )
    runs.raise_for_status()
    found = runs.json()
    return str(found[0]["id"]) if found else None


def shoot(browser: str, url: str, path: Path) -> None:
    subprocess.run([browser, *FLAGS, f"--screenshot={path}", url], check=True, timeout=120)
    sys.stdout.write(f"{path}  <- {url}\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prefect-url", default="http://127.0.0.1:4200", help="Prefect UI.")
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="Folder.")
    args = parser.parse_args()
    base = args.prefect_url.rstrip("/")
    browser = chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    shoot(browser, f"{base}/deployments", args.out / "deployments.png")
    run_id = latest_automation_run(f"{base}/api")
    if run_id is None:
        sys.exit("no completed run-automation flow run yet: run an automation first")
    shoot(browser, f"{base}/runs/flow-run/{run_id}?tab=Artifacts", args.out / "automation-run.png")


if __name__ == "__main__":
    main()
