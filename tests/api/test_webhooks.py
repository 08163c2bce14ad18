"""Webhooks: each provider's signature (valid, wrong, stale, missing), storing once, draining."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from connectors import webhooks as protocol
from model.db import session_scope
from model.schemas import MemberSpec, WorkspaceSpec
from model.services import webhooks, workspaces
from model.settings import reset_settings
from model.tables import Signal, WebhookDelivery, WebhookSecret

SECRET = "whsec_test_secret"
INVOICE_EVENT = {
    "id": "evt_1",
    "object": "event",
    "type": "invoice.payment_failed",
    "created": 1_790_000_000,
    "data": {
        "object": {
            "id": "in_1",
            "object": "invoice",
            "customer": "cus_1",
            "amount_due": 900,
            "currency": "usd",
            "attempt_count": 1,
        }
    },
}


@pytest.fixture
def client(committed_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    for provider in ("stripe", "intercom", "linear", "jira", "posthog"):
        monkeypatch.setenv(f"JOURNEYOPS_WEBHOOKS__{provider.upper()}_SECRET", SECRET)
    reset_settings()
    with session_scope() as session:
        workspaces.create_workspace(session, WorkspaceSpec(name="Acme", slug="acme"))
    with TestClient(create_app(committed_db)) as test_client:
        yield test_client
    reset_settings()


def body_of(payload: dict[str, Any]) -> bytes:
    """The payload as sent now: Linear's delivery timestamp is the moment of sending."""
    if payload.get("webhookTimestamp") == "now":
        payload = {**payload, "webhookTimestamp": int(time.time() * 1000)}
    return json.dumps(payload).encode()


def signed(
    provider: str, body: bytes, *, now: float | None = None, secret: str = SECRET
) -> dict[str, str]:
    now = now or time.time()
    if provider == "stripe":
        return {"Stripe-Signature": protocol.sign_stripe(body, secret, int(now))}
    if provider == "intercom":
        return {"X-Hub-Signature": protocol.sign_intercom(body, secret)}
    if provider == "linear":
        return {"Linear-Signature": protocol.sign_linear(body, secret), "Linear-Delivery": "d-1"}
    if provider == "jira":
        return {
            "X-Hub-Signature": protocol.sign_jira(body, secret),
            "X-Atlassian-Webhook-Identifier": "j-1",
        }
    return {"X-Journeyops-Secret": secret}


PAYLOADS: dict[str, dict[str, Any]] = {
    "stripe": INVOICE_EVENT,
    "intercom": {
        "type": "notification_event",
        "id": "notif_1",
        "topic": "conversation.user.replied",
        "data": {"item": {}},
    },
    "linear": {"type": "Issue", "action": "update", "webhookTimestamp": "now"},
    "jira": {"webhookEvent": "jira:issue_updated"},
    "posthog": {"event": {"uuid": "0190-u", "event": "api_key_error", "distinct_id": "u1"}},
}


def deliveries() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0


class TestSignatures:
    @pytest.mark.parametrize("provider", sorted(PAYLOADS))
    def test_a_valid_signature_is_stored(self, client: TestClient, provider: str) -> None:
        body = body_of(PAYLOADS[provider])
        response = client.post(
            f"/webhooks/{provider}/acme", content=body, headers=signed(provider, body)
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "stored"
        assert deliveries() == 1

    @pytest.mark.parametrize("provider", sorted(PAYLOADS))
    def test_a_wrong_or_missing_signature_is_401_and_not_stored(
        self, client: TestClient, provider: str
    ) -> None:
        body = body_of(PAYLOADS[provider])
        wrong = signed(provider, body, secret="whsec_someone_else")
        assert (
            client.post(f"/webhooks/{provider}/acme", content=body, headers=wrong).status_code
            == 401
        )
        assert client.post(f"/webhooks/{provider}/acme", content=body).status_code == 401
        assert deliveries() == 0

    def test_stale_stripe_and_linear_deliveries_are_401(self, client: TestClient) -> None:
        body = body_of(INVOICE_EVENT)
        old = signed("stripe", body, now=time.time() - 3600)
        assert client.post("/webhooks/stripe/acme", content=body, headers=old).status_code == 401
        linear = body_of(
            {**PAYLOADS["linear"], "webhookTimestamp": int((time.time() - 3600) * 1000)}
        )
        response = client.post(
            "/webhooks/linear/acme", content=linear, headers=signed("linear", linear)
        )
        assert response.status_code == 401
        assert "older than" in response.json()["detail"]

    def test_our_stripe_signing_matches_stripes_own_library(self) -> None:
        body = body_of(INVOICE_EVENT)
        header = protocol.sign_stripe(body, SECRET, int(time.time()))
        assert stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, tolerance=300)


