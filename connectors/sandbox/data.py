"""Realistic, seeded data for the demo journey: who struggles where, in each source."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

STRIPE_KEY = "sk_test_journeyops_sandbox"
INTERCOM_TOKEN = "journeyops-sandbox-intercom-token"
POSTHOG_KEY = "phx_journeyops_sandbox"
POSTHOG_PROJECT = "1"
POSTHOG_PROJECT_KEY = "phc_journeyops_sandbox"

# What customers write, by the demo journey's step; the friction sits at the integration step.
TOPICS: list[tuple[str, float, list[str]]] = [
    (
        "Customer connects first integration",
        0.34,
        [
            "I can't find where to get an API key for the CRM connection",
            "The setup wizard asks for API credentials and I'm not technical, what do I do?",
            "Our admin doesn't know what a webhook secret is, the integration screen is stuck",
            "Connecting Salesforce fails with invalid credentials even though I pasted the key",
            "Is there a way to connect HubSpot without asking our developers for a token?",
            "The integration test sync never finishes, it just spins",
        ],
    ),
    (
        "Customer starts a trial",
        0.08,
        [
            "I signed up but never got into the workspace, the page just reloads",
            "Can I start the trial without a company email address?",
        ],
    ),
    (
        "Customer verifies email",
        0.07,
        [
            "The verification email never arrived, I checked spam",
            "The link in the verification email says it expired",
        ],
    ),
    (
        "Customer invites teammates",
        0.10,
        [
            "My colleague did not receive the invite to our workspace",
            "How do I give a teammate view-only access?",
        ],
    ),
    (
        "Customer builds first report",
        0.12,
        [
            "The report template shows no data even though the integration is connected",
            "How do I filter the first report by team?",
        ],
    ),
    (
        "Customer reviews plans and pricing",
        0.14,
        [
            "How much will it cost when we add ten more seats next quarter?",
            "Is there an annual plan with a discount? The pricing page doesn't say",
        ],
    ),
    (
        "Customer enters payment details",
        0.15,
        [
            "My card was declined when I tried to upgrade",
            "Can we pay by invoice instead of card?",
            "The payment form keeps saying my postal code is invalid",
        ],
    ),
]

BOT_TEXT = "Hi there! I'm the Acme bot. Have you checked our help center?"
ADMIN_TEXT = "Thanks for reaching out, let me look into this for you."

# PostHog events that matter, and where they happen.
FRICTION_EVENTS = [
    ("api_key_error", "/integrations/connect", 0.5),
    ("integration_connect_failed", "/integrations/connect", 0.25),
    ("invite_email_bounced", "/settings/team", 0.1),
    ("payment_failed", "/billing/upgrade", 0.15),
]
NOISE_EVENTS = [("$pageview", "/dashboard"), ("report_viewed", "/reports")]


@dataclass
class SandboxData:
    """Everything the stand-ins serve; mutable so tests can add and change records."""

    now: datetime
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    stripe: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    posthog_events: list[tuple[str, str, str, str, str | None, str | None]] = field(
        default_factory=list
    )
    # Result cells the PostHog stand-in answers wrongly, by event uuid: {column index: value}.
    broken_rows: dict[str, dict[int, Any]] = field(default_factory=dict)


def _conversation(
    number: int, text: str, created: int, updated: int, rng: random.Random
) -> dict[str, Any]:
    contact = f"contact_{rng.randrange(1, 400):04d}"
    parts = [
        _part(f"{number}01", "comment", "bot", BOT_TEXT, created + 5),
        _part(f"{number}02", "comment", "user", "Still stuck, can a person help?", created + 60),
        _part(f"{number}03", "assignment", "admin", None, created + 120),
        _part(f"{number}04", "comment", "admin", ADMIN_TEXT, updated),
    ]
    return {
        "type": "conversation",
        "id": str(number),
        "title": None,
        "created_at": created,
        "updated_at": updated,
        "waiting_since": None,
        "snoozed_until": None,
        "open": True,
        "state": "open",
        "read": True,
        "priority": "not_priority",
        "admin_assignee_id": 814,
        "team_assignee_id": None,
        "tags": {"type": "tag.list", "tags": []},
        "source": {
            "type": "conversation",
            "id": f"{number}00",
            "delivered_as": "customer_initiated",
            "subject": "",
            "body": f"<p>{text}</p>",
            "author": {
                "type": "user",
                "id": contact,
                "name": None,
                "email": f"{contact}@customer.example",
            },
            "attachments": [],
            "url": "https://app.acme.example/integrations/connect",
            "redacted": False,
        },
        "contacts": {
            "type": "contact.list",
            "contacts": [{"type": "contact", "id": contact, "external_id": contact}],
        },
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": parts,
            "total_count": len(parts),
        },
    }


def _part(part_id: str, part_type: str, author: str, body: str | None, at: int) -> dict[str, Any]:
    return {
        "type": "conversation_part",
        "id": part_id,
        "part_type": part_type,
        "body": f"<p>{body}</p>" if body else None,
        "created_at": at,
        "updated_at": at,
        "notified_at": at,
        "assigned_to": None,
        "author": {
            "type": author,
            "id": f"{author}_1",
            "name": author.title(),
            "email": f"{author}@acme.example",
        },
        "attachments": [],
        "external_id": None,
        "redacted": False,
    }


def _pick(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    for step, weight, texts in TOPICS:
        if roll < weight:
            return step, rng.choice(texts)
        roll -= weight
    step, _, texts = TOPICS[0]
    return step, rng.choice(texts)


def _stripe_id(prefix: str, rng: random.Random) -> str:
    return (
        prefix
        + "_"
        + "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789")
            for _ in range(24)
        )
    )


def stripe_event(
    kind: str, obj: dict[str, Any], created: int, rng: random.Random
) -> dict[str, Any]:
    return {
        "id": _stripe_id("evt", rng),
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def _stripe_objects(created: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    customer = f"cus_{rng.randrange(1, 400):04d}"
    roll = rng.random()
    if roll < 0.4:
        return "invoice.payment_failed", {
            "id": _stripe_id("in", rng),
            "object": "invoice",
            "customer": customer,
            "amount_due": rng.choice([2900, 9900, 29900]),
            "currency": "usd",
            "attempt_count": rng.randrange(1, 4),
            "attempted": True,
            "paid": False,
            "status": "open",
            "billing_reason": "subscription_cycle",
            "last_finalization_error": {
                "type": "card_error",
                "message": rng.choice(
                    ["Your card was declined.", "Your card has insufficient funds."]
                ),
            },
            "created": created,
        }
    if roll < 0.65:
        return "customer.subscription.deleted", {
            "id": _stripe_id("sub", rng),
            "object": "subscription",
            "customer": customer,
            "status": "canceled",
            "canceled_at": created,
            "cancellation_details": {
                "reason": "cancellation_requested",
                "feedback": rng.choice(
                    ["too_expensive", "missing_features", "too_complex", "switched_service"]
                ),
                "comment": None,
            },
            "created": created - 86400 * 60,
        }
    if roll < 0.8:
        return "refund.created", {
            "id": _stripe_id("re", rng),
            "object": "refund",
            "amount": rng.choice([2900, 9900]),
            "currency": "usd",
            "charge": _stripe_id("ch", rng),
            "reason": rng.choice(["requested_by_customer", "duplicate", None]),
            "status": "succeeded",
            "customer": customer,
            "created": created,
        }
    return "customer.subscription.updated", {
        "id": _stripe_id("sub", rng),
        "object": "subscription",
        "customer": customer,
        "status": "active",
        "cancel_at_period_end": rng.random() < 0.5,
        "cancel_at": created + 86400 * 20,
        "cancellation_details": {
            "reason": None,
            "feedback": rng.choice([None, "too_expensive"]),
            "comment": None,
        },
        "created": created - 86400 * 30,
    }


def generate(
    *,
    seed: int = 7,
    conversations: int = 300,
    stripe_events: int = 200,
    posthog_events: int = 3000,
    malformed: int = 0,
    funnel_customers: int = 0,
    now: datetime | None = None,
) -> SandboxData:
    """Make the sandbox's data; the same seed and sizes give the same data."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    data = SandboxData(now=now)
    start = int((now - timedelta(days=14)).timestamp())
    span = int(now.timestamp()) - start - 3600
    for number in range(1, conversations + 1):
        _, text = _pick(rng)
        created = start + rng.randrange(span)
        updated = created + rng.randrange(60, 3600)
        data.conversations[str(number)] = _conversation(number, text, created, updated, rng)

    events: list[dict[str, Any]] = []
    event_start = int((now - timedelta(days=25)).timestamp())
    for _ in range(stripe_events):
        created = event_start + rng.randrange(int(now.timestamp()) - event_start - 60)
        kind, obj = _stripe_objects(created, rng)
        events.append(stripe_event(kind, obj, created, rng))
    # Older history, before the 30 days events reach back: only the list endpoints have it.
    old: dict[str, list[dict[str, Any]]] = {"subscriptions": [], "invoices": [], "refunds": []}
    for _ in range(max(3, stripe_events // 20)):
        created = int((now - timedelta(days=rng.randrange(35, 80))).timestamp())
        kind, obj = _stripe_objects(created, rng)
        if kind == "customer.subscription.deleted":
            old["subscriptions"].append({**obj, "created": created})
        elif kind == "invoice.payment_failed":
            old["invoices"].append(obj)
        elif kind == "refund.created":
            old["refunds"].append(obj)
    data.stripe = {"events": events, **old}

    ph_start = int((now - timedelta(days=3)).timestamp())
    ph_span = int(now.timestamp()) - ph_start
    for _ in range(posthog_events):
        at = datetime.fromtimestamp(ph_start + rng.randrange(ph_span) + rng.random(), UTC)
        user = f"user_{rng.randrange(1, 600):04d}"
        if rng.random() < 0.6:
            event, path = rng.choice(NOISE_EVENTS)
        else:
            roll, chosen = rng.random(), FRICTION_EVENTS[0]
            for candidate in FRICTION_EVENTS:
                if roll < candidate[2]:
                    chosen = candidate
                    break
                roll -= candidate[2]
            event, path = chosen[0], chosen[1]
        data.posthog_events.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128))),
                event,
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                user,
                path,
                None,
            )
        )

    for index in range(malformed):
        _add_malformed(data, index, rng)
    _add_funnel(data, funnel_customers, random.Random(seed * 7919 + 1))
    return data


