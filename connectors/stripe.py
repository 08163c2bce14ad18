"""Stripe: billing events that say something about customers, through the official client."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import stripe

from connectors.base import KnownVersions, Page, SignalRecord, SkippedItem
from connectors.errors import AuthError, MalformedRecord, RequestError, RetryableError
from connectors.http import RetryPolicy, parse_retry_after

SOURCE = "stripe"
EVENTS = "events"
BACKFILL = "backfill"
# Stripe keeps events for 30 days; older history comes from the list endpoints.
EVENT_RETENTION = timedelta(days=30)
T = TypeVar("T")


def _money(amount: Any, currency: Any) -> str:
    if not isinstance(amount, int):
        return "an unknown amount"
    code = str(currency or "").upper()
    return f"{amount / 100:,.2f} {code}".strip()


def _customer(obj: dict[str, Any]) -> str:
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return str(customer) if customer else "an unknown customer"


def _require(obj: Any, *fields: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise MalformedRecord("data.object must be an object")
    for name in fields:
        if obj.get(name) in (None, ""):
            raise MalformedRecord(f"data.object.{name} is missing")
    return obj


def payment_failed(invoice: dict[str, Any]) -> tuple[str, str, str]:
    invoice = _require(invoice, "id")
    error = invoice.get("last_finalization_error") or {}
    reason = (
        (error.get("message") if isinstance(error, dict) else None)
        or invoice.get("billing_reason")
        or "no reason given"
    )
    attempts = invoice.get("attempt_count") or 0
    text = (
        f"Payment failed for {_customer(invoice)} on invoice {invoice['id']} "
        f"({_money(invoice.get('amount_due'), invoice.get('currency'))}), attempt {attempts}: {reason}"
    )
    return f"{invoice['id']}:payment_failed", text, str(attempts)


def subscription_canceled(subscription: dict[str, Any]) -> tuple[str, str, str]:
    subscription = _require(subscription, "id")
    details = subscription.get("cancellation_details") or {}
    why = ", ".join(
        f"{k} {details[k]}"
        for k in ("reason", "feedback", "comment")
        if isinstance(details, dict) and details.get(k)
    )
    text = f"Subscription {subscription['id']} of {_customer(subscription)} canceled" + (
        f": {why}" if why else ""
    )
    return f"{subscription['id']}:canceled", text, str(subscription.get("canceled_at") or "")


def cancellation_scheduled(subscription: dict[str, Any]) -> tuple[str, str, str] | None:
    subscription = _require(subscription, "id")
    if not subscription.get("cancel_at_period_end"):
        return None
    details = subscription.get("cancellation_details") or {}
    feedback = details.get("feedback") if isinstance(details, dict) else None
    text = (
        f"{_customer(subscription)} scheduled subscription {subscription['id']} to cancel at period end"
        + (f" (feedback: {feedback})" if feedback else "")
    )
    return f"{subscription['id']}:cancel_scheduled", text, str(subscription.get("cancel_at") or "")


def refunded(refund: dict[str, Any]) -> tuple[str, str, str]:
    refund = _require(refund, "id")
    text = (
        f"Refund {refund['id']} of {_money(refund.get('amount'), refund.get('currency'))} on charge "
        f"{refund.get('charge') or 'unknown'}: {refund.get('reason') or 'no reason given'}"
    )
    return f"{refund['id']}:refund", text, str(refund.get("status") or "")


def charge_refunded(charge: dict[str, Any]) -> tuple[str, str, str]:
    charge = _require(charge, "id")
    text = (
        f"Charge {charge['id']} of {_customer(charge)} refunded "
        f"{_money(charge.get('amount_refunded'), charge.get('currency'))}"
    )
    return f"{charge['id']}:refund", text, str(charge.get("amount_refunded") or "")


def disputed(dispute: dict[str, Any]) -> tuple[str, str, str]:
    dispute = _require(dispute, "id")
    text = (
        f"Dispute {dispute['id']} opened on charge {dispute.get('charge') or 'unknown'} "
        f"({_money(dispute.get('amount'), dispute.get('currency'))}): {dispute.get('reason') or 'no reason given'}"
    )
    return f"{dispute['id']}:dispute", text, str(dispute.get("status") or "")


def trial_ending(subscription: dict[str, Any]) -> tuple[str, str, str]:
    subscription = _require(subscription, "id")
    text = f"Trial of {_customer(subscription)} on subscription {subscription['id']} ends soon"
    return f"{subscription['id']}:trial_ending", text, str(subscription.get("trial_end") or "")


# Event types that become signals; the key makes an event and a backfilled object one signal.
EVENT_SIGNALS: dict[str, Callable[[dict[str, Any]], tuple[str, str, str] | None]] = {
    "invoice.payment_failed": payment_failed,
    "customer.subscription.deleted": subscription_canceled,
    "customer.subscription.updated": cancellation_scheduled,
    "customer.subscription.trial_will_end": trial_ending,
    "charge.refunded": charge_refunded,
    "refund.created": refunded,
    "charge.dispute.created": disputed,
}


def _sequence(created: int, obj: Any) -> int:
    """Order versions of one fact: by time, then by attempt (two events can share a second)."""
    attempts = obj.get("attempt_count") if isinstance(obj, dict) else None
    return created * 100 + (min(attempts, 99) if isinstance(attempts, int) else 0)


def event_signal(event: dict[str, Any]) -> SignalRecord | None:
    """Turn a Stripe event into a signal; None when the event says nothing about a customer."""
    if not isinstance(event.get("id"), str) or not isinstance(event.get("created"), int):
        raise MalformedRecord("event needs a string id and an integer created")
    kind = event.get("type")
    if not isinstance(kind, str):
        raise MalformedRecord("event has no type")
    mapper = EVENT_SIGNALS.get(kind)
    if mapper is None:
        raise MalformedRecord(f"event type {kind} is not one journeyops turns into signals")
    obj = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
    made = mapper(obj)  # type: ignore[arg-type]
    if made is None:
        return None
    key, text, version = made
    return SignalRecord(
        external_id=key,
        occurred_at=datetime.fromtimestamp(event["created"], UTC),
        text=text,
        customer_ref=_customer(obj) if isinstance(obj, dict) else None,
        version=f"{event['id']}:{version}",
        sequence=_sequence(event["created"], obj),
        payload={"event_id": event["id"], "type": kind, "object": obj},
    )


def object_signal(kind: str, obj: dict[str, Any]) -> SignalRecord | None:
    """Turn an object from a backfill list into the same signal its event would give."""
    mapper: Callable[[dict[str, Any]], tuple[str, str, str] | None]
    if kind == "subscriptions":
        mapper = subscription_canceled
    elif kind == "invoices":
        if (
            not obj.get("attempted")
            or obj.get("paid")
            or obj.get("status") not in ("open", "uncollectible")
        ):
            return None
        mapper = payment_failed
    else:
        mapper = refunded
    made = mapper(obj)
    if made is None:
        return None
    key, text, version = made
    created = obj.get("created")
    if not isinstance(created, int):
        raise MalformedRecord("created must be epoch seconds")
    return SignalRecord(
        external_id=key,
        occurred_at=datetime.fromtimestamp(created, UTC),
        text=text,
        customer_ref=_customer(obj),
        version=f"backfill:{version}",
        sequence=_sequence(created, obj),
        payload={"type": f"backfill.{kind}", "object": obj},
    )


class StripeClientWrapper:
    """The official ``StripeClient`` for one workspace, with journeyops' errors and retries."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base_url.rstrip("/")},
            max_network_retries=0,  # retries are ours, so Retry-After is honoured
            http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
        )

    def close(self) -> None:
        return None

    def _call(self, call: Callable[[], T]) -> T:
        def attempt() -> T:
            try:
                return call()
            except (stripe.AuthenticationError, stripe.PermissionError) as error:
                raise AuthError(
                    SOURCE,
                    f"credentials refused: {error.user_message or error}",
                    status=error.http_status,
                ) from error
            except stripe.RateLimitError as error:
                raise RetryableError(
                    SOURCE,
                    f"rate limited: {error.user_message or error}",
                    status=429,
                    retry_after=parse_retry_after((error.headers or {}).get("Retry-After")),
                ) from error
            except stripe.APIConnectionError as error:
                raise RetryableError(SOURCE, f"network error: {error}") from error
            except stripe.InvalidRequestError as error:
                raise RequestError(
                    SOURCE,
                    f"{error.http_status}: {error.user_message or error}",
                    status=error.http_status,
                ) from error
            except stripe.StripeError as error:
                status = error.http_status or 500
                if status >= 500 or status == 429:
                    raise RetryableError(
                        SOURCE,
                        f"{status}: {error.user_message or error}",
                        status=status,
                        retry_after=parse_retry_after((error.headers or {}).get("Retry-After")),
                    ) from error
                raise RequestError(
                    SOURCE, f"{status}: {error.user_message or error}", status=status
                ) from error

        return self.retry.run(attempt)

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        # The raw JSON, not StripeObjects: pages become signals and are never kept as objects.
        response = self._call(lambda: self.client.raw_request("get", path, **params))
        body = json.loads(response.body)
        if not isinstance(body, dict):
            raise RetryableError(SOURCE, f"{path} answered with something other than an object")
        return body

    def list_events(
        self, created_gte: int, *, limit: int, starting_after: str | None
    ) -> dict[str, Any]:
        """Return one page of events created at or after ``created_gte``, newest first.

        Raises:
            AuthError, RequestError, RetryableError.
        """
        params: dict[str, Any] = {"created": {"gte": created_gte}, "limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        return self._get("/v1/events", params)

    def list_events_of_type(
        self,
        event_type: str,
        created_gte: int,
        created_lt: int,
        *,
        limit: int,
        starting_after: str | None,
    ) -> dict[str, Any]:
        """Return one page of ``event_type`` events created in ``[created_gte, created_lt)``,
        newest first.

        Raises:
            AuthError, RequestError, RetryableError.
        """
        params: dict[str, Any] = {
            "type": event_type,
            "created": {"gte": created_gte, "lt": created_lt},
            "limit": limit,
        }
        if starting_after:
            params["starting_after"] = starting_after
        return self._get("/v1/events", params)

    def list_objects(
        self, kind: str, created_gte: int, *, limit: int, starting_after: str | None
    ) -> dict[str, Any]:
        """Return one page of canceled subscriptions, open invoices or refunds (the backfill)."""
        params: dict[str, Any] = {"created": {"gte": created_gte}, "limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        if kind == "subscriptions":
            params["status"] = "canceled"
        elif kind == "invoices":
            params["status"] = "open"
        return self._get(f"/v1/{kind}", params)


BACKFILL_KINDS = ["subscriptions", "invoices", "refunds"]


class StripeSource:
    """Billing events since the last pull; the first pull also backfills older history."""

    name = SOURCE

    def __init__(
        self,
        client: StripeClientWrapper,
        *,
        page_size: int = 100,
        backfill_days: int = 90,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.page_size = page_size
        self.backfill_days = backfill_days
        self.now = now

    def close(self) -> None:
        self.client.close()

    def pages(self, cursors: dict[str, dict[str, Any]], known: KnownVersions) -> Iterator[Page]:
        events = cursors.get(EVENTS)
        if events is None:
            yield from self._backfill(cursors.get(BACKFILL, {}))
            events = {"created_gte": int((self.now() - EVENT_RETENTION).timestamp())}
        yield from self._events(events)

    def _backfill(self, cursor: dict[str, Any]) -> Iterator[Page]:
        since = int(
            cursor.get("since") or (self.now() - timedelta(days=self.backfill_days)).timestamp()
        )
        kind = cursor.get("kind", BACKFILL_KINDS[0])
        starting_after = cursor.get("starting_after")
        while kind in BACKFILL_KINDS:
            listing = self.client.list_objects(
                kind, since, limit=self.page_size, starting_after=starting_after
            )
            data = listing.get("data") or []
            page = Page(stream=BACKFILL, cursor={}, seen=len(data))
            convert = functools.partial(object_signal, kind)
            for obj in data:
                self._take(page, obj, convert)
            if listing.get("has_more") and data:
                starting_after = data[-1].get("id")
            else:
                kind = (
                    BACKFILL_KINDS[BACKFILL_KINDS.index(kind) + 1]
                    if kind != BACKFILL_KINDS[-1]
                    else "done"
                )
                starting_after = None
            page.cursor = {"since": since, "kind": kind, "starting_after": starting_after}
            yield page

    def _events(self, cursor: dict[str, Any]) -> Iterator[Page]:
        created_gte = int(cursor["created_gte"])
        starting_after = cursor.get("starting_after")
        max_created = int(cursor.get("max_created", created_gte))
        while True:
            listing = self.client.list_events(
                created_gte, limit=self.page_size, starting_after=starting_after
            )
            data = listing.get("data") or []
            page = Page(stream=EVENTS, cursor={}, seen=len(data))
            for event in data:
                if isinstance(event, dict) and isinstance(event.get("created"), int):
                    max_created = max(max_created, event["created"])
                self._take(page, event, event_signal)
            if listing.get("has_more") and data:
                starting_after = data[-1].get("id")
                page.cursor = {
                    "created_gte": created_gte,
                    "starting_after": starting_after,
                    "max_created": max_created,
                }
                yield page
                continue
            page.cursor = {
                "created_gte": max_created,
                "starting_after": None,
                "max_created": max_created,
            }
            yield page
            return

    @staticmethod
    def _take(
        page: Page, raw: Any, convert: Callable[[dict[str, Any]], SignalRecord | None]
    ) -> None:
        external = raw.get("id") if isinstance(raw, dict) else None
        try:
            if not isinstance(raw, dict):
                raise MalformedRecord("record is not an object")
            record = convert(raw)
        except MalformedRecord as error:
            page.skipped.append(
                SkippedItem.of(external if isinstance(external, str) else None, error.reason, raw)
            )
            return
        if record is None:
            page.ignored += 1
        else:
            page.records.append(record)
