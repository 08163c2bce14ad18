"""Rich renderings of the journey model for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from model.enums import ItemType
from model.services.views import JourneyView
from model.tables import Item

TYPE_STYLE = {
    ItemType.TOUCHPOINT: ("touchpoint", "cyan"),
    ItemType.INSIGHT: ("insight", "magenta"),
    ItemType.OPPORTUNITY: ("opportunity", "yellow"),
    ItemType.SOLUTION: ("solution", "green"),
    ItemType.METRIC: ("metric", "blue"),
}
TYPE_ORDER = list(ItemType)


def _number(value: float | None, unit: str | None) -> str:
    if value is None:
        return "-"
    suffix = "%" if unit == "%" else ""
    return f"{value:g}{suffix}"


def _item_label(view: JourneyView, item: Item) -> Text:
    name, style = TYPE_STYLE[ItemType(item.type)]
    label = Text.assemble(
        (f"{name:<11}", f"bold {style}"), " ", item.title, (f"  [{item.status}]", "dim")
    )
    details = []
    if item.severity is not None:
        details.append(f"severity {item.severity}")
    if item.impact is not None or item.effort is not None:
        details.append(f"impact {item.impact or '-'} / effort {item.effort or '-'}")
    if item.type == ItemType.METRIC and (item.current is not None or item.target is not None):
        details.append(
            f"baseline {_number(item.baseline, item.unit)}, now {_number(item.current, item.unit)}, "
            f"target {_number(item.target, item.unit)}"
        )
    if details:
        label.append("  " + ", ".join(details), style="dim")
    evidence = view.evidence.get(item.id)
    if evidence:
        label.append(
            f"  evidence {evidence['count']} ({', '.join(evidence['sources'])}), "
            f"last {evidence['last_seen']:%Y-%m-%d}",
            style="cyan",
        )
    if view.is_building_block(item):
        label.append("  ◆ building block", style="bold white")
    if item.machine_made:
        label.append("  (machine-made)", style="italic dim")
    return label


def journey_tree(view: JourneyView) -> Tree:
    """Render stages, steps and their items, with each item's outgoing links."""
    journey = view.journey
    root = Tree(Text.assemble((journey.name, "bold"), (f"  ({journey.slug})", "dim")))
    if journey.description:
        root.add(Text(journey.description, style="italic dim"))
    for stage_view in view.stages:
        stage_node = root.add(
            Text(f"Stage {stage_view.stage.position + 1}: {stage_view.stage.name}", style="bold")
        )
        for step_view in stage_view.steps:
            label = Text(step_view.step.name, style="bold white")
            signals = view.signals_per_step.get(step_view.step.id, 0)
            if signals:
                label.append(f"  ▲ {signals} signal{'s' if signals != 1 else ''}", style="red")
            step_node = stage_node.add(label)
            ordered = sorted(
                step_view.items, key=lambda i: (TYPE_ORDER.index(ItemType(i.type)), i.title)
            )
            for item in ordered:
                item_node = step_node.add(_item_label(view, item))
                for target in view.links.get(item.id, []):
                    item_node.add(Text(f"→ {target.type}: {target.title}", style="dim"))
    return root


def pull_table(summaries: list[Any]) -> Table:
    """Render what each pull did."""
    table = Table("source", "status", "pages", "seen", "created", "updated", "unchanged", "skipped")
    for s in summaries:
        counts = (s.pages, s.records_seen, s.created, s.updated, s.unchanged, s.skipped)
        table.add_row(s.source, s.status, *(str(v) for v in counts))
    return table


def classify_summary(report: Any) -> Table:
    """Render where a classification run placed signals."""
    table = Table("step", "signals placed", title=f"{report.journey}: {report.classifier}")
    for step, count in report.per_step.most_common():
        table.add_row(step, str(count))
    table.caption = (
        f"{report.placed} placed, {report.accepted} accepted ({report.share_accepted:.0%}), "
        f"{report.to_review} to review; learned from {report.examples} confirmed placements"
    )
    return table


