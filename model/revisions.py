"""A revision per workspace, bumped by every transaction that changes its journey views.

The map of a large journey is expensive to build and is read far more often than it changes,
so the API keeps it rendered per process, tagged with the workspace's revision. The revision
lives in the database: every writer (the API, flows, the CLI, another process) bumps it in the
transaction that makes the change, so a view built at a revision is current exactly while the
revision holds, in every process.

Sessions of ``model.db`` note what they flush: any journey, stage, step, item, placement,
signal, evidence link or funnel run added, changed or deleted. Just before commit one
``UPDATE`` bumps the workspaces concerned; ``repository.workspace_revision`` reads it. Bulk statements that skip the unit of work call
``touch``; one that does not is caught on its way through the session and bumps every
workspace, which costs a re-render and never a stale view.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.orm.base import NO_VALUE

from model import repository
from model.tables import (
    FunnelRun,
    FunnelStep,
    Item,
    Journey,
    Placement,
    Signal,
    SignalEvidence,
    Stage,
    Step,
)

# What a journey view reads, and how to find the workspace of a changed row of it.
_BY_WORKSPACE = (Journey, Item, Placement, Signal)
_BY_JOURNEY = (Stage, Step, FunnelRun)
_TRACKED_TABLES = frozenset(
    model.__tablename__ for model in (*_BY_WORKSPACE, *_BY_JOURNEY, SignalEvidence, FunnelStep)
)

_KEY = "journeyops.revisions"


class _Changes:
    """What a session has changed since its last commit or rollback."""

    def __init__(self) -> None:
        self.workspaces: set[int] = set()
        self.journeys: set[int] = set()
        self.signals: set[int] = set()
        self.steps: set[int] = set()
        self.everything = False

    def __bool__(self) -> bool:
        return bool(
            self.everything or self.workspaces or self.journeys or self.signals or self.steps
        )


def _changes(session: Session) -> _Changes:
    changes = session.info.get(_KEY)
    if changes is None:
        changes = session.info[_KEY] = _Changes()
    return changes


def touch(session: Session, workspace_id: int) -> None:
    """Note that this transaction changed what ``workspace_id``'s views show (for bulk
    statements that skip the unit of work)."""
    _changes(session).workspaces.add(workspace_id)


def _loaded(obj: Any, name: str) -> Any:
    """The attribute's value in memory, without loading it (a deleted row cannot be read)."""
    value = inspect(obj).attrs[name].loaded_value
    return None if value is NO_VALUE else value


def _note(changes: _Changes, obj: Any) -> None:
    if isinstance(obj, _BY_WORKSPACE):
        target, name = changes.workspaces, "workspace_id"
    elif isinstance(obj, _BY_JOURNEY):
        target, name = changes.journeys, "journey_id"
    elif isinstance(obj, SignalEvidence):
        target, name = changes.signals, "signal_id"
    elif isinstance(obj, FunnelStep):
        target, name = changes.steps, "step_id"
    else:
        return
    value = _loaded(obj, name)
    if value is None:
        changes.everything = True
    else:
        target.add(value)


def _collect(session: Session, _context: Any) -> None:
    changes = _changes(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        _note(changes, obj)


def _bulk(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) not in _TRACKED_TABLES:
        return
    workspace_id = state.execution_options.get("workspace_id")
    if workspace_id is None:
        _changes(state.session).everything = True
    else:
        touch(state.session, workspace_id)


def _bump(session: Session) -> None:
    # Commit flushes only after this event: flush now, so every change is noted.
    session.flush()
    changes: _Changes | None = session.info.pop(_KEY, None)
    if not changes:
        return
    repository.bump_revisions(
        session,
        workspaces=changes.workspaces,
        journeys=changes.journeys,
        signals=changes.signals,
        steps=changes.steps,
        everything=changes.everything,
    )


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_KEY, None)


def watch(maker: sessionmaker[Session]) -> None:
    """Let sessions of ``maker`` bump the revisions of the workspaces their changes touch."""
    event.listen(maker, "after_flush", _collect)
    event.listen(maker, "do_orm_execute", _bulk)
    event.listen(maker, "before_commit", _bump)
    event.listen(maker, "after_rollback", _forget)
