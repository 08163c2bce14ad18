"""Linear over its GraphQL API: create issues with a link back, and read their state.

Every document the client sends is a module constant in ``DOCUMENTS`` so the test suite can
check each one against Linear's published schema.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from connectors.errors import AuthError, RequestError, RetryableError
from connectors.http import RetryPolicy
from connectors.trackers import RemoteTicket, TicketDraft, markdown_description

SOURCE = "linear"

ISSUE_FIELDS = "id identifier url title state { name type }"

TEAM_BY_KEY = """
query TeamByKey($key: String!) {
  teams(filter: { key: { eq: $key } }, first: 1) { nodes { id key name } }
}
"""

ISSUE_CREATE = f"""
mutation IssueCreate($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}
"""

ATTACHMENT_CREATE = """
mutation AttachmentCreate($input: AttachmentCreateInput!) {
  attachmentCreate(input: $input) { success attachment { id url } }
}
"""

ATTACHMENTS_FOR_URL = f"""
query AttachmentsForUrl($url: String!) {{
  attachmentsForURL(url: $url, first: 10) {{ nodes {{ id url issue {{ {ISSUE_FIELDS} }} }} }}
}}
"""

ISSUE_BY_ID = f"""
query IssueById($id: String!) {{
  issue(id: $id) {{ {ISSUE_FIELDS} }}
}}
"""

ISSUE_STATES = f"""
query IssueStates($ids: [ID!]!, $first: Int!) {{
  issues(filter: {{ id: {{ in: $ids }} }}, first: $first) {{ nodes {{ {ISSUE_FIELDS} }} }}
}}
"""

DOCUMENTS = {
    "TeamByKey": TEAM_BY_KEY,
    "IssueCreate": ISSUE_CREATE,
    "AttachmentCreate": ATTACHMENT_CREATE,
    "AttachmentsForUrl": ATTACHMENTS_FOR_URL,
    "IssueById": ISSUE_BY_ID,
    "IssueStates": ISSUE_STATES,
}

# journeyops priority -> Linear's (0 none, 1 urgent, 2 high, 3 medium, 4 low).
PRIORITY = {"high": 2, "medium": 3, "low": 4}
DONE_STATE_TYPES = {"completed"}
AUTH_CODES = {"AUTHENTICATION_ERROR", "FORBIDDEN"}


def authorization(api_key: str) -> str:
    """Personal API keys go as they are; OAuth access tokens as Bearer."""
    return api_key if api_key.startswith("lin_api_") else f"Bearer {api_key}"


class NotFound(RequestError):
    """The entity asked for does not exist."""


class LinearClient:
    """One typed client for Linear's GraphQL endpoint."""

    name = "linear"

    def __init__(
        self,
        api_key: str,
        *,
        url: str = "https://api.linear.app/graphql",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._teams: dict[str, str] = {}
        self._client = httpx.Client(
            headers={
                "Authorization": authorization(api_key),
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
        )
        self._url = url

    def close(self) -> None:
        self._client.close()

    # GraphQL ---------------------------------------------------------------------------------

    def execute(
        self, document: str, variables: dict[str, Any], *, retry: bool = True
    ) -> dict[str, Any]:
        """Run a document and return its ``data``; errors arrive with HTTP 200 and raise."""
        if retry:
            return self.retry.run(lambda: self._send(document, variables))
        return self._send(document, variables)

    def _send(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(
                self._url, json={"query": document, "variables": variables}
            )
        except httpx.TimeoutException as error:
            raise RetryableError(SOURCE, f"timed out: {error}") from error
        except httpx.TransportError as error:
            raise RetryableError(SOURCE, f"network error: {error}") from error
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code >= 500 or response.status_code == 429:
                raise RetryableError(
                    SOURCE, f"{response.status_code} from Linear", status=response.status_code
                )
            raise RequestError(
                SOURCE, f"{response.status_code} with a body that is not JSON", status=500
            )
        errors = body.get("errors") or []
        if errors:
            raise self._error(response, errors)
        if not response.is_success:
            if response.status_code in (401, 403):
                raise AuthError(SOURCE, "the API key was refused", status=response.status_code)
            if response.status_code >= 500 or response.status_code == 429:
                raise RetryableError(
                    SOURCE, f"{response.status_code} from Linear", status=response.status_code
                )
            raise RequestError(SOURCE, f"{response.status_code}", status=response.status_code)
        data = body.get("data")
        if not isinstance(data, dict):
            raise RetryableError(SOURCE, "an answer without data")
        return data

    def _error(self, response: httpx.Response, errors: list[dict[str, Any]]) -> Exception:
        codes = {str((e.get("extensions") or {}).get("code", "")).upper() for e in errors}
        message = "; ".join(str(e.get("message", "error")) for e in errors)
        status = response.status_code
        if "RATELIMITED" in codes:
            reset = response.headers.get("X-RateLimit-Requests-Reset")
            retry_after = None
            if reset and reset.isdigit():
                retry_after = max(0.0, int(reset) / 1000 - time.time())
            return RetryableError(
                SOURCE, f"rate limited: {message}", status=status, retry_after=retry_after
            )
        if codes & AUTH_CODES or status in (401, 403):
            return AuthError(SOURCE, f"credentials refused: {message}", status=status)
        if status >= 500:
            return RetryableError(SOURCE, message, status=status)
        if any(str(e.get("message", "")).startswith("Entity not found") for e in errors):
            return NotFound(SOURCE, message, status=status)
        return RequestError(SOURCE, message, status=status)

    # What journeyops needs -------------------------------------------------------------------

    def team_id(self, key: str) -> str:
        if key not in self._teams:
            nodes = self.execute(TEAM_BY_KEY, {"key": key})["teams"]["nodes"]
            if not nodes:
                raise RequestError(
                    SOURCE,
                    f"no Linear team has the key {key!r}; set the journey's or workspace's "
                    "linear_team_key to a key shown in Linear's team settings",
                )
            self._teams[key] = str(nodes[0]["id"])
        return self._teams[key]

    def check_destination(self, destination: str) -> None:
        self.team_id(destination)

    def find(self, draft: TicketDraft) -> RemoteTicket | None:
        nodes = self.execute(ATTACHMENTS_FOR_URL, {"url": draft.item_url})["attachmentsForURL"][
            "nodes"
        ]
        for node in nodes:
            if node.get("issue"):
                return _ticket(node["issue"])
        try:
            issue = self.execute(ISSUE_BY_ID, {"id": draft.marker})["issue"]
        except NotFound:
            return None
        return _ticket(issue) if issue else None

    def create(self, draft: TicketDraft, destination: str) -> RemoteTicket:
        issue_input: dict[str, Any] = {
            "id": draft.marker,
            "teamId": self.team_id(destination),
            "title": draft.title,
            "description": markdown_description(draft),
        }
        if draft.priority in PRIORITY:
            issue_input["priority"] = PRIORITY[draft.priority]
        # Not retried here: the caller reconciles by marker, since a lost answer may hide a
        # ticket that was created.
        payload = self.execute(ISSUE_CREATE, {"input": issue_input}, retry=False)["issueCreate"]
        if not payload.get("success") or not payload.get("issue"):
            raise RequestError(SOURCE, "issueCreate did not succeed")
        return _ticket(payload["issue"])

    def link_back(self, ticket: RemoteTicket, draft: TicketDraft) -> None:
        # Linear updates the attachment in place when url and issue repeat.
        self.execute(
            ATTACHMENT_CREATE,
            {
                "input": {
                    "issueId": ticket.id,
                    "url": draft.item_url,
                    "title": f"journeyops: {draft.title}",
                    "subtitle": f"{draft.item_type} {draft.item_key}",
                }
            },
        )

    def statuses(self, ids: list[str]) -> list[RemoteTicket]:
        found: list[RemoteTicket] = []
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            nodes = self.execute(ISSUE_STATES, {"ids": chunk, "first": len(chunk)})["issues"][
                "nodes"
            ]
            found.extend(_ticket(node) for node in nodes)
        return found


def _ticket(issue: dict[str, Any]) -> RemoteTicket:
    state = issue.get("state") or {}
    return RemoteTicket(
        id=str(issue["id"]),
        key=str(issue.get("identifier") or issue["id"]),
        url=str(issue.get("url") or ""),
        status=str(state.get("name") or ""),
        done=state.get("type") in DONE_STATE_TYPES,
    )
