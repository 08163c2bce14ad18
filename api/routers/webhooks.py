"""Webhooks: verified on the raw body, stored once, answered, then processed by a flow."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status

from api.batching import GroupCommit
from connectors import webhooks as protocol
from model import repository
from model.db import session_scope
from model.services import webhook_secrets, webhooks
from model.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Provider = Literal["stripe", "intercom", "posthog", "linear", "jira"]


def _verify(provider: Provider, body: bytes, headers: dict[str, str], key: str | None) -> None:
    if key is None:
        raise protocol.SignatureError(
            f"no {provider} webhook secret is set for this workspace (an owner sets one with "
            f"`journeyops webhook secret {provider}` or PUT /webhook-secrets/{provider}) nor for "
            f"the service (JOURNEYOPS_WEBHOOKS__{provider.upper()}_SECRET)"
        )
    settings = get_settings().webhooks
    if provider == "stripe":
        protocol.verify_stripe(
            body, headers.get("stripe-signature"), key, settings.stripe_tolerance_seconds
        )
    elif provider == "intercom":
        protocol.verify_intercom(body, headers.get("x-hub-signature"), key)
    elif provider == "linear":
        protocol.verify_linear(
            body, headers.get("linear-signature"), key, settings.linear_tolerance_seconds
        )
    elif provider == "jira":
        protocol.verify_jira(body, headers.get("x-hub-signature"), key)
    else:
        protocol.verify_shared_secret(headers.get("x-journeyops-secret"), key)


def _trigger(workspace: str, provider: str, delivery_id: str) -> None:
    """Start processing now when a deployment is configured; the scheduled drain is the net."""
    deployment = get_settings().webhooks.process_deployment
    if not deployment:
        return
    try:
        from prefect.deployments import run_deployment

        run_deployment(
            deployment,
            parameters={"workspace": workspace},
            timeout=0,
            idempotency_key=f"{provider}:{delivery_id}",
        )
    except Exception:
        log.exception("webhooks.trigger_failed provider=%s delivery=%s", provider, delivery_id)


@router.post(
    "/{provider}/{workspace}",
    summary="Receive a provider's webhook for a workspace",
    responses={
        401: {"description": "Unsigned, wrongly signed or stale."},
        404: {"description": "No such workspace."},
    },
)
async def receive(
    provider: Provider,
    workspace: str,
    request: Request,
    background: BackgroundTasks,
) -> dict[str, str]:
    """Verify the delivery's signature on the raw body, store it (a redelivery is stored once)
    and answer; a flow turns stored deliveries into signals."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    # Looked up, verified and committed (so durable) before the provider hears 2xx, with the
    # deliveries that arrived meanwhile, in one transaction off the event loop.
    outcome = await _receiver(request.app).submit(_Incoming(provider, workspace, body, headers))
    if isinstance(outcome, HTTPException):
        raise outcome
    delivery_id, new = outcome
    if new and get_settings().webhooks.process_deployment:
        background.add_task(_trigger, workspace, provider, delivery_id)
    return {"status": "stored" if new else "duplicate", "delivery": delivery_id}


# Bodies in one batch's insert, past its first delivery (a body is at most 1 MB).
BATCH_BYTES = 8_000_000


@dataclass(frozen=True)
class _Incoming:
    provider: Provider
    workspace: str
    body: bytes
    headers: dict[str, str]


_Outcome = tuple[str, bool] | HTTPException


def _check(incoming: _Incoming, target: tuple[int, str | None] | None) -> webhooks.Delivery:
    """The verified delivery, or the HTTP error to answer (raised)."""
    provider = incoming.provider
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no workspace {incoming.workspace!r}")
    workspace_id, key = target
    try:
        _verify(provider, incoming.body, incoming.headers, key)
    except protocol.SignatureError as error:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
    try:
        payload = json.loads(incoming.body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body must be a JSON object") from None
    delivery_id, event_type = protocol.identity(provider, payload, incoming.headers, incoming.body)
    return webhooks.Delivery(workspace_id, provider, delivery_id, event_type, incoming.body)


def _receive(database_url: str, batch: list[_Incoming]) -> list[_Outcome]:
    """Verify and store a batch of deliveries in one transaction: each is new, a duplicate
    (a redelivery, even one in the same batch), or the HTTP error its sender hears."""
    outcomes: list[_Outcome | webhooks.Delivery] = []
    with session_scope(database_url) as session:
        targets: dict[tuple[str, str], tuple[int, str | None] | None] = {}
        for incoming in batch:
            place = (incoming.workspace, incoming.provider)
            if place not in targets:
                found = repository.webhook_target(session, *place)
                key = webhook_secrets.signing_key(found[1], incoming.provider) if found else None
                targets[place] = (found[0], key) if found else None
            try:
                outcomes.append(_check(incoming, targets[place]))
            except HTTPException as refused:
                outcomes.append(refused)
        deliveries = [o for o in outcomes if isinstance(o, webhooks.Delivery)]
        new = iter(webhooks.store_deliveries(session, deliveries))
    return [(o.delivery_id, next(new)) if isinstance(o, webhooks.Delivery) else o for o in outcomes]


def _receiver(app: Any) -> GroupCommit[_Incoming, _Outcome]:
    """The app's one delivery writer: SQLite takes one writer at a time, and on PostgreSQL a
    few large transactions beat many small ones."""
    receiver: GroupCommit[_Incoming, _Outcome] | None = getattr(app.state, "receiver", None)
    if receiver is None:
        receiver = GroupCommit(
            partial(_receive, app.state.database_url),
            weigh=lambda incoming: len(incoming.body),
            max_weight=BATCH_BYTES,
        )
        app.state.receiver = receiver
    return receiver
