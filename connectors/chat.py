"""Slack and Discord incoming webhooks: post a message to the channel a URL stands for.

Slack answers ``ok`` (text) or an error word (``invalid_payload``, ``no_service``...); Discord
answers 204 or a JSON error, and at most 2,000 characters go in one message, so a longer text
is sent in parts. Rate limits (429, Retry-After) and 5xx are retried by the policy.
"""

from __future__ import annotations

import httpx

from connectors.errors import RequestError, RetryableError
from connectors.http import RetryPolicy, error_for

DISCORD_LIMIT = 2000
SLACK_LIMIT = 40_000


def parts(text: str, limit: int) -> list[str]:
    """Split on line ends where possible, so no part exceeds the channel's limit."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            chunks.append(current)
            current = ""
        current += line
    if current or not chunks:
        chunks.append(current)
    return [chunk.rstrip("\n") for chunk in chunks]


class ChatClient:
    """One channel's incoming webhook (the URL is the secret: it is never logged)."""

    def __init__(
        self,
        channel: str,
        url: str,
        *,
        timeout: float,
        retry: RetryPolicy,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if channel not in ("slack", "discord"):
            raise ValueError(f"unknown channel {channel!r}")
        self.channel = channel
        self._url = url
        self.retry = retry
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def post(self, text: str) -> int:
        """Send the text; returns how many messages it took."""
        if not text.strip():
            raise RequestError(self.channel, "the message is empty")
        limit = DISCORD_LIMIT if self.channel == "discord" else SLACK_LIMIT
        chunks = parts(text, limit)
        for chunk in chunks:
            body = {"content": chunk} if self.channel == "discord" else {"text": chunk}
            self.retry.run(lambda body=body: self._send(body))  # type: ignore[misc]
        return len(chunks)

    def _send(self, body: dict[str, str]) -> None:
        try:
            response = self._client.post(self._url, json=body)
        except httpx.TimeoutException as error:
            raise RetryableError(self.channel, "timed out") from error
        except httpx.TransportError as error:
            raise RetryableError(self.channel, f"network error: {type(error).__name__}") from error
        if response.is_success:
            return
        raise error_for(self.channel, response, _detail(response))


def _detail(response: httpx.Response) -> str:
    """Slack's error word or Discord's message, which say what is wrong with the hook."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])[:200]
    return str(data)[:200]
