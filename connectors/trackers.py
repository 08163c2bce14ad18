"""What journeyops asks of an issue tracker, whichever one it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Evidence:
    count: int
    first_seen: str | None
    last_seen: str | None
    sources: list[str]
    quotes: list[str]


@dataclass(frozen=True)
class MetricContext:
    title: str
    baseline: float | None
    current: float | None
    target: float | None
    unit: str | None
    direction: str | None


@dataclass(frozen=True)
class TicketDraft:
    """Everything a ticket says: the item, where it sits, and why it matters."""

    marker: str
    item_url: str
    item_key: str
    item_type: str
    title: str
    description: str | None
    placements: list[tuple[str, str, str]]  # (journey, stage, step)
    evidence: Evidence | None
    metrics: list[MetricContext] = field(default_factory=list)
    priority: str | None = None
    impact: int | None = None
    effort: int | None = None


@dataclass(frozen=True)
class RemoteTicket:
    """A ticket as the tracker reports it."""

    id: str
    key: str
    url: str
    status: str
    done: bool


class Tracker(Protocol):
    name: str

    def check_destination(self, destination: str) -> None:
        """Raise a RequestError naming the problem when the team/project does not exist."""

    def find(self, draft: TicketDraft) -> RemoteTicket | None:
        """The ticket carrying ``draft.marker``, if a previous attempt created it."""

    def create(self, draft: TicketDraft, destination: str) -> RemoteTicket:
        """Create the ticket with its marker and a link back to the item."""

    def link_back(self, ticket: RemoteTicket, draft: TicketDraft) -> None:
        """Add (or keep) the link from the ticket to the item; safe to repeat."""

    def statuses(self, ids: list[str]) -> list[RemoteTicket]:
        """Current state of the given tickets."""

    def close(self) -> None: ...


def format_number(value: float | None, unit: str | None) -> str:
    if value is None:
        return "not set"
    text = f"{value:g}"
    if unit in (None, "count"):
        return text
    if unit == "%":
        return f"{text}%"
    if unit == "currency":
        return text
    return f"{text} {unit}"


def markdown_description(draft: TicketDraft) -> str:
    """The ticket body in Markdown (Linear)."""
    lines: list[str] = []
    if draft.description:
        lines += [draft.description, ""]
    lines.append("## Where customers meet it")
    for journey, stage, step in draft.placements:
        lines.append(f"- **{journey}** → {stage} → {step}")
    if not draft.placements:
        lines.append("- not placed on a journey yet")
    if draft.evidence is not None and draft.evidence.count:
        ev = draft.evidence
        lines += [
            "",
            "## Customer evidence",
            f"{ev.count} signal(s) from {', '.join(ev.sources) or 'unknown sources'}, "
            f"first seen {ev.first_seen}, last seen {ev.last_seen}.",
        ]
        lines += [f"> {quote}" for quote in ev.quotes]
    if draft.metrics:
        lines += ["", "## Metrics"]
        for metric in draft.metrics:
            lines.append(
                f"- {metric.title}: baseline {format_number(metric.baseline, metric.unit)}, "
                f"now {format_number(metric.current, metric.unit)}, "
                f"target {format_number(metric.target, metric.unit)}"
                + (f" ({metric.direction} is better)" if metric.direction else "")
            )
    scores = [
        f"{name} {value}"
        for name, value in (("impact", draft.impact), ("effort", draft.effort))
        if value is not None
    ]
    if scores or draft.priority:
        lines += [
            "",
            "## Priority",
            f"{draft.priority or 'unset'} ({', '.join(scores) or 'unscored'})",
        ]
    lines += ["", f"[{draft.item_type} {draft.item_key} in journeyops]({draft.item_url})"]
    return "\n".join(lines)
