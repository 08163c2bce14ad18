"""A journey's pulse over a period: what the signals said, what was added, what shipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from model import repository
from model.tables import Journey


@dataclass
class Pulse:
    journey: str
    since: datetime
    until: datetime
    signals: int = 0
    unplaced: int = 0
    busiest_steps: list[tuple[str, int]] = field(default_factory=list)
    new_items: list[tuple[str, str, bool]] = field(default_factory=list)  # type, title, machine
    shipped: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The pulse as a short message (plain text with bullets; Slack and Discord both read
        it)."""
        lines = [
            f"- {self.signals} new signals"
            + (f" ({self.unplaced} not yet placed)" if self.unplaced else "")
        ]
        if self.busiest_steps:
            lines.append(
                "- Most signals: "
                + "; ".join(f"{name} ({count})" for name, count in self.busiest_steps)
            )
        if self.new_items:
            machine = sum(1 for _, _, made in self.new_items if made)
            kinds: dict[str, int] = {}
            for kind, _, _ in self.new_items:
                kinds[kind] = kinds.get(kind, 0) + 1
            lines.append(
                "- Added: "
                + ", ".join(
                    f"{count} {kind}{'s' if count > 1 else ''}"
                    for kind, count in sorted(kinds.items())
                )
                + (f" ({machine} machine-made, to confirm)" if machine else "")
            )
        else:
            lines.append("- Nothing added to the journey")
        if self.shipped:
            lines.append("- Shipped: " + "; ".join(self.shipped[:5]))
        return "\n".join(lines)


def journey_pulse(
    session: Session, journey: Journey, since: datetime, until: datetime, top: int = 3
) -> Pulse:
    pulse = Pulse(journey=journey.name, since=since, until=until)
    counts = repository.signal_counts_by_step_between(session, journey.id, since, until)
    pulse.signals = sum(counts.values())
    pulse.unplaced = counts.get(None, 0)
    names = {step.id: step.name for step in repository.steps_of_journey(session, journey.id)}
    placed = sorted(
        ((names.get(step_id, "?"), count) for step_id, count in counts.items() if step_id),
        key=lambda pair: (-pair[1], pair[0]),
    )
    pulse.busiest_steps = placed[:top]
    pulse.new_items = [
        (item.type, item.title, bool(item.machine_made))
        for item in repository.items_created_between(session, journey.id, since, until)
    ]
    pulse.shipped = [
        f"{link.item.title} ({link.external_key or link.tracker})"
        for link in repository.tickets_shipped_between(session, journey.workspace_id, since, until)
    ]
    return pulse