def ticket_table(links: Sequence[Any]) -> Table:
    """Render ticket links: where each item's follow-up lives and how it stands."""
    table = Table("id", "item", "tracker", "state", "ticket", "status", "url / error")
    for link in links:
        table.add_row(
            str(link.id),
            link.item.key,
            link.tracker,
            link.state,
            link.external_key or "",
            (link.remote_status or "") + (" (done)" if link.done else ""),
            link.error if link.state == "failed" else (link.url or ""),
        )
    return table


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """The values as a one-line chart (the lowest bar throughout when they are all equal)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(SPARKS[int((v - low) / span * (len(SPARKS) - 1)) if span else 0] for v in values)


def metric_table(session: Any, workspace_id: int) -> Table:
    """The workspace's metrics: value, target, 30-point trend, on track, source and state."""
    from model import repository
    from model.schemas import MetricSourceSpec
    from model.services import metrics

    table = Table("metric", "current", "target", "progress", "trend", "on track")
    # Long source descriptions and errors wrap instead of being cut short.
    table.add_column("source", overflow="fold")
    table.add_column("state", overflow="fold")
    for item in repository.metrics_of(session, workspace_id):
        source = repository.metric_source(session, item.id)
        series = [p.value for p in repository.metric_series(session, item.id, limit=30)]
        if source is None:
            described, state, on_track = "-", "no source", "-"
        else:
            described = metrics.describe(MetricSourceSpec.model_validate(source.spec))
            state = {"waiting": "waiting for first sync", "ok": "ok"}.get(
                source.state, f"broken: {source.error}"
            )
            on_track = {True: "yes", False: "no", None: "-"}[source.on_track]
        table.add_row(
            f"{item.key}\n{item.title}",
            _number(item.current, item.unit),
            "-"
            if item.target is None
            else f"{_number(item.target, item.unit)} ({item.direction or 'higher'})",
            "-" if (done := metrics.progress(item)) is None else f"{done:.0%}",
            sparkline(series),
            on_track,
            described,
            state,
        )
    return table


def funnel_table(result: Any) -> Table:
    """A funnel run as a table with bars (see ``model.services.funnels.FunnelResult``)."""
    from tasks.charts import bar
    from tasks.funnels import duration

    top = max((s.reached for s in result.steps), default=0)
    table = Table(
        f"{result.window.start.date()} to {result.window.end.date()}",
        "customers",
        "from previous",
        "window before",
        "median time",
        "",
    )
    for step in result.steps:
        before = result.previous.get(step.step_id)
        table.add_row(
            step.name,
            str(step.reached),
            "" if step.conversion is None else f"{step.conversion:.0%}",
            "" if before is None else f"{before:.0%}",
            "" if step.median_seconds is None else duration(step.median_seconds),
            bar(step.reached, top, width=12),
        )
    return table


def automation_table(session: Any, rows: Any) -> Table:
    """One line per automation: trigger, actions, status, last run."""
    from model import repository
    from model.services import automations

    table = Table(title="Automations")
    for column in ("automation", "trigger", "actions", "status", "last run", "prefect"):
        table.add_column(column)
    for automation in rows:
        runs = repository.automation_runs(session, automation.id, 1)
        last = (
            f"{runs[0].state} {runs[0].requested_at:%Y-%m-%d %H:%M} ({runs[0].cause})"
            if runs
            else "-"
        )
        table.add_row(
            f"{automation.name}\n[dim]{automation.slug}[/]",
            automations.describe_trigger(automation),
            ", ".join(str(a.get("type")) for a in automation.actions),
            automation.status,
            last,
            automation.prefect_note or "-",
        )
    return table


def automation_runs_table(runs: Any) -> Table:
    table = Table(title="Runs, newest first")
    for column in ("run", "cause", "state", "requested", "what happened"):
        table.add_column(column)
    for run in runs:
        done = "; ".join(
            str(r.get("summary", "")) for r in sorted(run.results, key=lambda r: r.get("index", 0))
        )
        table.add_row(
            str(run.id),
            run.cause,
            run.state,
            f"{run.requested_at:%Y-%m-%d %H:%M}",
            (done + (f" [red]{run.error}[/]" if run.error else "")) or "-",
        )
    return table
