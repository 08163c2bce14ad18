"""From placed signals to evidence: similar signals on a step become one insight.

New evidence attaches to the insight it reads like instead of making a near-copy; a step whose
evidence crosses a threshold gets an opportunity proposed. Everything made here is
machine-made until a person confirms it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sqlalchemy.orm import Session

from model import repository
from model.services import items
from model.settings import ClassifySettings
from model.tables import Item, Journey, Signal, SignalEvidence, Step, Workspace

MACHINE = "journeyops"
QUOTES = 3


@dataclass
class GroupingReport:
    attached: int = 0
    insights_created: int = 0
    opportunities_proposed: int = 0


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)),
        ]
    )


def _title(signal: Signal) -> str:
    """Name an insight after a signal: a product event by what happened, a message by its words."""
    payload = signal.payload or {}
    if signal.source == "posthog" and payload.get("event"):
        paths = payload.get("top_paths") or []
        where = f" on {paths[0][0]}" if paths and paths[0] else ""
        return f"Customers hit `{payload['event']}`{where}"[:300]
    first = " ".join(signal.text.strip().splitlines()[0].split()) if signal.text.strip() else ""
    return (first[:117] + "...") if len(first) > 120 else first


def _description(step: Step, signals: list[Signal]) -> str:
    sources = Counter(s.source for s in signals)
    quotes = "\n".join(f'> "{_title(s)}"' for s in signals[:QUOTES])
    seen = sorted(s.occurred_at for s in signals)
    return (
        f"{len(signals)} signals on step {step.name!r} read alike "
        f"({', '.join(f'{n} from {src}' for src, n in sources.most_common())}), "
        f"first seen {seen[0]:%Y-%m-%d}, last seen {seen[-1]:%Y-%m-%d}.\n\n{quotes}"
    )


def group_into_insights(
    session: Session, workspace: Workspace, journey: Journey, settings: ClassifySettings
) -> GroupingReport:
    """Attach the journey's unattached placed signals to insights, making new ones as needed."""
    report = GroupingReport()
    pending: dict[int, list[Signal]] = {}
    for signal in repository.unattached_signals(session, journey.id):
        if signal.step_id is not None:
            pending.setdefault(signal.step_id, []).append(signal)
    for step_id, signals in pending.items():
        step = session.get_one(Step, step_id)
        _group_step(session, workspace, step, signals, settings, report)
    for step, _stage in repository.step_profiles(session, journey.id):
        _maybe_propose_opportunity(session, workspace, step, settings, report)
    return report


def _group_step(
    session: Session,
    workspace: Workspace,
    step: Step,
    signals: list[Signal],
    settings: ClassifySettings,
    report: GroupingReport,
) -> None:
    insights = list(repository.insights_on_step(session, step.id))
    evidence = repository.evidence_texts(session, [i.id for i in insights])
    with_evidence = [i for i in insights if evidence.get(i.id)]
    corpus = [s.text for s in signals] + [" ".join(evidence[i.id]) for i in with_evidence]
    features = _features().fit(corpus)
    signal_vectors = features.transform([s.text for s in signals])
    remaining = list(range(len(signals)))
    if with_evidence:
        insight_vectors = features.transform([" ".join(evidence[i.id]) for i in with_evidence])
        similarity = (signal_vectors @ insight_vectors.T).toarray()
        remaining = []
        joining: dict[int, list[Signal]] = {}
        for index, row in enumerate(similarity):
            best = int(np.argmax(row))
            if row[best] >= settings.group_similarity:
                joining.setdefault(best, []).append(signals[index])
            else:
                remaining.append(index)
        for best, members in joining.items():
            _attach(session, with_evidence[best], members, step)
            report.attached += len(members)
    if not remaining:
        return
    # Greedy grouping: each signal joins the first group whose leader it reads like.
    vectors = signal_vectors[remaining]
    similarity = (vectors @ vectors.T).toarray()
    groups: list[list[int]] = []
    for position in range(len(remaining)):
        for group in groups:
            if similarity[position, group[0]] >= settings.group_similarity:
                group.append(position)
                break
        else:
            groups.append([position])
    for group in groups:
        if len(group) < settings.group_min_signals:
            continue
        members = [signals[remaining[p]] for p in group]
        # The member most like the rest names the insight.
        centrality = similarity[np.ix_(group, group)].sum(axis=1)
        leader = members[int(np.argmax(centrality))]
        insight = items.create_item(
            session,
            workspace,
            {
                "type": "insight",
                "title": _title(leader),
                "description": _description(step, members),
                "kind": "pain",
                "confidence": "high" if len(members) >= 10 else "medium",
                "machine_made": True,
            },
            MACHINE,
        )
        items.place_item(session, insight, step, MACHINE)
        _attach(session, insight, members, step)
        report.insights_created += 1
        report.attached += len(members)


def _attach(session: Session, insight: Item, signals: list[Signal], step: Step) -> None:
    session.add_all(SignalEvidence(signal_id=s.id, item_id=insight.id) for s in signals)
    session.flush()
    if insight.machine_made:
        insight.description = _description(
            step, list(repository.signals_for_item(session, insight.id))
        )
        session.flush()


def _maybe_propose_opportunity(
    session: Session,
    workspace: Workspace,
    step: Step,
    settings: ClassifySettings,
    report: GroupingReport,
) -> None:
    insights = list(repository.insights_on_step(session, step.id))
    summary = repository.evidence_summary(session, [i.id for i in insights])
    total = sum(entry["count"] for entry in summary.values())
    if total < settings.opportunity_min_evidence:
        return
    if repository.items_on_step(session, step.id, "opportunity"):
        return
    opportunity = items.create_item(
        session,
        workspace,
        {
            "type": "opportunity",
            "title": f"Reduce friction at {step.name[:80]}",
            "description": (
                f"{total} signals on this step back {len(insights)} insight(s). "
                "Proposed from the evidence; frame it or park it."
            ),
            "priority": "high" if total >= 2 * settings.opportunity_min_evidence else "medium",
            "machine_made": True,
        },
        MACHINE,
    )
    items.place_item(session, opportunity, step, MACHINE)
    for insight in insights:
        items.link_items(session, insight, opportunity, MACHINE)
    report.opportunities_proposed += 1
