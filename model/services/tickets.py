"""Follow-up tickets: asked for on an item, created once in Linear or Jira, read back when done.

The link row exists before the tracker is called and carries a marker the ticket carries
too, so a lost answer, a retry or two racing runs end with one ticket.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from connectors.trackers import Evidence, MetricContext, RemoteTicket, TicketDraft
from model import repository
from model.base import utcnow
from model.errors import InvalidInput, NotFound
from model.services import history, items
from model.settings import get_settings
from model.tables import Item, TicketLink, Workspace

TRACKERS = ("linear", "jira")
TICKET_TYPES = ("opportunity", "solution")
TRACKER_NAMES = {"linear": "Linear", "jira": "Jira"}
SETTING_NAMES = {"linear": "linear_team_key", "jira": "jira_project_key"}


def _tracker(value: str) -> str:
    if value not in TRACKERS:
        raise InvalidInput(
            f"tracker: unknown tracker {value!r}; use one of {', '.join(TRACKERS)}",
            field="tracker",
        )
    return value


def destination_for(session: Session, item: Item, tracker: str) -> str | None:
    """The team (Linear) or project (Jira): the item's journey, the workspace, then settings."""
    column = SETTING_NAMES[tracker]
    journey = repository.first_journey_of_item(session, item.id)
    if journey is not None and getattr(journey, column):
        return str(getattr(journey, column))
    workspace = session.get_one(Workspace, item.workspace_id)
    if getattr(workspace, column):
        return str(getattr(workspace, column))
    settings = get_settings()
    return settings.linear.team_key if tracker == "linear" else settings.jira.project_key


def request_ticket(
    session: Session, item: Item, tracker: str, actor: str
) -> tuple[TicketLink, bool]:
    """Mark an item for follow-up in a tracker; asking again returns the same link.

    A link that failed is asked for again (the marker stays, so a ticket the failed attempt
    created is found rather than duplicated)."""
    _tracker(tracker)
    if item.type not in TICKET_TYPES:
        raise InvalidInput(
            f"item: only opportunities and solutions become tickets, not a {item.type}",
            field="item",
        )
    destination = destination_for(session, item, tracker)
    if not destination:
        raise InvalidInput(
            f"{SETTING_NAMES[tracker]}: no {TRACKER_NAMES[tracker]} "
            f"{'team' if tracker == 'linear' else 'project'} is set; set it on the journey, "
            "the workspace, or in the settings",
            field=SETTING_NAMES[tracker],
        )
    link = repository.ticket_link(session, item.id, tracker)
    if link is not None:
        if link.state == "failed":
            link.state = "requested"
            link.destination = destination
            link.error = None
            link.attempts = 0
            link.requested_by = actor
            session.flush()
            _record(
                session,
                item,
                link,
                "ticket_requested",
                f"asked again for a {tracker} ticket",
                actor,
            )
        return link, False
    link = TicketLink(
        workspace_id=item.workspace_id,
        item_id=item.id,
        tracker=tracker,
        destination=destination,
        state="requested",
        marker=str(uuid.uuid4()) if tracker == "linear" else uuid.uuid4().hex,
        requested_by=actor,
    )
    session.add(link)
    session.flush()
    _record(session, item, link, "ticket_requested", f"asked for a {tracker} ticket", actor)
    return link, True


def get_link(session: Session, workspace_id: int, link_id: int) -> TicketLink:
    link = repository.ticket_link_by_id(session, workspace_id, link_id)
    if link is None:
        raise NotFound(f"no ticket link {link_id} in this workspace")
    return link


