"""Pull tasks: each page is written with its cursor in one transaction."""

from __future__ import annotations

from contextlib import closing
from typing import Any

from prefect import Task, task
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import TaskRun
from prefect.states import State
from pydantic import BaseModel

from connectors.errors import AuthError, RequestError
from model import repository
from model.db import session_scope
from model.services import signals, workspaces
from tasks.logging import run_logger
from tasks.prefetch import prefetched_batches
from tasks.sources import open_source


class PullSummary(BaseModel):
    """What one pull did, as shown in its artifact and returned by its flow."""

    workspace: str
    source: str
    run_id: int
    status: str
    pages: int
    records_seen: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    ignored: int
    error: str | None = None


def _retry_unless_permanent(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry faults that may pass; refused credentials and refused requests fail at once."""
    try:
        state.result()
    except (AuthError, RequestError):
        return False
    except Exception:
        return True
    return False


@task(name="start-pull-run")
def start_pull_run(workspace: str, source: str, flow_run_id: str | None) -> tuple[int, int]:
    """Record that a pull started; returns the workspace id and the run id."""
    with session_scope() as session:
        ws = workspaces.get_workspace(session, workspace)
        run = signals.start_run(session, ws.id, source, flow_run_id)
        return ws.id, run.id


def pull_source(workspace_id: int, source: str, run_id: int) -> signals.PageCounts:
    """Pull every page since the stored cursors, committing each page with its cursor."""
    log = run_logger(__name__)
    with session_scope() as session:
        cursors = repository.source_cursors(session, workspace_id, source)

    def known(external_ids: list[str]) -> dict[str, str]:
        with session_scope() as session:
            return repository.signal_versions(session, workspace_id, source, external_ids)

    totals = signals.PageCounts()
    connection = open_source(workspace_id, source)
    try:
        batches = prefetched_batches(connection.pages(cursors, known))
        with closing(batches):
            for batch in batches:
                with session_scope() as session:
                    counts = signals.write_pages(session, workspace_id, source, run_id, batch)
                for name in ("created", "updated", "unchanged", "skipped", "ignored"):
                    setattr(totals, name, getattr(totals, name) + getattr(counts, name))
                log.info(
                    "%s.pull.pages_written pages=%d streams=%s seen=%d created=%d updated=%d skipped=%d",
                    source,
                    len(batch),
                    ",".join(sorted({page.stream for page in batch})),
                    sum(page.seen for page in batch),
                    counts.created,
                    counts.updated,
                    counts.skipped,
                )
    finally:
        connection.close()
    return totals


@task(
    name="pull-source-pages",
    retries=3,
    retry_delay_seconds=[10, 60, 300],
    retry_condition_fn=_retry_unless_permanent,
)
def pull_pages(workspace_id: int, source: str, run_id: int) -> dict[str, int]:
    """Pull a source from its cursors; a retry resumes after the last committed page."""
    totals = pull_source(workspace_id, source, run_id)
    return dict(totals.__dict__)


@task(name="finish-pull-run")
def finish_pull_run(workspace: str, run_id: int, error: str | None = None) -> PullSummary:
    """Close the run record and return what it did."""
    with session_scope() as session:
        run = signals.finish_run(session, run_id, error=error)
        return PullSummary(
            workspace=workspace,
            source=run.source,
            run_id=run.id,
            status=run.status,
            pages=run.pages,
            records_seen=run.records_seen,
            created=run.created,
            updated=run.updated,
            unchanged=run.unchanged,
            skipped=run.skipped,
            ignored=run.ignored,
            error=run.error_message,
        )


@task(name="publish-pull-report")
def publish_pull_report(summaries: list[PullSummary]) -> None:
    """Show what the pull did as a table in the Prefect UI."""
    if not summaries:
        return
    first = summaries[0]
    key = (
        f"pull-{first.workspace}"
        if len(summaries) > 1
        else f"pull-{first.source}-{first.workspace}"
    )
    create_table_artifact(
        key=key.lower()[:100],
        table=[summary.model_dump() for summary in summaries],
        description=f"Signals pulled for workspace {first.workspace}",
    )
