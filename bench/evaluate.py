"""Evaluate signal classification on a labelled journey.

    python -m bench.evaluate JOURNEY.json TRAIN.csv TEST.csv [--zero-shot] [--llm-stub]
        [--pad-steps 100] [--accept 0.85]

Builds a fresh SQLite database, imports the journey, imports TRAIN's rows as confirmed
placements (unless --zero-shot), imports TEST's texts as new signals, classifies them the way
`journeyops classify` does, and compares the placements with TEST's labels: accuracy, per-step
precision and recall, the share placed without an LLM call and its precision, and, with
--llm-stub, LLM calls and prompt tokens per 1,000 signals counted by a local OpenAI-compatible
stub. --pad-steps adds steps until the journey has that many, to measure prompts on large
journeys. CSV files need `text` and `step` columns.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

PADDING_ACTIONS = [
    "changes notification settings",
    "downloads a statement",
    "sets a savings goal",
    "invites a friend",
    "updates the app",
    "reads the help centre",
    "contacts support by phone",
    "rates the app",
    "enables two-factor login",
    "changes the app language",
    "exports transactions",
    "sets a budget",
    "links a partner account",
    "opens a savings pot",
    "chooses a card design",
    "books a callback",
    "reads the terms",
    "changes marketing consent",
    "joins the beta",
    "uses the web app",
]


def read_labelled(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def padded(journey: dict[str, Any], total: int) -> dict[str, Any]:
    """Add a stage of filler steps until the journey has ``total`` steps."""
    have = sum(len(stage["steps"]) for stage in journey["stages"])
    extra = []
    for number in range(max(0, total - have)):
        action = PADDING_ACTIONS[number % len(PADDING_ACTIONS)]
        extra.append(
            {
                "name": f"Customer {action} ({number // len(PADDING_ACTIONS) + 1})",
                "description": f"The customer {action}.",
            }
        )
    if extra:
        journey = {
            **journey,
            "stages": [*journey["stages"], {"name": "Everything else", "steps": extra}],
        }
    return journey


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="journeyops-eval-"))
    os.environ["JOURNEYOPS_DATABASE_URL"] = f"sqlite:///{home / 'eval.db'}"
    os.environ["JOURNEYOPS_CLASSIFY__ACCEPT_THRESHOLD"] = str(args.accept)
    stub = None
    if args.llm_stub:
        from connectors.sandbox.llm_stub import create_stub_app
        from connectors.sandbox.server import LoopbackServer

        stub = LoopbackServer(create_stub_app()).start()
        os.environ["JOURNEYOPS_CLASSIFY__LLM_MODEL"] = "openai/gpt-4o-mini"
        os.environ["JOURNEYOPS_CLASSIFY__LLM_API_BASE"] = stub.url + "/v1"
        os.environ["JOURNEYOPS_CLASSIFY__LLM_API_KEY"] = "stub-key"
        os.environ["JOURNEYOPS_CLASSIFY__LLM_MAX_CALLS"] = "100000"
    from model import migrate
    from model.db import session_scope
    from model.schemas import WorkspaceSpec
    from model.services import classification, journey_files, journeys, signal_files, workspaces
    from model.settings import get_settings

    migrate.upgrade(os.environ["JOURNEYOPS_DATABASE_URL"])
    test_rows = read_labelled(args.test)
    document = padded(json.loads(args.journey.read_text(encoding="utf-8")), args.pad_steps)
    with session_scope() as session:
        ws = workspaces.create_workspace(
            session, WorkspaceSpec(name="Evaluation", slug="evaluation")
        )
        slug = journey_files.import_journey(session, ws, document, "bench").journey_slug
        journey = journeys.get_journey(session, ws.id, slug)
        if not args.zero_shot:
            signal_files.import_signals(
                session, ws, journey, read_labelled(args.train), step_column="step", origin="train"
            )
        signal_files.import_signals(
            session, ws, journey, [{"text": r["text"]} for r in test_rows], origin="test"
        )
        steps = len(classification.step_profiles(session, journey))
    started = time.perf_counter()
    with session_scope() as session:
        ws = workspaces.get_workspace(session, "evaluation")
        journey = journeys.get_journey(session, ws.id, slug)
        report = classification.classify_journey(session, ws, journey, get_settings().classify)
        exported = [
            r for r in signal_files.export_rows(session, journey) if r["state"] != "confirmed"
        ]
    seconds = time.perf_counter() - started
    if stub is not None:
        stub.stop()

    truth: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    labels: dict[str, list[str]] = {}
    for row in test_rows:
        labels.setdefault(row["text"].strip(), []).append(row["step"])
    right = 0
    without_llm = without_llm_right = 0
    for row in exported:
        label = labels[row["text"]].pop(0)
        truth[label] += 1
        predicted[row["step"]] += 1
        hit = row["step"] == label
        right += hit
        correct[label] += hit
        if row["state"] == "classified" and row["classifier"].startswith("offline"):
            without_llm += 1
            without_llm_right += hit
    total = len(exported)
    per_step = {
        step: {
            "precision": round(correct[step] / predicted[step], 3) if predicted[step] else None,
            "recall": round(correct[step] / truth[step], 3),
            "signals": truth[step],
        }
        for step in sorted(truth)
    }
    result: dict[str, Any] = {
        "mode": "zero-shot" if args.zero_shot else "supervised",
        "classifier": report.classifier,
        "steps": steps,
        "signals": total,
        "accuracy": round(right / total, 4),
        "placed_without_llm_share": round(without_llm / total, 4),
        "placed_without_llm_precision": round(without_llm_right / without_llm, 4)
        if without_llm
        else None,
        "to_review_share": round(report.to_review / total, 4),
        "seconds": round(seconds, 1),
        "per_step": per_step,
    }
    if args.llm_stub:
        per_thousand = 1000 / total
        asked = report.placed - (report.accepted - report.accepted_by_llm)
        result["llm"] = {
            "calls_per_1000_signals": round(report.llm.calls * per_thousand, 1),
            "prompt_tokens_per_1000_signals": round(report.llm.prompt_tokens * per_thousand),
            "prompt_tokens_per_signal_asked": round(report.llm.prompt_tokens / max(asked, 1)),
            "cost_usd": round(report.llm.cost_usd, 4),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("journey", type=Path, help="journey file (JSON)")
    parser.add_argument("train", type=Path, help="labelled CSV the classifier learns from")
    parser.add_argument("test", type=Path, help="labelled CSV it is scored on")
    parser.add_argument(
        "--zero-shot",
        action="store_true",
        help="learn from nothing but step names and descriptions",
    )
    parser.add_argument(
        "--llm-stub",
        action="store_true",
        help="send unsure signals to a local OpenAI-compatible stub",
    )
    parser.add_argument(
        "--pad-steps", type=int, default=0, help="grow the journey to this many steps"
    )
    parser.add_argument("--accept", type=float, default=0.85, help="offline acceptance threshold")
    parser.add_argument(
        "--per-step", action="store_true", help="print per-step precision and recall"
    )
    args = parser.parse_args()
    result = evaluate(args)
    if not args.per_step:
        result.pop("per_step")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
