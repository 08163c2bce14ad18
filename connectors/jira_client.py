"""Jira Cloud through the official ``jira`` package, REST API v3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from connectors.errors import AuthError, ConnectorError, RequestError, RetryableError
from connectors.http import RetryPolicy, parse_retry_after
from connectors.trackers import RemoteTicket, TicketDraft, format_number

SOURCE = "jira"
T = TypeVar("T")


def label_for(marker: str) -> str:
    """The label that marks a ticket as the one journeyops made for an item."""
    return f"journeyops-{marker}"


# Atlassian Document Format ------------------------------------------------------------------


def _text(text: str, *, href: str | None = None, strong: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    marks = []
    if href:
        marks.append({"type": "link", "attrs": {"href": href}})
    if strong:
        marks.append({"type": "strong"})
    if marks:
        node["marks"] = marks
    return node


def _paragraph(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(parts)}


def _heading(text: str) -> dict[str, Any]:
    return {"type": "heading", "attrs": {"level": 2}, "content": [_text(text)]}


def _bullets(lines: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [_paragraph(*line)]} for line in lines],
    }


def adf_description(draft: TicketDraft) -> dict[str, Any]:
    """The ticket body as an Atlassian Document Format document."""
    content: list[dict[str, Any]] = []
    if draft.description:
        content.append(_paragraph(_text(draft.description)))
    content.append(_heading("Where customers meet it"))
    content.append(
        _bullets(
            [
                [_text(journey, strong=True), _text(f" → {stage} → {step}")]
                for journey, stage, step in draft.placements
            ]
            or [[_text("not placed on a journey yet")]]
        )
    )
    if draft.evidence is not None and draft.evidence.count:
        ev = draft.evidence
        content.append(_heading("Customer evidence"))
        content.append(
            _paragraph(
                _text(
                    f"{ev.count} signal(s) from {', '.join(ev.sources) or 'unknown sources'}, "
                    f"first seen {ev.first_seen}, last seen {ev.last_seen}."
                )
            )
        )
        for quote in ev.quotes:
            content.append({"type": "blockquote", "content": [_paragraph(_text(quote))]})
    if draft.metrics:
        content.append(_heading("Metrics"))
        content.append(
            _bullets(
                [
                    [
                        _text(
                            f"{m.title}: baseline {format_number(m.baseline, m.unit)}, "
                            f"now {format_number(m.current, m.unit)}, "
                            f"target {format_number(m.target, m.unit)}"
                        )
                    ]
                    for m in draft.metrics
                ]
            )
        )
    if draft.priority or draft.impact or draft.effort:
        content.append(_heading("Priority"))
        content.append(
            _paragraph(
                _text(
                    f"{draft.priority or 'unset'} (impact {draft.impact or '-'}, "
                    f"effort {draft.effort or '-'})"
                )
            )
        )
    content.append(
        _paragraph(_text(f"{draft.item_type} {draft.item_key} in journeyops", href=draft.item_url))
    )
    return {"type": "doc", "version": 1, "content": content}


# The client ---------------------------------------------------------------------------------


def _mapped(error: Exception) -> ConnectorError:
    if isinstance(error, JIRAError):
        status = error.status_code
        text = (error.text or "").strip() or str(error)
        if status in (401, 403):
            return AuthError(SOURCE, f"credentials refused ({status}): {text}", status=status)
        if status is None or status == 429 or status >= 500:
            headers = getattr(error.response, "headers", None) or {}
            return RetryableError(
                SOURCE,
                f"{status}: {text}",
                status=status,
                retry_after=parse_retry_after(headers.get("Retry-After")),
            )
        return RequestError(SOURCE, f"{status}: {text}", status=status)
    return RetryableError(SOURCE, f"network error: {error}")


class JiraClient:
    """One typed client for a Jira Cloud site."""

    name = "jira"

    def __init__(
        self,
        url: str,
        email: str,
        api_token: str,
        *,
        issue_type: str = "Task",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.url = url.rstrip("/")
        self.issue_type = issue_type
        self._jira: JIRA = self._call(
            lambda: JIRA(
                server=self.url,
                basic_auth=(email, api_token),
                options={"rest_api_version": "3"},
                max_retries=0,
                timeout=timeout,
            )
        )

    def close(self) -> None:
        self._jira.close()

    def _once(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except (JIRAError, requests.RequestException) as error:
            raise _mapped(error) from error

    def _call(self, call: Callable[[], T]) -> T:
        return self.retry.run(lambda: self._once(call))

    def check_destination(self, destination: str) -> None:
        try:
            self._call(lambda: self._jira.project(destination))
        except RequestError as error:
            if error.status == 404:
                raise RequestError(
                    SOURCE,
                    f"no Jira project has the key {destination!r} (or this account cannot see "
                    "it); set the journey's or workspace's jira_project_key",
                    status=404,
                ) from None
            raise

    def _search(self, jql: str, limit: int) -> list[dict[str, Any]]:
        result = self._call(
            lambda: self._jira.enhanced_search_issues(
                jql, fields=["status", "summary"], maxResults=limit, json_result=True
            )
        )
        issues = result.get("issues", []) if isinstance(result, dict) else []
        return [issue for issue in issues if isinstance(issue, dict)]

    def find(self, draft: TicketDraft) -> RemoteTicket | None:
        issues = self._search(f'labels = "{label_for(draft.marker)}"', 5)
        return self._ticket(issues[0]) if issues else None

    def create(self, draft: TicketDraft, destination: str) -> RemoteTicket:
        fields: dict[str, Any] = {
            "project": {"key": destination},
            "summary": draft.title,
            "issuetype": {"name": self.issue_type},
            "description": adf_description(draft),
            "labels": [label_for(draft.marker), "journeyops"],
        }
        # Not retried here: the caller reconciles by the label, since a lost answer may hide
        # a ticket that was created.
        created = self._once(lambda: self._jira.create_issue(fields=fields, prefetch=False))
        raw = self._call(lambda: self._jira.issue(created.key, fields="status").raw)
        return self._ticket(raw)

    def link_back(self, ticket: RemoteTicket, draft: TicketDraft) -> None:
        # The same globalId updates the existing remote link instead of adding one.
        self._call(
            lambda: self._jira.add_remote_link(
                ticket.key,
                destination={
                    "url": draft.item_url,
                    "title": f"journeyops: {draft.title}",
                    "summary": f"{draft.item_type} {draft.item_key}",
                },
                globalId=f"journeyops:{draft.marker}",
            )
        )

    def statuses(self, ids: list[str]) -> list[RemoteTicket]:
        found: list[RemoteTicket] = []
        for start in range(0, len(ids), 50):
            chunk = ids[start : start + 50]
            issues = self._search(f"id in ({', '.join(chunk)})", len(chunk))
            found.extend(self._ticket(issue) for issue in issues)
        return found

    def _ticket(self, raw: dict[str, Any]) -> RemoteTicket:
        status = (raw.get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        return RemoteTicket(
            id=str(raw["id"]),
            key=str(raw["key"]),
            url=f"{self.url}/browse/{raw['key']}",
            status=str(status.get("name") or ""),
            done=category == "done",
        )
