"""Each provider's webhook signature scheme, checked on the raw body, and delivery identity."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any


class SignatureError(Exception):
    """The delivery is unsigned, wrongly signed or too old: answer 401."""


def _hex_hmac(secret: str, body: bytes, digest: Any) -> str:
    return hmac.new(secret.encode("utf-8"), body, digest).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def sign_stripe(body: bytes, secret: str, timestamp: int) -> str:
    """Stripe-Signature for ``body``: HMAC-SHA256 of "timestamp.body"."""
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={_hex_hmac(secret, signed, hashlib.sha256)}"


def verify_stripe(
    body: bytes, header: str | None, secret: str, tolerance: int, now: float | None = None
) -> None:
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    parts: dict[str, list[str]] = {}
    for piece in header.split(","):
        key, _, value = piece.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("Stripe-Signature has no timestamp") from None
    if abs((now or time.time()) - timestamp) > tolerance:
        raise SignatureError(f"Stripe-Signature timestamp is older than {tolerance} seconds")
    expected = _hex_hmac(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    if not any(_same(expected, candidate) for candidate in parts.get("v1", [])):
        raise SignatureError("Stripe-Signature does not match the body")


def sign_intercom(body: bytes, secret: str) -> str:
    return "sha1=" + _hex_hmac(secret, body, hashlib.sha1)


def verify_intercom(body: bytes, header: str | None, secret: str) -> None:
    if not header or not header.startswith("sha1="):
        raise SignatureError("missing X-Hub-Signature (sha1=...) header")
    if not _same(_hex_hmac(secret, body, hashlib.sha1), header[5:]):
        raise SignatureError("X-Hub-Signature does not match the body")


def sign_linear(body: bytes, secret: str) -> str:
    return _hex_hmac(secret, body, hashlib.sha256)


def verify_linear(
    body: bytes, header: str | None, secret: str, tolerance: int, now: float | None = None
) -> None:
    if not header:
        raise SignatureError("missing Linear-Signature header")
    if not _same(_hex_hmac(secret, body, hashlib.sha256), header):
        raise SignatureError("Linear-Signature does not match the body")
    try:
        sent = int(json.loads(body)["webhookTimestamp"]) / 1000
    except (ValueError, KeyError, TypeError):
        raise SignatureError("the delivery has no webhookTimestamp") from None
    if abs((now or time.time()) - sent) > tolerance:
        raise SignatureError(f"the delivery's webhookTimestamp is older than {tolerance} seconds")


def sign_jira(body: bytes, secret: str) -> str:
    return "sha256=" + _hex_hmac(secret, body, hashlib.sha256)


def verify_jira(body: bytes, header: str | None, secret: str) -> None:
    if not header or not header.startswith("sha256="):
        raise SignatureError("missing X-Hub-Signature (sha256=...) header")
    if not _same(_hex_hmac(secret, body, hashlib.sha256), header[7:]):
        raise SignatureError("X-Hub-Signature does not match the body")


def verify_shared_secret(header: str | None, secret: str) -> None:
    if not header or not hmac.compare_digest(header.encode(), secret.encode()):
        raise SignatureError("missing or wrong X-Journeyops-Secret header")


def identity(
    provider: str, payload: dict[str, Any], headers: dict[str, str], body: bytes
) -> tuple[str, str | None]:
    """Return the delivery's id (what duplicates share) and its event type."""
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if provider == "stripe":
        return str(payload.get("id") or digest), payload.get("type")
    if provider == "intercom":
        return str(payload.get("id") or digest), payload.get("topic")
    if provider == "linear":
        delivery = headers.get("linear-delivery") or payload.get("webhookId") or digest
        return str(delivery), f"{payload.get('type')}.{payload.get('action')}"
    if provider == "jira":
        delivery = headers.get("x-atlassian-webhook-identifier") or digest
        return str(delivery), payload.get("webhookEvent")
    nested = payload.get("event")
    event: dict[str, Any] = nested if isinstance(nested, dict) else {}
    return str(event.get("uuid") or payload.get("uuid") or digest), event.get(
        "event"
    ) or payload.get("event_name")