# A trial-to-paid path and the share who take each next step: most trials stall at the
# integration, as the demo journey's insight says.
FUNNEL_PATH = [
    ("trial_started", 1.0, (0, 0)),
    ("email_verified", 0.85, (600, 3600)),
    ("integration_connected", 0.35, (2 * 3600, 30 * 3600)),
    ("report_built", 0.75, (3600, 20 * 3600)),
    ("subscription_started", 0.45, (2 * 3600, 20 * 3600)),
]


def _add_funnel(data: SandboxData, customers: int, rng: random.Random) -> None:
    """Trial customers walking the path, all done before the start of ``data.now``'s day."""
    today = datetime.combine(data.now.date(), datetime.min.time(), UTC)
    for number in range(customers):
        user = f"trial_{number:04d}"
        at = today - timedelta(days=rng.randrange(4, 25), seconds=rng.randrange(86400))
        for event, share, (low, high) in FUNNEL_PATH:
            if rng.random() >= share:
                break
            at += timedelta(seconds=rng.randrange(low, high + 1))
            data.posthog_events.append(
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    event,
                    at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    user,
                    "/onboarding",
                    None,
                )
            )


def _add_malformed(data: SandboxData, index: int, rng: random.Random) -> None:
    """Records each source sometimes really sends: missing fields, wrong types, oversize bodies."""
    number = 900_000 + index
    base = int((data.now - timedelta(days=2)).timestamp())
    kind = index % 3
    if kind == 0:
        conversation = _conversation(number, "Malformed timestamps", base, base + 10, rng)
        conversation["created_at"] = "yesterday"
    elif kind == 1:
        conversation = _conversation(number, "x" * 30_000, base, base + 10, rng)
    else:
        conversation = _conversation(number, "", base, base + 10, rng)
        conversation["conversation_parts"]["conversation_parts"] = [
            p
            for p in conversation["conversation_parts"]["conversation_parts"]
            if p["author"]["type"] != "user"
        ]
    data.conversations[str(number)] = conversation

    created = base + index
    if kind == 0:
        data.stripe["events"].append(
            stripe_event("radar.early_fraud_warning.created", {"id": "issfr_x"}, created, rng)
        )
    elif kind == 1:
        data.stripe["events"].append(
            stripe_event("invoice.payment_failed", {"object": "invoice"}, created, rng)
        )
    else:
        event = stripe_event("refund.created", {"id": "re_bad", "amount": "lots"}, created, rng)
        event["created"] = str(created)
        data.stripe["events"].append(event)

    at = (data.now - timedelta(hours=30, minutes=index)).strftime("%Y-%m-%d %H:%M:%S.%f")
    row_id = str(uuid.UUID(int=rng.getrandbits(128)))
    data.posthog_events.append(
        (row_id, "api_key_error", at, "user_bad", "/integrations/connect", None)
    )
    data.broken_rows[row_id] = (
        {2: "not-a-timestamp"} if kind == 0 else {1: None} if kind == 1 else {1: 123}
    )
