"""Placing signals on steps, and the review loop where people correct the placements."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from sqlalchemy.orm import Session

from model import repository
from model.base import utcnow
from model.classify.embeddings import EmbeddingModelError, SentenceEncoder, load_encoder
from model.classify.llm import (
    LLMClassifier,
    LLMRequest,
    LLMUsage,
    cache_key,
    journey_version,
)
from model.classify.offline import OfflineClassifier, Prediction, StepProfile
from model.enums import SignalState
from model.errors import InvalidInput, NotFound
from model.settings import ClassifySettings
from model.tables import ClassifyRun, Journey, Signal, Workspace

PERSON = "person"
NO_EMBEDDINGS = "none"
AUTO_EMBEDDINGS = "auto"

log = logging.getLogger(__name__)


@dataclass
class ClassifyReport:
    """What a classification run did, and what its LLM calls cost."""

    journey: str
    classifier: str = ""
    placed: int = 0
    accepted: int = 0
    accepted_by_llm: int = 0
    to_review: int = 0
    examples: int = 0
    cache_hits: int = 0
    llm: LLMUsage = field(default_factory=LLMUsage)
    per_step: Counter[str] = field(default_factory=Counter)

    @property
    def share_accepted(self) -> float:
        return self.accepted / self.placed if self.placed else 0.0

    @property
    def share_without_llm(self) -> float:
        return (self.accepted - self.accepted_by_llm) / self.placed if self.placed else 0.0


def step_profiles(session: Session, journey: Journey) -> list[StepProfile]:
    return [
        StepProfile(id=step.id, name=step.name, description=step.description, stage=stage.name)
        for step, stage in repository.step_profiles(session, journey.id)
    ]


def encoder_from_settings(settings: ClassifySettings) -> SentenceEncoder | None:
    """The configured sentence encoder; None when switched off, or when 'auto' finds no
    packaged model (said once in the log, as classification goes on with n-grams alone)."""
    choice = settings.embedding_model.strip()
    if choice.lower() == NO_EMBEDDINGS:
        return None
    if choice.lower() == AUTO_EMBEDDINGS:
        return _packaged_encoder()
    return load_encoder(choice)


@lru_cache(maxsize=1)
def _packaged_encoder() -> SentenceEncoder | None:
    try:
        return load_encoder(None)
    except EmbeddingModelError as error:
        log.warning("classifying without sentence embeddings: %s", error)
        return None


class StoredEmbeddings:
    """Encodes texts, keeping every vector in the database so no text is encoded twice, and in
    memory for the run, so the examples a run reuses on every batch are read once."""

    def __init__(self, session: Session, encoder: SentenceEncoder) -> None:
        self.session = session
        self.encoder = encoder
        self.encoded = 0
        self.known: dict[str, bytes] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        keys = [hashlib.sha256(t.encode(errors="surrogatepass")).hexdigest() for t in texts]
        unknown = [key for key in keys if key not in self.known]
        self.known.update(repository.stored_embeddings(self.session, self.encoder.key, unknown))
        missing = {
            key: text for key, text in zip(keys, texts, strict=True) if key not in self.known
        }
        if missing:
            vectors = self.encoder.encode(list(missing.values()))
            fresh = {
                key: v.astype("<f4").tobytes() for key, v in zip(missing, vectors, strict=True)
            }
            now = utcnow()
            repository.store_embeddings(
                self.session,
                [
                    {"model": self.encoder.key, "key": key, "vector": vector, "created_at": now}
                    for key, vector in fresh.items()
                ],
            )
            self.known.update(fresh)
            self.encoded += len(fresh)
        return np.stack([np.frombuffer(self.known[key], dtype="<f4") for key in keys])


def llm_from_settings(settings: ClassifySettings) -> LLMClassifier | None:
    """The configured LLM classifier, or None when no model is set."""
    if not settings.llm_model:
        return None
    return LLMClassifier(
        model=settings.llm_model,
        api_base=settings.llm_api_base,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        batch_size=settings.llm_batch_size,
        examples_per_step=settings.llm_examples_per_step,
        timeout=settings.llm_timeout_seconds,
        max_attempts=settings.llm_max_attempts,
        max_calls=settings.llm_max_calls,
    )


def classify_journey(
    session: Session,
    workspace: Workspace,
    journey: Journey,
    settings: ClassifySettings,
    llm: LLMClassifier | None = None,
) -> ClassifyReport:
    """Place every new signal of the journey (or of no journey yet) on a step.

    The offline classifier goes first and learns from every confirmed placement; what it is
    sure of is accepted without an LLM call. The rest go to the LLM when one is configured
    (its sure answers are accepted) and otherwise keep their best guess and wait for review.
    """
    profiles = step_profiles(session, journey)
    if not profiles:
        raise InvalidInput(f"journey {journey.slug!r} has no steps to place signals on")
    llm = llm if llm is not None else llm_from_settings(settings)
    report = ClassifyReport(journey=journey.slug)
    run = ClassifyRun(workspace_id=workspace.id, journey_id=journey.id)
    session.add(run)
    examples = repository.confirmed_examples(session, journey.id)
    encoder = encoder_from_settings(settings)
    classifier = OfflineClassifier(
        profiles,
        embed=StoredEmbeddings(session, encoder) if encoder is not None else None,
        embedding_name=encoder.name if encoder is not None else "embeddings",
    ).fit([t for t, _ in examples], [s for _, s in examples])
    report.classifier, report.examples = classifier.name, len(classifier.examples)
    if llm is not None:
        report.classifier += f" + {llm.name}"
        llm.examples = _few_shot(examples, settings.llm_examples_per_step)
    by_id = {p.id: p for p in profiles}
    version = journey_version(profiles)
    after = 0
    while True:
        batch = repository.signals_to_place(
            session, workspace.id, journey.id, settings.batch_size, after
        )
        if not batch:
            break
        after = batch[-1].id
        predictions = classifier.predict([s.text for s in batch], top_k=settings.llm_candidates)
        unsure = []
        for signal, prediction in zip(batch, predictions, strict=True):
            signal.journey_id = journey.id
            sure = prediction.confidence >= settings.accept_threshold
            _place(signal, prediction.step_id, prediction.confidence, classifier.name, sure)
            if not sure and llm is not None:
                unsure.append((signal, prediction))
        if unsure and llm is not None:
            _ask_llm(session, llm, unsure, by_id, version, settings, report)
        for signal in batch:
            report.placed += 1
            accepted = signal.state == SignalState.CLASSIFIED
            report.accepted += int(accepted)
            report.to_review += int(not accepted)
            report.accepted_by_llm += int(accepted and (signal.classifier or "").startswith("llm:"))
            if signal.step_id is not None:
                report.per_step[by_id[signal.step_id].name] += 1
        session.flush()
    if llm is not None:
        report.llm = llm.usage
    _record_run(run, report)
    session.flush()
    return report


def _place(
    signal: Signal, step_id: int | None, confidence: float, classifier: str, sure: bool
) -> None:
    signal.step_id = step_id
    signal.confidence = round(confidence, 6)
    signal.classifier = classifier
    signal.state = (SignalState.CLASSIFIED if sure else SignalState.NEEDS_REVIEW).value


def _few_shot(examples: list[tuple[str, int]], per_step: int) -> dict[int, list[str]]:
    chosen: dict[int, list[str]] = {}
    for text, step_id in reversed(examples):  # the latest confirmations first
        texts = chosen.setdefault(step_id, [])
        if len(texts) < per_step:
            texts.append(text)
    return chosen


def _ask_llm(
    session: Session,
    llm: LLMClassifier,
    unsure: list[tuple[Signal, Prediction]],
    by_id: dict[int, StepProfile],
    version: str,
    settings: ClassifySettings,
    report: ClassifyReport,
) -> None:
    keys = [cache_key(llm.model, version, signal.text) for signal, _ in unsure]
    cached = repository.llm_cache_entries(session, keys)
    # One question per distinct text: repeats share the answer.
    first_of: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key not in cached:
            first_of.setdefault(key, index)
    report.cache_hits += sum(1 for key in keys if key in cached)
    asking = sorted(first_of.values())
    requests = [
        LLMRequest(unsure[i][0].text, [by_id[step_id] for step_id, _ in unsure[i][1].candidates])
        for i in asking
    ]
    fresh = []
    for index, answer in zip(asking, llm.place(requests), strict=True):
        if answer is not None:
            cached[keys[index]] = answer
            fresh.append(
                {
                    "key": keys[index],
                    "step_id": answer.step_id,
                    "confidence": answer.confidence,
                    "model": llm.model,
                    "created_at": utcnow(),
                }
            )
    if fresh:
        repository.store_llm_answers(session, fresh)
    answers = {index: cached.get(key) for index, key in enumerate(keys)}
    for index, (signal, prediction) in enumerate(unsure):
        answer = answers.get(index)
        if answer is None:
            continue  # no valid answer within the budget: the offline guess waits for review
        sure = answer.step_id is not None and answer.confidence >= settings.llm_accept_threshold
        step_id = answer.step_id if answer.step_id is not None else prediction.step_id
        _place(signal, step_id, answer.confidence, llm.name, sure)


def _record_run(run: ClassifyRun, report: ClassifyReport) -> None:
    run.finished_at = utcnow()
    run.placed = report.placed
    run.accepted_offline = report.accepted - report.accepted_by_llm
    run.accepted_llm = report.accepted_by_llm
    run.to_review = report.to_review
    run.cache_hits = report.cache_hits
    run.llm_calls = report.llm.calls
    run.llm_failures = report.llm.failures
    run.prompt_tokens = report.llm.prompt_tokens
    run.completion_tokens = report.llm.completion_tokens
    run.cost_usd = report.llm.cost_usd


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
