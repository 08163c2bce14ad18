"""Signals as pulls write them: upserts, cursors, skipped records and run records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from connectors.base import Page, SignalRecord
from model import repository, revisions
from model.base import utcnow
from model.db import dialect_insert
from model.enums import SignalState
from model.tables import PullRun, Signal, SkippedRecord, SourceCursor

# States a person decided: a changed text does not send these back to classification.
DECIDED = {SignalState.CONFIRMED, SignalState.REJECTED, SignalState.IGNORED}


@dataclass
class PageCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    ignored: int = 0


def _insert_counting(
    session: Session, statement: Any, model: Any, rows: list[dict[str, Any]]
) -> int:
    """Insert ``rows``; return how many were inserted (not skipped by ON CONFLICT).

    SQLite's executemany reports that exactly; psycopg's does not, so PostgreSQL counts the
    rows RETURNING gives back.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return len(connection.execute(statement.returning(model.__table__.c.id), rows).all())
    return int(connection.execute(statement, rows).rowcount)


def _newest(records: list[SignalRecord]) -> dict[str, SignalRecord]:
    """Keep one record per external id: the highest sequence (the last of equals)."""
    chosen: dict[str, SignalRecord] = {}
    for record in records:
        current = chosen.get(record.external_id)
        if current is None or record.sequence >= current.sequence:
            chosen[record.external_id] = record
    return chosen


def upsert_signals(
    session: Session, workspace_id: int, source: str, records: list[SignalRecord]
) -> PageCounts:
    """Insert new signals and update changed ones; a re-pulled record never duplicates."""
    counts = PageCounts()
    chosen = _newest(records)
    counts.unchanged += len(records) - len(chosen)
    existing = repository.signals_by_external_id(session, workspace_id, source, list(chosen))
    new_rows = []
    for external_id, record in chosen.items():
        row = existing.get(external_id)
        if row is None:
            new_rows.append(
                {
                    "workspace_id": workspace_id,
                    "source": source,
                    "external_id": external_id,
                    "occurred_at": record.occurred_at,
                    "text": record.text,
                    "payload": record.payload,
                    "customer_ref": record.customer_ref,
                    "state": SignalState.NEW.value,
                    "source_version": record.version,
                    "source_sequence": record.sequence,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
            )
            continue
        if record.sequence < row.source_sequence or record.version == row.source_version:
            counts.unchanged += 1
            continue
        if record.text != row.text and row.state not in DECIDED:
            # New words need placing again; a person's decision stands.
            row.state, row.step_id, row.confidence, row.classifier = (
                SignalState.NEW,
                None,
                None,
                None,
            )
        row.occurred_at = record.occurred_at
        row.text = record.text
        row.payload = record.payload
        row.customer_ref = record.customer_ref
        row.source_version = record.version
        row.source_sequence = record.sequence
        counts.updated += 1
    if new_rows:
        # Two pulls racing insert the same row once; the loser's row counts as unchanged.
        statement = dialect_insert(session, Signal).on_conflict_do_nothing(
            index_elements=["workspace_id", "source", "external_id"]
        )
        inserted = _insert_counting(session, statement, Signal, new_rows)
        revisions.touch(session, workspace_id)
        counts.created += inserted
        counts.unchanged += len(new_rows) - inserted
    session.flush()
    return counts


def record_skipped(
    session: Session, workspace_id: int, source: str, run_id: int | None, page: Page
) -> int:
    """Keep each malformed record with its reason; seeing it again refreshes the entry."""
    if not page.skipped:
        return 0
    unique = {item.external_id: item for item in page.skipped}
    rows = [
        {
            "workspace_id": workspace_id,
            "source": source,
            "external_id": item.external_id,
            "pull_run_id": run_id,
            "reason": item.reason,
            "excerpt": item.excerpt,
            "seen_at": utcnow(),
        }
        for item in unique.values()
    ]
    statement = dialect_insert(session, SkippedRecord)
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "source", "external_id"],
        set_={
            "reason": statement.excluded.reason,
            "excerpt": statement.excluded.excerpt,
            "pull_run_id": statement.excluded.pull_run_id,
            "seen_at": statement.excluded.seen_at,
        },
    )
    session.execute(statement, rows)
    return len(page.skipped)


def set_cursor(
    session: Session, workspace_id: int, source: str, stream: str, value: dict[str, Any]
) -> None:
    statement = dialect_insert(session, SourceCursor).values(
        workspace_id=workspace_id, source=source, stream=stream, value=value, updated_at=utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "source", "stream"],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )
    session.execute(statement)


def write_pages(
    session: Session, workspace_id: int, source: str, run_id: int, pages: list[Page]
) -> PageCounts:
    """Write consecutive pages with each stream's latest cursor, in the caller's transaction.

    Committing them together is as safe as one by one: the cursors stored are those of the
    last page written, so a crash resumes right after it.
    """
    records = [record for page in pages for record in page.records]
    counts = upsert_signals(session, workspace_id, source, records)
    merged = Page(stream=pages[-1].stream, cursor=pages[-1].cursor)
    for page in pages:
        counts.unchanged += page.unchanged
        counts.ignored += page.ignored
        merged.skipped.extend(page.skipped)
        merged.seen += page.seen
    counts.skipped = record_skipped(session, workspace_id, source, run_id, merged)
    latest = {page.stream: page.cursor for page in pages}
    for stream, cursor in latest.items():
        set_cursor(session, workspace_id, source, stream, cursor)
    session.execute(
        update(PullRun)
        .where(PullRun.id == run_id)
        .values(
            pages=PullRun.pages + len(pages),
            records_seen=PullRun.records_seen + merged.seen,
            created=PullRun.created + counts.created,
            updated=PullRun.updated + counts.updated,
            unchanged=PullRun.unchanged + counts.unchanged,
            skipped=PullRun.skipped + counts.skipped,
            ignored=PullRun.ignored + counts.ignored,
        )
    )
    return counts


def start_run(session: Session, workspace_id: int, source: str, flow_run_id: str | None) -> PullRun:
    run = PullRun(workspace_id=workspace_id, source=source, flow_run_id=flow_run_id)
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, *, error: str | None = None) -> PullRun:
    run = session.get_one(PullRun, run_id)
    run.finished_at = utcnow()
    run.status = "failed" if error else "completed"
    if error:
        run.errors += 1
        run.error_message = error[:2000]
    session.flush()
    return run
