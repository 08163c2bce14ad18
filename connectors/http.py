"""The HTTP machinery every connector shares: retries, rate limits and error mapping."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from connectors.errors import AuthError, ConnectorError, RequestError, RetryableError

log = logging.getLogger(__name__)
T = TypeVar("T")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the seconds a Retry-After header asks for (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass
class RetryPolicy:
    """Retry what is retryable, honouring the wait the service asks for."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    waited: float = field(default=0.0, init=False)
    retries: int = field(default=0, init=False)

    def delay_for(self, attempt: int, error: RetryableError) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.max_delay)
        backoff = self.base_delay * (2 ** (attempt - 1))
        return min(self.max_delay, backoff * (0.5 + random.random() / 2))

    def run(self, call: Callable[[], T]) -> T:
        attempt = 1
        while True:
            try:
                return call()
            except RetryableError as error:
                if attempt >= self.max_attempts:
                    raise
                delay = self.delay_for(attempt, error)
                log.warning(
                    "%s.request.retry status=%s attempt=%d wait=%.2fs",
                    error.source,
                    error.status,
                    attempt,
                    delay,
                )
                self.retries += 1
                self.waited += delay
                self.sleep(delay)
                attempt += 1


def error_for(source: str, response: httpx.Response, detail: str) -> ConnectorError:
    """Map an unsuccessful response to the connector error that says what to do."""
    status = response.status_code
    if status in (401, 403):
        return AuthError(source, f"credentials refused ({status}): {detail}", status=status)
    if status == 429 or status >= 500:
        return RetryableError(
            source,
            f"{status}: {detail}",
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return RequestError(source, f"{status}: {detail}", status=status)


class JsonHttpClient:
    """An httpx session for one service: base URL, auth headers, timeout, retries, pacing."""

    def __init__(
        self,
        source: str,
        base_url: str,
        headers: dict[str, str],
        *,
        timeout: float,
        retry: RetryPolicy,
        describe_error: Callable[[httpx.Response], str],
        min_interval: float = 0.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.source = source
        self.retry = retry
        self._describe_error = describe_error
        self._min_interval = min_interval
        self._last_request = 0.0
        self._pause_until = 0.0
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Accept": "application/json", **headers},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> JsonHttpClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its JSON body, retrying what is retryable."""
        return self.retry.run(lambda: self._send(method, path, **kwargs))

    def _wait_for_budget(self) -> None:
        now = time.monotonic()
        wait = max(self._pause_until - now, self._last_request + self._min_interval - now)
        if wait > 0:
            self.retry.sleep(wait)
        self._last_request = time.monotonic()

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        self._wait_for_budget()
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise RetryableError(self.source, f"timed out: {error}") from error
        except httpx.TransportError as error:
            raise RetryableError(self.source, f"network error: {error}") from error
        self._note_rate_limit(response)
        if response.is_success:
            try:
                return response.json()
            except ValueError as error:
                raise RetryableError(
                    self.source, f"{response.status_code} with a body that is not JSON"
                ) from error
        raise error_for(self.source, response, self._describe_error(response))

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """Pause before the next request when the service says the budget is spent."""
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        if remaining is None or reset is None:
            return
        try:
            if int(float(remaining)) > 0:
                return
            reset_at = float(reset)
        except ValueError:
            return
        # Reset is an epoch second; pause until then (bounded, in case clocks disagree).
        wait = min(max(0.0, reset_at - time.time()), self.retry.max_delay)
        self._pause_until = time.monotonic() + wait
