"""Signals to and from CSV: labelled examples in, placements out."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import SignalRecord
from model import repository
from model.enums import SignalSource, SignalState
from model.errors import InvalidInput
from model.services import signals
from model.tables import Journey, Signal, Step, Workspace

EXPORT_COLUMNS = ["text", "step", "state", "classifier", "confidence"]
# Who placed an imported, labelled signal.
PERSON = "person"


@dataclass
class SignalImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    confirmed: int = 0


def _steps_by_name(session: Session, journey: Journey) -> dict[str, Step]:
    steps = session.scalars(select(Step).where(Step.journey_id == journey.id)).all()
    return {step.name.strip().lower(): step for step in steps}


def read_rows(handle: TextIO, text_column: str, step_column: str | None) -> list[dict[str, str]]:
    """Read the CSV's rows, checking that the named columns exist."""
    reader = csv.DictReader(handle)
    columns = reader.fieldnames or []
    for name in [text_column, *([step_column] if step_column else [])]:
        if name not in columns:
            raise InvalidInput(
                f"the CSV has no column {name!r}; its columns are {', '.join(columns) or 'none'}"
            )
    return list(reader)


def import_signals(
    session: Session,
    workspace: Workspace,
    journey: Journey,
    rows: Iterable[dict[str, str]],
    *,
    text_column: str = "text",
    step_column: str | None = None,
    origin: str = "csv",
) -> SignalImport:
    """Import signals for a journey; with a step column they are confirmed placements.

    Importing the same file again changes nothing: a row's id is the file's ``origin`` (its
    name), its text and how many times that text came before it in the file.
    """
    steps = _steps_by_name(session, journey) if step_column else {}
    seen: Counter[str] = Counter()
    records: list[tuple[SignalRecord, Step | None]] = []
    problems: list[str] = []
    now = datetime.now(UTC)
    for number, row in enumerate(rows, start=2):
        text = (row.get(text_column) or "").strip()
        if not text:
            problems.append(f"row {number}: the {text_column!r} column is empty")
            continue
        step = None
        if step_column:
            name = (row.get(step_column) or "").strip()
            step = steps.get(name.lower())
            if step is None:
                problems.append(f"row {number}: {name!r} is not a step of journey {journey.slug!r}")
                continue
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]
        seen[digest] += 1
        record = SignalRecord(
            external_id=f"{origin[:60]}:{journey.id}:{digest}:{seen[digest]}",
            occurred_at=now,
            text=text,
            payload={"row": {k: v for k, v in row.items() if k}},
            version=f"{digest}:{step.id if step else ''}",
        )
        records.append((record, step))
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise InvalidInput(f"nothing imported: {shown}")

    result = SignalImport()
    batch = 1000
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        counts = signals.upsert_signals(
            session, workspace.id, SignalSource.IMPORT.value, [r for r, _ in chunk]
        )
        result.created += counts.created
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        stored = repository.signals_by_external_id(
            session, workspace.id, SignalSource.IMPORT.value, [r.external_id for r, _ in chunk]
        )
        for record, step in chunk:
            stored_signal = stored[record.external_id]
            stored_signal.journey_id = journey.id
            placed = (stored_signal.step_id, stored_signal.state)
            if step is not None and placed != (step.id, SignalState.CONFIRMED):
                stored_signal.step_id = step.id
                stored_signal.state = SignalState.CONFIRMED.value
                stored_signal.classifier, stored_signal.confidence = PERSON, 1.0
                result.confirmed += 1
        session.flush()
    return result


def export_rows(session: Session, journey: Journey) -> list[dict[str, Any]]:
    """One row per signal of the journey: its text, step name, state, classifier, confidence."""
    names = {step.id: step.name for step in _steps_by_name(session, journey).values()}
    rows = []
    for signal in session.scalars(
        select(Signal).where(Signal.journey_id == journey.id).order_by(Signal.id)
    ):
        rows.append(
            {
                "text": signal.text,
                "step": names.get(signal.step_id, "") if signal.step_id else "",
                "state": signal.state,
                "classifier": signal.classifier or "",
                "confidence": "" if signal.confidence is None else f"{signal.confidence:.4f}",
            }
        )
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
