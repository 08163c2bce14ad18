"""Webhooks: verified on the raw body, stored once, answered, then processed by a flow."""

from __future__ import annotations

import json
import logging
import threading
from typing import Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

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
    # Verifying, storing and committing block; they run in the thread pool as one call so
    # the event loop keeps reading other deliveries meanwhile.
    delivery_id, new = await run_in_threadpool(
        _store, request.app.state.database_url, provider, workspace, body, headers
    )
    if new and get_settings().webhooks.process_deployment:
        background.add_task(_trigger, workspace, provider, delivery_id)
    return {"status": "stored" if new else "duplicate", "delivery": delivery_id}


# Deliveries stored at once. SQLite takes one writer at a time, and a writer that finds it
# busy sleeps in steps of up to 100 ms; PostgreSQL takes many, but dozens of threads taking
# turns at the interpreter for a millisecond of work each only add waiting. A burst queues
# here instead, first come first served.
_SQLITE_WRITERS = threading.Semaphore(1)
_POSTGRES_WRITERS = threading.Semaphore(4)


def _writes(database_url: str) -> threading.Semaphore:
    return _SQLITE_WRITERS if database_url.startswith("sqlite") else _POSTGRES_WRITERS


def _store(
    database_url: str, provider: Provider, workspace: str, body: bytes, headers: dict[str, str]
) -> tuple[str, bool]:
    with _writes(database_url), session_scope(database_url) as session:
        target = repository.webhook_target(session, workspace, provider)
        if target is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no workspace {workspace!r}")
        workspace_id, own_secret = target
        try:
            _verify(provider, body, headers, webhook_secrets.signing_key(own_secret, provider))
        except protocol.SignatureError as error:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(error)) from None
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, "the body must be a JSON object"
            ) from None
        delivery_id, event_type = protocol.identity(provider, payload, headers, body)
        new = webhooks.store_delivery(
            session, workspace_id, provider, delivery_id, event_type, body
        )
    # Committed, so durable, before the provider hears 2xx.
    return delivery_id, new
