"""push-tickets and sync-tickets: follow-up into the trackers, and results back."""

from __future__ import annotations

from prefect import flow

from connectors.errors import AuthError
from tasks.tickets import (
    PushOutcome,
    SyncOutcome,
    links_to_push,
    publish_push_report,
    publish_sync_report,
    push_ticket,
    sync_tracker,
)


class TicketsFailed(Exception):
    """Some tickets could not be created; each item shows why."""


@flow(name="push-tickets")
def push_tickets(workspace: str | None = None, limit: int = 100) -> list[PushOutcome]:
    """Create a ticket for every item marked for follow-up, each exactly once."""
    outcomes = [push_ticket(link_id) for link_id in links_to_push(workspace, limit)]
    publish_push_report(outcomes, workspace)
    failed = [o for o in outcomes if o.outcome == "failed"]
    if failed:
        raise TicketsFailed(
            f"{len(failed)} of {len(outcomes)} ticket(s) failed: "
            + "; ".join(f"{o.item} ({o.tracker}): {o.error}" for o in failed[:5])
        )
    return outcomes


@flow(name="sync-tickets")
def sync_tickets(
    workspace: str | None = None, trackers: tuple[str, ...] = ("linear", "jira")
) -> list[SyncOutcome]:
    """Read linked tickets back; done tickets ship solutions and snapshot their metrics."""
    outcomes = []
    for name in trackers:
        try:
            outcomes.append(sync_tracker(workspace, name))
        except AuthError as error:
            outcomes.append(SyncOutcome(tracker=name, error=str(error)))
    publish_sync_report(outcomes, workspace)
    errors = [o for o in outcomes if o.error]
    if errors:
        raise TicketsFailed("; ".join(f"{o.tracker}: {o.error}" for o in errors))
    return outcomes
