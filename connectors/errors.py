"""What can go wrong talking to an outside service, typed so callers know what to do."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector error; ``source`` names the service."""

    def __init__(self, source: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.status = status


class AuthError(ConnectorError):
    """The credentials were refused: retrying cannot help, a person must fix them."""


class RequestError(ConnectorError):
    """The service refused the request itself (4xx): retrying the same request cannot help."""


class RetryableError(ConnectorError):
    """A 429, a 5xx or a network fault: the same request may succeed later."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(source, message, status=status)
        self.retry_after = retry_after


class MalformedRecord(Exception):
    """A record that cannot become a signal; the reason is kept with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
