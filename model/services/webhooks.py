"""Webhook deliveries: stored once before they are answered, then processed into signals."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors import intercom, linear, stripe
from connectors.base import SignalRecord
from connectors.errors import MalformedRecord
from connectors.trackers import RemoteTicket
from model.base import utcnow
from model.db import dialect_insert
from model.services import signals, tickets
from model.services.automations import DeliveryMatcher
from model.tables import WebhookDelivery

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Delivery:
    """A verified delivery, ready to store."""

    workspace_id: int
    provider: str
    delivery_id: str
    event_type: str | None
    body: bytes

    @property
    def key(self) -> tuple[int, str, str]:
        return self.workspace_id, self.provider, self.delivery_id[:200]


def store_deliveries(session: Session, deliveries: list[Delivery]) -> list[bool]:
    """Store each delivery unless it was stored already, in one statement; returns which are
    new. Of two copies in the list, the first is new (if either is)."""
    rows: dict[tuple[int, str, str], dict[str, Any]] = {}
    for delivery in deliveries:
        rows.setdefault(
            delivery.key,
            {
                "workspace_id": delivery.workspace_id,
                "provider": delivery.provider,
                "delivery_id": delivery.key[2],
                # Whatever the provider put there: a malformed type is kept as text, not refused.
                "event_type": str(delivery.event_type)[:200] if delivery.event_type else None,
                "body": delivery.body.decode("utf-8", errors="replace"),
                "status": "received",
                "attempts": 0,
                "received_at": utcnow(),
            },
        )
    if not rows:
        return []
    table = WebhookDelivery.__table__
    statement = (
        dialect_insert(session, WebhookDelivery)
        .values(list(rows.values()))
        .on_conflict_do_nothing(index_elements=["workspace_id", "provider", "delivery_id"])
        .returning(table.c.workspace_id, table.c.provider, table.c.delivery_id)
    )
    inserted = {tuple(row) for row in session.execute(statement)}
    answered: set[tuple[int, str, str]] = set()
    new = []
    for delivery in deliveries:
        new.append(delivery.key in inserted and delivery.key not in answered)
        answered.add(delivery.key)
    return new


def _stripe(payload: dict[str, Any]) -> SignalRecord | None:
    return stripe.event_signal(payload)


def _intercom(payload: dict[str, Any]) -> SignalRecord | None:
    item = (payload.get("data") or {}).get("item")
    if not isinstance(item, dict) or item.get("type") != "conversation":
        raise MalformedRecord(f"topic {payload.get('topic')} carries no conversation")
    return intercom.conversation_signal(item, max_chars=20_000)


def _posthog(payload: dict[str, Any]) -> SignalRecord | None:
    nested = payload.get("event")
    event: dict[str, Any] = nested if isinstance(nested, dict) else payload
    name, uuid = event.get("event"), event.get("uuid")
    if not isinstance(name, str) or not isinstance(uuid, str):
        raise MalformedRecord("the delivery needs event.event and event.uuid")
    moment = datetime.fromisoformat(
        str(event.get("timestamp") or utcnow().isoformat()).replace("Z", "+00:00")
    )
    properties = event.get("properties") or {}
    where = properties.get("$pathname") or properties.get("$current_url")
    text = f"{event.get('distinct_id', 'a user')} hit `{name}`" + (f" on {where}" if where else "")
    return SignalRecord(
        external_id=f"event:{uuid}",
        occurred_at=moment if moment.tzinfo else moment.replace(tzinfo=UTC),
        text=text,
        payload={"event": name, "properties": properties},
        customer_ref=event.get("distinct_id"),
        version=uuid,
    )


def _linear(payload: dict[str, Any]) -> RemoteTicket | None:
    if payload.get("type") != "Issue" or payload.get("action") not in ("create", "update"):
        return None
    data = payload.get("data")
    if not isinstance(data, dict) or not data.get("id"):
        raise MalformedRecord("an Issue delivery needs data.id")
    state = data.get("state") or {}
    if not isinstance(state, dict) or "type" not in state:
        raise MalformedRecord("an Issue delivery needs data.state with name and type")
    return RemoteTicket(
        id=str(data["id"]),
        key=str(data.get("identifier") or data["id"]),
        url=str(data.get("url") or ""),
        status=str(state.get("name") or ""),
        done=state.get("type") in linear.DONE_STATE_TYPES,
    )


def _jira(payload: dict[str, Any]) -> RemoteTicket | None:
    if payload.get("webhookEvent") not in ("jira:issue_updated", "jira:issue_created"):
        return None
    issue = payload.get("issue")
    if not isinstance(issue, dict) or not issue.get("id"):
        raise MalformedRecord("an issue delivery needs issue.id")
    status = ((issue.get("fields") or {}).get("status")) or {}
    if not isinstance(status, dict) or "statusCategory" not in status:
        raise MalformedRecord("an issue delivery needs issue.fields.status.statusCategory")
    return RemoteTicket(
        id=str(issue["id"]),
        key=str(issue.get("key") or issue["id"]),
        url="",
        status=str(status.get("name") or ""),
        done=(status.get("statusCategory") or {}).get("key") == "done",
    )


# Providers whose deliveries become signals.
HANDLERS: dict[str, Callable[[dict[str, Any]], SignalRecord | None]] = {
    "stripe": _stripe,
    "intercom": _intercom,
    "posthog": _posthog,
}
# Providers whose deliveries move linked tickets (and so the items behind them).
TICKET_HANDLERS: dict[str, Callable[[dict[str, Any]], RemoteTicket | None]] = {
    "linear": _linear,
    "jira": _jira,
}


@dataclass
class DrainReport:
    processed: int = 0
    signals: int = 0
    tickets: int = 0
    failed: int = 0
    retrying: int = 0
    automations: int = 0


def drain(session: Session, limit: int = 500, workspace_id: int | None = None) -> DrainReport:
    """Process received deliveries once each; concurrent drains skip each other's rows."""
    query = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == "received",
            WebhookDelivery.provider.in_([*HANDLERS, *TICKET_HANDLERS]),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if workspace_id is not None:
        query = query.where(WebhookDelivery.workspace_id == workspace_id)
    report = DrainReport()
    fire = DeliveryMatcher(session)
    for delivery in session.scalars(query):
        delivery.attempts += 1
        try:
            payload = json.loads(delivery.body)
            if not isinstance(payload, dict):
                raise MalformedRecord("the body is not a JSON object")
            if delivery.provider in TICKET_HANDLERS:
                ticket = TICKET_HANDLERS[delivery.provider](payload)
                record = None
            else:
                ticket = None
                record = HANDLERS[delivery.provider](payload)
        except (MalformedRecord, ValueError) as error:
            reason = error.reason if isinstance(error, MalformedRecord) else str(error)
            delivery.error = reason[:2000]
            if delivery.attempts >= MAX_ATTEMPTS or isinstance(error, MalformedRecord):
                delivery.status = "failed"
                report.failed += 1
            else:
                report.retrying += 1
            continue
        if record is not None:
            counts = signals.upsert_signals(
                session, delivery.workspace_id, delivery.provider, [record]
            )
            report.signals += counts.created + counts.updated
        if ticket is not None and tickets.apply_webhook(
            session, delivery.workspace_id, delivery.provider, ticket
        ):
            report.tickets += 1
        delivery.status = "processed"
        delivery.processed_at = utcnow()
        delivery.error = None
        report.processed += 1
        report.automations += len(fire(delivery))
    session.flush()
    return report