def _record(
    session: Session,
    item: Item,
    link: TicketLink,
    action: str,
    summary: str,
    actor: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    history.record(
        session,
        workspace_id=item.workspace_id,
        item_id=item.id,
        entity="ticket",
        entity_id=link.id,
        action=action,
        summary=f"{summary} for {item.type} {item.title!r}",
        actor=actor,
        changes=changes,
    )


# Pushing ------------------------------------------------------------------------------------


def claim(session: Session, link_id: int) -> bool:
    """Take a link for this run until the claim lapses; False if another run has it."""
    now = utcnow()
    lease = timedelta(seconds=get_settings().tickets.claim_seconds)
    return repository.claim_ticket_link(session, link_id, now, now + lease)


def _related(session: Session, item: Item) -> tuple[list[Item], list[Item]]:
    """Items whose evidence backs ``item`` (itself and insights behind it) and its metrics."""
    links = repository.links_touching(session, [item.id])
    backing, metrics = [item], []
    parents: list[Item] = []
    for link in links:
        if link.target_id == item.id and link.source.type == "insight":
            backing.append(link.source)
        if link.target_id == item.id and link.source.type == "opportunity":
            parents.append(link.source)
        if link.source_id == item.id and link.target.type == "metric":
            metrics.append(link.target)
    if parents:
        for link in repository.links_touching(session, [p.id for p in parents]):
            if link.target_id in {p.id for p in parents} and link.source.type == "insight":
                backing.append(link.source)
            if link.source_id in {p.id for p in parents} and link.target.type == "metric":
                metrics.append(link.target)
    return backing, list({m.id: m for m in metrics}.values())


def metric_snapshot(metrics: list[Item]) -> list[dict[str, Any]]:
    at = utcnow().isoformat()
    return [
        {
            "metric_id": m.id,
            "title": m.title,
            "baseline": m.baseline,
            "current": m.current,
            "target": m.target,
            "unit": m.unit,
            "at": at,
        }
        for m in metrics
    ]


def draft(session: Session, link: TicketLink) -> TicketDraft:
    """What the ticket says: the item, its steps, the evidence behind it and its metrics."""
    item = session.get_one(Item, link.item_id)
    backing, metrics = _related(session, item)
    ids = list({i.id for i in backing})
    summary = repository.evidence_summary(session, ids)
    texts = repository.evidence_texts(session, ids)
    count = sum(entry["count"] for entry in summary.values())
    evidence = None
    if count:
        firsts = [e["first_seen"] for e in summary.values() if e["first_seen"]]
        lasts = [e["last_seen"] for e in summary.values() if e["last_seen"]]
        quotes: list[str] = []
        for item_id in ids:
            for text in texts.get(item_id, []):
                short = " ".join(text.split())[:240]
                if short not in quotes:
                    quotes.append(short)
        evidence = Evidence(
            count=count,
            first_seen=min(firsts).date().isoformat() if firsts else None,
            last_seen=max(lasts).date().isoformat() if lasts else None,
            sources=sorted({s for e in summary.values() for s in e["sources"]}),
            quotes=quotes[:3],
        )
    base = get_settings().tickets.public_url.rstrip("/")
    return TicketDraft(
        marker=link.marker,
        item_url=f"{base}/items/{item.id}",
        item_key=item.key,
        item_type=item.type,
        title=item.title,
        description=item.description,
        placements=repository.placements_with_names(session, item.id),
        evidence=evidence,
        metrics=[
            MetricContext(
                title=m.title,
                baseline=m.baseline,
                current=m.current,
                target=m.target,
                unit=m.unit,
                direction=m.direction,
            )
            for m in metrics
        ],
        priority=item.priority,
        impact=item.impact,
        effort=item.effort,
    )


def record_linked(session: Session, link: TicketLink, ticket: RemoteTicket, actor: str) -> None:
    """The ticket exists and links back: store it, show it on the item, snapshot metrics."""
    item = session.get_one(Item, link.item_id)
    _, metrics = _related(session, item)
    link.state = "linked"
    link.external_id = ticket.id
    link.external_key = ticket.key
    link.url = ticket.url
    link.remote_status = ticket.status
    link.done = ticket.done
    link.error = None
    link.claimed_until = None
    link.linked_at = link.synced_at = utcnow()
    link.metric_before = {"metrics": metric_snapshot(metrics)}
    label = f"{TRACKER_NAMES[link.tracker]} {ticket.key}"
    if ticket.url and all(entry.get("url") != ticket.url for entry in item.external_links):
        item.external_links = [*item.external_links, {"url": ticket.url, "label": label}]
    session.flush()
    _record(session, item, link, "ticket_linked", f"linked {label}", actor)


def record_retry(session: Session, link: TicketLink, message: str) -> bool:
    """A retryable failure: release the claim so the next attempt reconciles by marker.
    Returns True when the link has used its attempts and failed instead."""
    if link.attempts >= get_settings().tickets.max_attempts:
        record_failed(session, link, f"gave up after {link.attempts} attempts: {message}", "system")
        return True
    link.error = message[:2000]
    link.claimed_until = None
    session.flush()
    return False


def record_failed(session: Session, link: TicketLink, message: str, actor: str) -> None:
    """A failure a person must fix (credentials, team or project): shown on the link."""
    item = session.get_one(Item, link.item_id)
    link.state = "failed"
    link.error = message[:2000]
    link.claimed_until = None
    session.flush()
    _record(session, item, link, "ticket_failed", f"could not create a ticket: {message}", actor)


# Reading back -------------------------------------------------------------------------------


def apply_remote(session: Session, link: TicketLink, ticket: RemoteTicket, actor: str) -> bool:
    """Bring the journey in line with the ticket's state; returns whether anything changed.

    Only a change of the ticket's state acts, so echoes of our own writes (the ticket we
    created, the link we added) change nothing."""
    link.synced_at = utcnow()
    if ticket.status == link.remote_status and ticket.done == link.done:
        return False
    item = session.get_one(Item, link.item_id)
    changes: dict[str, tuple[Any, Any]] = {"ticket_status": (link.remote_status, ticket.status)}
    link.remote_status = ticket.status
    if ticket.done and not link.done:
        link.done = True
        link.shipped_at = utcnow()
        _, metrics = _related(session, item)
        link.metric_after = {"metrics": metric_snapshot(metrics)}
        session.flush()
        _record(
            session,
            item,
            link,
            "ticket_done",
            f"{TRACKER_NAMES[link.tracker]} {link.external_key} is done ({ticket.status})",
            actor,
            changes,
        )
        _ship(session, item, actor)
        return True
    if link.done and not ticket.done:
        link.done = False
        _record(
            session,
            item,
            link,
            "ticket_reopened",
            f"{TRACKER_NAMES[link.tracker]} {link.external_key} reopened ({ticket.status})",
            actor,
            changes,
        )
        return True
    session.flush()
    return True


def _ship(session: Session, item: Item, actor: str) -> None:
    if item.type == "solution":
        if item.status not in ("shipped", "validated"):
            items.update_item(session, item, {"status": "shipped"}, actor)
        for link in repository.links_touching(session, [item.id]):
            if link.target_id == item.id and link.source.type == "opportunity":
                _close_if_all_shipped(session, link.source, actor)
    elif item.type == "opportunity" and item.status != "closed":
        items.update_item(session, item, {"status": "closed"}, actor)


def _close_if_all_shipped(session: Session, opportunity: Item, actor: str) -> None:
    solutions = [
        link.target
        for link in repository.links_touching(session, [opportunity.id])
        if link.source_id == opportunity.id and link.target.type == "solution"
    ]
    if (
        solutions
        and all(s.status in ("shipped", "validated") for s in solutions)
        and opportunity.status != "closed"
    ):
        items.update_item(session, opportunity, {"status": "closed"}, actor)


def apply_webhook(session: Session, workspace_id: int, tracker: str, ticket: RemoteTicket) -> bool:
    """A tracker told us a ticket changed; act if it is one of ours."""
    link = repository.ticket_link_by_external(session, workspace_id, tracker, ticket.id)
    if link is None or link.state != "linked":
        return False
    return apply_remote(session, link, ticket, f"{tracker}-webhook")


def record_missing(session: Session, link: TicketLink) -> None:
    """The tracker no longer has the ticket (deleted, or moved out of reach)."""
    message = (
        f"{TRACKER_NAMES[link.tracker]} {link.external_key} no longer exists or cannot be read"
    )
    if link.error != message:
        link.error = message
        item = session.get_one(Item, link.item_id)
        _record(session, item, link, "ticket_missing", message, "sync")
    link.synced_at = utcnow()
    session.flush()