class TestStoringOnce:
    def test_a_redelivery_is_stored_once(self, client: TestClient) -> None:
        body = body_of(INVOICE_EVENT)
        first = client.post("/webhooks/stripe/acme", content=body, headers=signed("stripe", body))
        again = client.post("/webhooks/stripe/acme", content=body, headers=signed("stripe", body))
        assert (first.json()["status"], again.json()["status"]) == ("stored", "duplicate")
        assert deliveries() == 1

    def test_a_concurrent_burst_is_answered_one_by_one_and_stored_once(
        self, client: TestClient, committed_db: str
    ) -> None:
        """Deliveries arriving together are verified and stored together; each still gets its
        own answer, and a redelivery racing its original is stored once."""
        events = [{**INVOICE_EVENT, "id": f"evt_{n}"} for n in range(30)]
        bodies = [body_of(event) for event in events]
        sends = [("acme", body, signed("stripe", body)) for body in bodies]
        sends += [("acme", body, signed("stripe", body)) for body in bodies[:10]]  # redelivered
        sends.append(("acme", bodies[0], signed("stripe", bodies[0], secret="whsec_wrong")))
        sends.append(("nope", bodies[1], signed("stripe", bodies[1])))
        sends.append(("acme", b"[1]", signed("stripe", b"[1]")))

        async def burst() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=create_app(committed_db))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                return await asyncio.gather(
                    *(
                        http.post(f"/webhooks/stripe/{ws}", content=body, headers=headers)
                        for ws, body, headers in sends
                    )
                )

        answers = asyncio.run(burst())
        assert [a.status_code for a in answers[-3:]] == [401, 404, 400]
        assert all(a.status_code == 200 for a in answers[:-3])
        stored = Counter(
            a.json()["delivery"] for a in answers[:-3] if a.json()["status"] == "stored"
        )
        assert stored == Counter(event["id"] for event in events)
        assert deliveries() == 30

    def test_a_malformed_event_type_is_stored_as_text(self, client: TestClient) -> None:
        body = body_of({**INVOICE_EVENT, "type": {"not": "a string"}})
        answer = client.post("/webhooks/stripe/acme", content=body, headers=signed("stripe", body))
        assert answer.json()["status"] == "stored"
        with session_scope() as session:
            stored = session.scalars(select(WebhookDelivery)).one()
            assert stored.event_type == "{'not': 'a string'}"

    def test_unknown_workspace_is_404(self, client: TestClient) -> None:
        body = body_of(INVOICE_EVENT)
        assert (
            client.post(
                "/webhooks/stripe/nope", content=body, headers=signed("stripe", body)
            ).status_code
            == 404
        )


def owner_token(workspace: str) -> str:
    with session_scope() as session:
        ws = workspaces.ensure_workspace(session, workspace, workspace.title())
        member = workspaces.ensure_member(
            session, ws, MemberSpec(email=f"owner@{workspace}.example", name="O", role="owner")
        )
        return workspaces.create_token(session, member, "tests").secret


