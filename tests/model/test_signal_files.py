"""Signals from and to CSV: labelled imports are confirmed placements, re-imports change nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model.errors import InvalidInput
from model.services import signal_files
from model.tables import Signal


def rows(
    data_dir: Path, text_column: str = "text", step_column: str | None = "step"
) -> list[dict[str, str]]:
    with (data_dir / "labelled-signals.csv").open(newline="") as handle:
        return signal_files.read_rows(handle, text_column, step_column)


class TestImport:
    def test_labelled_rows_become_confirmed_placements(
        self, session: Session, fintech: tuple, data_dir: Path
    ) -> None:
        ws, journey = fintech
        result = signal_files.import_signals(
            session, ws, journey, rows(data_dir), step_column="step"
        )
        assert (result.created, result.confirmed) == (11, 11)
        exported = signal_files.export_rows(session, journey)
        assert {r["state"] for r in exported} == {"confirmed"}
        assert exported[0] == {
            "text": "I am still waiting on my card?",
            "step": "Customer orders a physical card",
            "state": "confirmed",
            "classifier": "person",
            "confidence": "1.0000",
        }

    def test_importing_twice_changes_nothing_and_keeps_repeated_texts(
        self, session: Session, fintech: tuple, data_dir: Path
    ) -> None:
        ws, journey = fintech
        signal_files.import_signals(session, ws, journey, rows(data_dir), step_column="step")
        again = signal_files.import_signals(
            session, ws, journey, rows(data_dir), step_column="step"
        )
        assert (again.created, again.updated, again.confirmed) == (0, 0, 0)
        assert session.scalar(select(func.count()).select_from(Signal)) == 11

    def test_without_a_step_column_signals_wait_to_be_placed(
        self, session: Session, fintech: tuple, data_dir: Path
    ) -> None:
        ws, journey = fintech
        signal_files.import_signals(session, ws, journey, rows(data_dir, step_column=None))
        assert {r["state"] for r in signal_files.export_rows(session, journey)} == {"new"}

    def test_an_unknown_step_names_the_row_and_imports_nothing(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        bad = [
            {"text": "hello", "step": "Customer orders a physical card"},
            {"text": "x", "step": "Customer flies"},
        ]
        with pytest.raises(InvalidInput, match="row 3: 'Customer flies' is not a step"):
            signal_files.import_signals(session, ws, journey, bad, step_column="step")
        assert session.scalar(select(func.count()).select_from(Signal)) == 0

    def test_a_missing_column_lists_the_columns(self) -> None:
        with pytest.raises(InvalidInput, match="no column 'message'; its columns are text, step"):
            signal_files.read_rows(io.StringIO("text,step\nhi,there\n"), "message", None)

    def test_export_is_csv_with_the_documented_columns(
        self, session: Session, fintech: tuple, data_dir: Path
    ) -> None:
        ws, journey = fintech
        signal_files.import_signals(session, ws, journey, rows(data_dir), step_column="step")
        parsed = list(
            csv.DictReader(
                io.StringIO(signal_files.to_csv(signal_files.export_rows(session, journey)))
            )
        )
        assert list(parsed[0]) == ["text", "step", "state", "classifier", "confidence"]
        assert len(parsed) == 11
