"""Placing signals on steps, and the review loop where people correct the placements."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from model import repository
from model.classify.offline import OfflineClassifier, StepProfile
from model.enums import SignalState
from model.errors import InvalidInput, NotFound
from model.settings import ClassifySettings
from model.tables import Journey, Signal, Workspace

PERSON = "person"


@dataclass
class ClassifyReport:
    """What a classification run did."""

    journey: str
    classifier: str = ""
    placed: int = 0
    accepted: int = 0
    to_review: int = 0
    examples: int = 0
    per_step: Counter[str] = field(default_factory=Counter)

    @property
    def share_accepted(self) -> float:
        return self.accepted / self.placed if self.placed else 0.0


def step_profiles(session: Session, journey: Journey) -> list[StepProfile]:
    return [
        StepProfile(id=step.id, name=step.name, description=step.description, stage=stage.name)
        for step, stage in repository.step_profiles(session, journey.id)
    ]


def classify_journey(
    session: Session, workspace: Workspace, journey: Journey, settings: ClassifySettings
) -> ClassifyReport:
    """Place every new signal of the journey (or of no journey yet) on a step.

    The offline classifier learns from every confirmed placement. A placement at least
    ``accept_threshold`` sure is accepted; the rest keep their best guess and wait for review.
    """
    profiles = step_profiles(session, journey)
    report = ClassifyReport(journey=journey.slug)
    if not profiles:
        raise InvalidInput(f"journey {journey.slug!r} has no steps to place signals on")
    names = {p.id: p.name for p in profiles}
    examples = repository.confirmed_examples(session, journey.id)
    classifier = OfflineClassifier(profiles).fit([t for t, _ in examples], [s for _, s in examples])
    report.classifier, report.examples = classifier.name, len(classifier.examples)
    after = 0
    while True:
        batch = repository.signals_to_place(
            session, workspace.id, journey.id, settings.batch_size, after
        )
        if not batch:
            return report
        after = batch[-1].id
        for signal, prediction in zip(
            batch, classifier.predict([s.text for s in batch]), strict=True
        ):
            sure = prediction.confidence >= settings.accept_threshold
            signal.journey_id = journey.id
            signal.step_id = prediction.step_id
            signal.confidence = round(prediction.confidence, 6)
            signal.classifier = classifier.name
            signal.state = (SignalState.CLASSIFIED if sure else SignalState.NEEDS_REVIEW).value
            report.placed += 1
            report.accepted += int(sure)
            report.to_review += int(not sure)
            report.per_step[names[prediction.step_id]] += 1
        session.flush()


def _signal(session: Session, workspace_id: int, signal_id: int) -> Signal:
    signal = repository.signal_by_id(session, workspace_id, signal_id)
    if signal is None:
        raise NotFound(f"no signal {signal_id} in this workspace")
    return signal


def accept(session: Session, workspace_id: int, signal_id: int) -> Signal:
    """Confirm a signal's placement as it is; the classifier that made it stays recorded."""
    signal = _signal(session, workspace_id, signal_id)
    if signal.step_id is None:
        raise InvalidInput(
            f"signal {signal_id} has no step to accept; reassign it to a step instead"
        )
    signal.state = SignalState.CONFIRMED.value
    session.flush()
    return signal


def reassign(
    session: Session, workspace_id: int, signal_id: int, journey: Journey, step_name: str
) -> Signal:
    """Place a signal on another step of the journey: a person's confirmed placement."""
    signal = _signal(session, workspace_id, signal_id)
    wanted = step_name.strip().lower()
    matches = [p for p in step_profiles(session, journey) if p.name.strip().lower() == wanted]
    if not matches:
        raise NotFound(f"{step_name!r} is not a step of journey {journey.slug!r}")
    signal.journey_id = journey.id
    signal.step_id = matches[0].id
    signal.state = SignalState.CONFIRMED.value
    signal.classifier, signal.confidence = PERSON, 1.0
    session.flush()
    return signal


def reject(session: Session, workspace_id: int, signal_id: int) -> Signal:
    """Mark a signal's placement wrong with no better step: it is not used to learn from."""
    signal = _signal(session, workspace_id, signal_id)
    signal.state = SignalState.REJECTED.value
    session.flush()
    return signal


def mark_noise(session: Session, workspace_id: int, signal_id: int) -> Signal:
    """Mark a signal as noise: it says nothing about the journey."""
    signal = _signal(session, workspace_id, signal_id)
    signal.state = SignalState.IGNORED.value
    session.flush()
    return signal