class TestWorkspaceSecrets:
    OWN = "whsec_acme_own_secret_0123456789"

    @pytest.fixture
    def keyed(self, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
        monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "a long random key for tests")
        reset_settings()
        return {"acme": owner_token("acme"), "globex": owner_token("globex")}

    def put(self, client: TestClient, token: str, provider: str, secret: str | None) -> Any:
        return client.put(
            f"/webhook-secrets/{provider}",
            json={} if secret is None else {"secret": secret},
            headers={"Authorization": f"Bearer {token}"},
        )

    def test_a_workspace_secret_replaces_the_service_one_for_that_workspace_only(
        self, client: TestClient, keyed: dict[str, str]
    ) -> None:
        answer = self.put(client, keyed["acme"], "stripe", self.OWN)
        assert answer.status_code == 200, answer.text
        assert answer.json()["endpoint"] == "/webhooks/stripe/acme"
        body = body_of(INVOICE_EVENT)
        own = signed("stripe", body, secret=self.OWN)
        service = signed("stripe", body)
        assert client.post("/webhooks/stripe/acme", content=body, headers=own).status_code == 200
        assert (
            client.post("/webhooks/stripe/acme", content=body, headers=service).status_code == 401
        )
        # Another workspace still checks the service-wide secret, never acme's.
        assert client.post("/webhooks/stripe/globex", content=body, headers=own).status_code == 401
        assert (
            client.post("/webhooks/stripe/globex", content=body, headers=service).status_code == 200
        )

    def test_stored_encrypted_listed_without_values_and_removable(
        self, client: TestClient, keyed: dict[str, str]
    ) -> None:
        self.put(client, keyed["acme"], "stripe", self.OWN)
        with session_scope() as session:
            [row] = session.scalars(select(WebhookSecret)).all()
            assert self.OWN not in row.encrypted
        listed = client.get(
            "/webhook-secrets", headers={"Authorization": f"Bearer {keyed['acme']}"}
        )
        assert [(s["provider"], s["hint"]) for s in listed.json()] == [("stripe", "whsec_...")]
        assert self.OWN not in listed.text
        assert (
            client.get(
                "/webhook-secrets", headers={"Authorization": f"Bearer {keyed['globex']}"}
            ).json()
            == []
        )
        removed = client.delete(
            "/webhook-secrets/stripe", headers={"Authorization": f"Bearer {keyed['acme']}"}
        )
        assert removed.status_code == 204
        body = body_of(INVOICE_EVENT)
        assert (
            client.post(
                "/webhooks/stripe/acme", content=body, headers=signed("stripe", body)
            ).status_code
            == 200
        )

    def test_a_generated_posthog_secret_is_shown_once_and_checked(
        self, client: TestClient, keyed: dict[str, str]
    ) -> None:
        issued = self.put(client, keyed["acme"], "posthog", None).json()
        body = body_of(PAYLOADS["posthog"])
        mine = {"X-Journeyops-Secret": issued["secret"]}
        assert client.post("/webhooks/posthog/acme", content=body, headers=mine).status_code == 200
        wrong = {"X-Journeyops-Secret": SECRET}
        assert client.post("/webhooks/posthog/acme", content=body, headers=wrong).status_code == 401

    def test_a_changed_encryption_key_refuses_deliveries_rather_than_guess(
        self, client: TestClient, keyed: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.put(client, keyed["acme"], "stripe", self.OWN)
        monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "another key altogether")
        reset_settings()
        body = body_of(INVOICE_EVENT)
        for secret in (self.OWN, SECRET):
            headers = signed("stripe", body, secret=secret)
            assert (
                client.post("/webhooks/stripe/acme", content=body, headers=headers).status_code
                == 401
            )

    def test_errors_name_what_to_fix(
        self, client: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        token = owner_token("acme")
        answer = self.put(client, token, "stripe", self.OWN)
        assert answer.status_code == 422
        assert "JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY" in answer.json()["detail"]
        monkeypatch.setenv("JOURNEYOPS_WEBHOOKS__ENCRYPTION_KEY", "a long random key for tests")
        reset_settings()
        short = self.put(client, token, "stripe", "short")
        assert short.status_code == 422
        assert "secret" in short.json()["detail"]
        with session_scope() as session:
            ws = workspaces.get_workspace(session, "acme")
            editor = workspaces.ensure_member(
                session, ws, MemberSpec(email="ed@acme.example", name="E", role="editor")
            )
            editor_token = workspaces.create_token(session, editor, "t").secret
        assert self.put(client, editor_token, "stripe", self.OWN).status_code == 403

    def test_no_secret_anywhere_is_401_saying_how_to_set_one(
        self, client: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("JOURNEYOPS_WEBHOOKS__JIRA_SECRET")
        reset_settings()
        body = body_of(PAYLOADS["jira"])
        answer = client.post("/webhooks/jira/acme", content=body, headers=signed("jira", body))
        assert answer.status_code == 401
        assert "journeyops webhook secret jira" in answer.json()["detail"]


class TestDrain:
    def test_deliveries_become_signals_exactly_once(self, client: TestClient) -> None:
        for payload in (
            INVOICE_EVENT,
            PAYLOADS["posthog"],
            {"id": "evt_bad", "type": "radar.x", "created": 1},
        ):
            body = body_of(payload)
            provider = "posthog" if "event" in payload else "stripe"
            client.post(f"/webhooks/{provider}/acme", content=body, headers=signed(provider, body))
        with session_scope() as session:
            report = webhooks.drain(session)
        assert (report.processed, report.signals, report.failed) == (2, 2, 1)
        with session_scope() as session:
            again = webhooks.drain(session)
            assert again.processed == 0
            assert session.scalar(select(func.count()).select_from(Signal)) == 2
            failed = session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.status == "failed")
            ).one()
            assert "radar.x is not one journeyops turns into signals" in (failed.error or "")

    def test_a_tracker_delivery_without_its_issue_fails_with_the_reason(
        self, client: TestClient
    ) -> None:
        body = body_of(PAYLOADS["jira"])
        client.post("/webhooks/jira/acme", content=body, headers=signed("jira", body))
        with session_scope() as session:
            assert webhooks.drain(session).failed == 1
            delivery = session.scalars(select(WebhookDelivery)).one()
            assert delivery.status == "failed"
            assert "needs issue.id" in (delivery.error or "")
