"""The shared HTTP machinery: error mapping, Retry-After, rate-limit pauses."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from connectors.errors import AuthError, RequestError, RetryableError
from connectors.http import JsonHttpClient, RetryPolicy, parse_retry_after


class TestRetryAfter:
    def test_seconds_and_http_dates(self) -> None:
        assert parse_retry_after("3") == 3.0
        assert parse_retry_after(None) is None
        when = email.utils.formatdate(time.time() + 30, usegmt=True)
        assert 25 < (parse_retry_after(when) or 0) <= 31
        assert parse_retry_after("soon") is None


def client(handler: httpx.MockTransport, waits: list[float], attempts: int = 4) -> JsonHttpClient:
    policy = RetryPolicy(max_attempts=attempts, base_delay=0.01, sleep=waits.append)
    return JsonHttpClient(
        "intercom",
        "https://api.example",
        {"Authorization": "Bearer t"},
        timeout=5,
        retry=policy,
        describe_error=lambda r: r.text,
        transport=handler,
    )


class TestErrorsAndRetries:
    def test_429_waits_as_asked_then_succeeds(self) -> None:
        answers = iter(
            [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})]
        )
        waits: list[float] = []
        http = client(httpx.MockTransport(lambda request: next(answers)), waits)
        assert http.request("GET", "/x") == {"ok": 1}
        assert waits == [7.0]

    def test_5xx_retries_within_the_budget_then_raises(self) -> None:
        calls = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            return httpx.Response(503, text="down")

        waits: list[float] = []
        with pytest.raises(RetryableError, match="503"):
            client(httpx.MockTransport(handler), waits, attempts=3).request("GET", "/x")
        assert len(calls) == 3
        assert len(waits) == 2

    def test_network_errors_are_retryable(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused")

        with pytest.raises(RetryableError, match="network error"):
            client(httpx.MockTransport(handler), [], attempts=2).request("GET", "/x")

    @pytest.mark.parametrize(
        ("status", "error"),
        [(401, AuthError), (403, AuthError), (404, RequestError), (400, RequestError)],
    )
    def test_client_errors_are_not_retried(self, status: int, error: type[Exception]) -> None:
        calls = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request)
            return httpx.Response(status, text="nope")

        with pytest.raises(error):
            client(httpx.MockTransport(handler), []).request("GET", "/x")
        assert len(calls) == 1

    def test_an_exhausted_rate_limit_pauses_the_next_request(self) -> None:
        reset = time.time() + 5
        answers = iter(
            [
                httpx.Response(
                    200,
                    json={},
                    headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
                ),
                httpx.Response(200, json={}),
            ]
        )
        waits: list[float] = []
        http = client(httpx.MockTransport(lambda request: next(answers)), waits)
        http.request("GET", "/a")
        http.request("GET", "/b")
        assert len(waits) == 1
        assert 3 < waits[0] <= 5
