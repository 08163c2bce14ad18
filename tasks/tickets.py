"""Ticket tasks: push one item to its tracker exactly once; read tracker state back."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel

from connectors.errors import AuthError, ConnectorError, RequestError, RetryableError
from connectors.http import RetryPolicy
from connectors.jira_client import JiraClient
from connectors.linear import LinearClient
from connectors.trackers import RemoteTicket, Tracker
from model import repository
from model.base import utcnow
from model.db import session_scope
from model.services import tickets, workspaces
from model.settings import get_settings
from model.tables import TicketLink
from tasks.logging import run_logger


class TrackerNotConfigured(AuthError):
    """The tracker's credentials are not set."""


def open_tracker(name: str) -> Tracker:
    """The typed client of a tracker, from the settings (secrets never pass as parameters)."""
    settings = get_settings()
    retry = RetryPolicy(
        max_attempts=settings.http.max_attempts, max_delay=settings.http.max_backoff_seconds
    )
    if name == "linear":
        if settings.linear.api_key is None:
            raise TrackerNotConfigured(name, "set JOURNEYOPS_LINEAR__API_KEY to a Linear API key")
        return LinearClient(
            settings.linear.api_key.get_secret_value(),
            url=settings.linear.url,
            timeout=settings.http.timeout_seconds,
            retry=retry,
        )
    jira = settings.jira
    if not (jira.url and jira.email and jira.api_token):
        raise TrackerNotConfigured(
            name,
            "set JOURNEYOPS_JIRA__URL, JOURNEYOPS_JIRA__EMAIL and JOURNEYOPS_JIRA__API_TOKEN",
        )
    return JiraClient(
        jira.url,
        jira.email,
        jira.api_token.get_secret_value(),
        issue_type=jira.issue_type,
        timeout=settings.http.timeout_seconds,
        retry=retry,
    )


class PushOutcome(BaseModel):
    link_id: int
    item: str
    tracker: str
    outcome: str  # created, found, skipped, retrying, failed
    ticket: str | None = None
    url: str | None = None
    error: str | None = None


@task(name="tickets-to-push")
def links_to_push(workspace: str | None, limit: int) -> list[int]:
    with session_scope() as session:
        workspace_id = workspaces.get_workspace(session, workspace).id if workspace else None
        return repository.ticket_links_to_push(session, workspace_id, utcnow(), limit)


def _create_once(
    tracker: Tracker, draft_: tickets.TicketDraft, destination: str
) -> tuple[RemoteTicket, str]:
    """Find the ticket by its marker, or create it; a lost answer is reconciled, not repeated."""
    found = tracker.find(draft_)
    if found is not None:
        return found, "found"
    tracker.check_destination(destination)
    try:
        return tracker.create(draft_, destination), "created"
    except RetryableError:
        found = tracker.find(draft_)
        if found is not None:
            return found, "found"
        raise


@task(name="push-ticket")
def push_ticket(link_id: int) -> PushOutcome:
    """Create one item's ticket exactly once: claim, find-or-create, link back, record."""
    log = run_logger(__name__)
    with session_scope() as session:  # the claim commits before the tracker is called
        link = session.get_one(TicketLink, link_id)
        if not tickets.claim(session, link_id):
            return PushOutcome(
                link_id=link_id,
                item=str(link.item_id),
                tracker=link.tracker,
                outcome="skipped",
                ticket=link.external_key,
            )
        draft_ = tickets.draft(session, link)
        tracker_name, destination = link.tracker, link.destination or ""
    outcome = PushOutcome(link_id=link_id, item=draft_.item_key, tracker=tracker_name, outcome="")
    try:
        tracker = open_tracker(tracker_name)
        try:
            ticket, how = _create_once(tracker, draft_, destination)
            tracker.link_back(ticket, draft_)
        finally:
            tracker.close()
    except RetryableError as error:
        with session_scope() as session:
            gave_up = tickets.record_retry(
                session, session.get_one(TicketLink, link_id), error.message
            )
        log.warning("tickets.push.retry link=%d error=%s", link_id, error.message)
        outcome.outcome, outcome.error = ("failed" if gave_up else "retrying"), error.message
        return outcome
    except (AuthError, RequestError, ConnectorError) as error:
        with session_scope() as session:
            tickets.record_failed(
                session, session.get_one(TicketLink, link_id), str(error), "push-tickets"
            )
        log.error("tickets.push.failed link=%d error=%s", link_id, error)
        outcome.outcome, outcome.error = "failed", str(error)
        return outcome
    with session_scope() as session:
        tickets.record_linked(session, session.get_one(TicketLink, link_id), ticket, "push-tickets")
    log.info("tickets.push.%s link=%d ticket=%s", how, link_id, ticket.key)
    outcome.outcome, outcome.ticket, outcome.url = how, ticket.key, ticket.url
    return outcome


class SyncOutcome(BaseModel):
    tracker: str
    checked: int = 0
    changed: int = 0
    done: int = 0
    missing: int = 0
    error: str | None = None


@task(name="sync-tracker")
def sync_tracker(workspace: str | None, tracker_name: str) -> SyncOutcome:
    """Read the state of every linked ticket of one tracker and apply changes."""
    outcome = SyncOutcome(tracker=tracker_name)
    with session_scope() as session:
        workspace_id = workspaces.get_workspace(session, workspace).id if workspace else None
        wanted = {
            link.external_id: link.id
            for link in repository.ticket_links_to_sync(session, workspace_id, tracker_name)
            if link.external_id
        }
    if not wanted:
        return outcome
    tracker = open_tracker(tracker_name)
    try:
        remote = {ticket.id: ticket for ticket in tracker.statuses(sorted(wanted))}
    finally:
        tracker.close()
    with session_scope() as session:
        for external_id, link_id in wanted.items():
            link = session.get_one(TicketLink, link_id)
            outcome.checked += 1
            ticket = remote.get(external_id)
            if ticket is None:
                tickets.record_missing(session, link)
                outcome.missing += 1
                continue
            was_done = link.done
            if tickets.apply_remote(session, link, ticket, f"sync-{tracker_name}"):
                outcome.changed += 1
                outcome.done += int(ticket.done and not was_done)
    return outcome


def publish_push_report(outcomes: list[PushOutcome], workspace: str | None) -> None:
    if not outcomes:
        return
    create_table_artifact(
        key=f"push-tickets-{workspace or 'all'}".lower()[:100],
        table=[o.model_dump() for o in outcomes],
        description="Tickets pushed to Linear and Jira in this run",
    )


def publish_sync_report(outcomes: list[SyncOutcome], workspace: str | None) -> None:
    create_table_artifact(
        key=f"sync-tickets-{workspace or 'all'}".lower()[:100],
        table=[o.model_dump() for o in outcomes],
        description="Linked tickets read back from Linear and Jira",
    )
