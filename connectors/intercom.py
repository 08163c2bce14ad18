"""Intercom: conversations updated since the last pull, with the customer's own words."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import KnownVersions, Page, SignalRecord, SkippedItem
from connectors.errors import MalformedRecord
from connectors.http import JsonHttpClient, RetryPolicy

SOURCE = "intercom"
STREAM = "conversations"
# Conversations updated in the same second as the last one seen are read again, never missed.
OVERLAP_SECONDS = 60
CUSTOMER_AUTHORS = {"user", "lead", "contact"}
MESSAGE_PARTS = {"comment", "open", "conversation"}


def _describe(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return (
            "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or response.text[:200]
        )
    except ValueError:
        return response.text[:200]


def plain_text(body: str | None) -> str:
    """Return a part's body without HTML tags and entities."""
    if not body:
        return ""
    text = re.sub(r"<br\s*/?>|</p>", "\n", body, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[ \t]+", " ", html.unescape(text)).strip()


def is_customer_turn(part: dict[str, Any]) -> bool:
    """Whether a part is something the customer wrote (not a bot, a macro, a note or an admin)."""
    author = part.get("author") or {}
    if author.get("from_ai_agent") or author.get("is_ai_answer"):
        return False
    return (
        author.get("type") in CUSTOMER_AUTHORS and part.get("part_type", "comment") in MESSAGE_PARTS
    )


class IntercomClient:
    """Intercom REST API, version pinned by the ``Intercom-Version`` header."""

    def __init__(
        self,
        access_token: str,
        base_url: str,
        *,
        version: str = "2.14",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = JsonHttpClient(
            SOURCE,
            base_url,
            {"Authorization": f"Bearer {access_token}", "Intercom-Version": version},
            timeout=timeout,
            retry=retry or RetryPolicy(),
            describe_error=_describe,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def search_conversations(
        self, updated_after: int, *, per_page: int, starting_after: str | None
    ) -> dict[str, Any]:
        """Return one page of conversations updated after ``updated_after`` (epoch seconds).

        Args:
            updated_after: lower bound on ``updated_at``, exclusive.
            per_page: page size, at most 150.
            starting_after: the cursor from the previous page's ``pages.next``.

        Raises:
            AuthError, RequestError, RetryableError.
        """
        pagination: dict[str, Any] = {"per_page": per_page}
        if starting_after:
            pagination["starting_after"] = starting_after
        body = {
            "query": {"field": "updated_at", "operator": ">", "value": str(updated_after)},
            "pagination": pagination,
        }
        return self.http.request("POST", "/conversations/search", json=body)

    def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        """Return a conversation with its parts, bodies in plain text."""
        return self.http.request(
            "GET", f"/conversations/{conversation_id}", params={"display_as": "plaintext"}
        )


def conversation_signal(conversation: dict[str, Any], *, max_chars: int) -> SignalRecord:
    """Turn a conversation (with parts) into a signal of the customer's words."""
    conversation_id = conversation.get("id")
    updated_at = conversation.get("updated_at")
    created_at = conversation.get("created_at")
    if not isinstance(conversation_id, str | int) or not str(conversation_id):
        raise MalformedRecord("conversation has no id")
    if not isinstance(updated_at, int) or not isinstance(created_at, int):
        raise MalformedRecord("created_at and updated_at must be epoch seconds")
    source = conversation.get("source") or {}
    if not isinstance(source, dict):
        raise MalformedRecord("source must be an object")
    parts_list = (conversation.get("conversation_parts") or {}).get("conversation_parts") or []
    if not isinstance(parts_list, list):
        raise MalformedRecord("conversation_parts.conversation_parts must be a list")
    turns = []
    opening = {**source, "part_type": "conversation"}
    for part in [opening, *parts_list]:
        if not isinstance(part, dict):
            raise MalformedRecord("a conversation part is not an object")
        if is_customer_turn(part):
            text = plain_text(part.get("body"))
            if text:
                turns.append(text)
    if not turns:
        raise MalformedRecord("no customer text: only bot, admin or empty turns")
    text = "\n".join(turns)
    if len(text) > max_chars:
        raise MalformedRecord(f"customer text is {len(text)} characters, over {max_chars}")
    contacts = (conversation.get("contacts") or {}).get("contacts") or []
    customer = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
    tags = [
        t.get("name")
        for t in (conversation.get("tags") or {}).get("tags") or []
        if isinstance(t, dict)
    ]
    return SignalRecord(
        external_id=str(conversation_id),
        occurred_at=datetime.fromtimestamp(created_at, UTC),
        text=text,
        customer_ref=customer.get("external_id") or customer.get("id"),
        version=str(updated_at),
        sequence=updated_at,
        payload={
            "conversation_id": str(conversation_id),
            "updated_at": updated_at,
            "state": conversation.get("state"),
            "title": conversation.get("title"),
            "url": source.get("url"),
            "tags": tags,
            "customer_turns": len(turns),
            "parts": len(parts_list) + 1,
        },
    )


class IntercomSource:
    """Conversations updated since the last pull, each fetched whole only if it changed."""

    name = SOURCE

    def __init__(
        self, client: IntercomClient, *, per_page: int = 150, max_chars: int = 20_000
    ) -> None:
        self.client = client
        self.per_page = per_page
        self.max_chars = max_chars

    def close(self) -> None:
        self.client.close()

    def pages(self, cursors: dict[str, dict[str, Any]], known: KnownVersions) -> Iterator[Page]:
        cursor = cursors.get(STREAM, {})
        watermark = int(cursor.get("watermark", 0))
        starting_after = cursor.get("starting_after")
        max_seen = int(cursor.get("max_seen", watermark))
        while True:
            response = self.client.search_conversations(
                max(0, watermark - OVERLAP_SECONDS),
                per_page=self.per_page,
                starting_after=starting_after,
            )
            listed = response.get("conversations") or []
            page = Page(stream=STREAM, cursor={}, seen=len(listed))
            ids = [
                str(c.get("id")) for c in listed if isinstance(c, dict) and c.get("id") is not None
            ]
            stored = known(ids)
            for summary in listed:
                self._take(summary, stored, page)
                updated = summary.get("updated_at") if isinstance(summary, dict) else None
                if isinstance(updated, int):
                    max_seen = max(max_seen, updated)
            next_cursor = ((response.get("pages") or {}).get("next") or {}).get("starting_after")
            if next_cursor:
                page.cursor = {
                    "watermark": watermark,
                    "starting_after": next_cursor,
                    "max_seen": max_seen,
                }
            else:
                page.cursor = {"watermark": max_seen, "starting_after": None, "max_seen": max_seen}
            yield page
            if not next_cursor:
                return
            starting_after = next_cursor

    def _take(self, summary: Any, stored: dict[str, str], page: Page) -> None:
        if not isinstance(summary, dict) or summary.get("id") is None:
            page.skipped.append(SkippedItem.of(None, "conversation has no id", summary))
            return
        conversation_id = str(summary["id"])
        if stored.get(conversation_id) == str(summary.get("updated_at")):
            page.unchanged += 1
            return
        try:
            conversation = self.client.get_conversation(conversation_id)
            page.records.append(conversation_signal(conversation, max_chars=self.max_chars))
        except MalformedRecord as error:
            page.skipped.append(SkippedItem.of(conversation_id, error.reason, summary))
