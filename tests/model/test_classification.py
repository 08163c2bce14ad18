"""Placing signals on steps and the review loop, on the run's database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from model import repository
from model.classify.embeddings import default_model_directory
from model.errors import InvalidInput, NotFound
from model.services import classification, signal_files
from model.settings import ClassifySettings
from tests import factories

LABELLED = [
    ("Where is my card? It has not arrived", "Customer orders a physical card"),
    ("My new card still hasn't been delivered", "Customer orders a physical card"),
    ("How long does card delivery take?", "Customer orders a physical card"),
    ("Can I track the card you sent me?", "Customer orders a physical card"),
    ("I want to close my account", "Customer closes account"),
    ("Please terminate my account", "Customer closes account"),
    ("How do I delete my account?", "Customer closes account"),
    ("I'd like to leave and close everything", "Customer closes account"),
    ("My top up by card failed", "Top-up fails or is pending"),
    ("Why is my top-up still pending?", "Top-up fails or is pending"),
    ("The top up was reverted", "Top-up fails or is pending"),
    ("Top up declined again", "Top-up fails or is pending"),
]


# Placements name the sentence encoder beside the offline classifier when one is installed.
WITH_ENCODER = "+all-MiniLM-L6-v2" if default_model_directory() is not None else ""


def add(
    session: Session, ws: object, journey: object, texts: list[str], steps: list[str] | None = None
) -> None:
    rows = [{"text": t, "step": s} for t, s in zip(texts, steps or [""] * len(texts), strict=True)]
    signal_files.import_signals(session, ws, journey, rows, step_column="step" if steps else None)  # type: ignore[arg-type]


class TestClassify:
    def test_every_new_signal_is_placed_with_its_classifier_and_confidence(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["my card never arrived in the post", "close my account now"])
        report = classification.classify_journey(
            session, ws, journey, ClassifySettings(accept_threshold=0.0)
        )
        assert (report.placed, report.accepted, report.to_review) == (2, 2, 0)
        rows = signal_files.export_rows(session, journey)
        assert {r["state"] for r in rows} == {"classified"}
        assert {r["classifier"] for r in rows} == {"offline:zero-shot" + WITH_ENCODER}
        assert rows[0]["step"] == "Customer orders a physical card"
        assert all(0 < float(r["confidence"]) <= 1 for r in rows)

    def test_unsure_placements_keep_their_best_guess_and_wait_for_review(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["hello there", "my card never arrived"])
        report = classification.classify_journey(
            session, ws, journey, ClassifySettings(accept_threshold=1.0)
        )
        assert report.to_review == 2
        waiting = repository.signals_in_review(session, ws.id, journey.id, 10)
        assert all(s.step_id is not None and s.state == "needs_review" for s in waiting)

    def test_confirmed_placements_are_learned_from_and_never_replaced(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        add(session, ws, journey, [t for t, _ in LABELLED] * 2, [s for _, s in LABELLED] * 2)
        add(
            session,
            ws,
            journey,
            ["the card you posted me is missing", "terminate my account please"],
        )
        report = classification.classify_journey(session, ws, journey, ClassifySettings())
        assert report.classifier == "offline:supervised" + WITH_ENCODER
        assert report.examples == 24
        assert report.placed == 2
        rows = signal_files.export_rows(session, journey)
        assert sum(r["state"] == "confirmed" for r in rows) == 24
        placed = {r["text"]: r["step"] for r in rows if r["state"] != "confirmed"}
        assert placed == {
            "the card you posted me is missing": "Customer orders a physical card",
            "terminate my account please": "Customer closes account",
        }

    def test_classifying_again_places_nothing_twice(self, session: Session, fintech: tuple) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["my card never arrived"])
        classification.classify_journey(session, ws, journey, ClassifySettings())
        again = classification.classify_journey(session, ws, journey, ClassifySettings())
        assert again.placed == 0

    @pytest.mark.skipif(not WITH_ENCODER, reason="the packaged sentence encoder is not installed")
    def test_each_text_is_encoded_once_and_kept(self, session: Session, fintech: tuple) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["my card never arrived", "my card never arrived", "close it"])
        classification.classify_journey(session, ws, journey, ClassifySettings())
        encoder = classification.encoder_from_settings(ClassifySettings())
        assert encoder is not None
        stored = classification.StoredEmbeddings(session, encoder)
        vectors = stored(["my card never arrived", "close it"])
        assert stored.encoded == 0  # both were kept by the run
        assert vectors.shape == (2, 384)
        fresh = stored(["a text never seen", "a text never seen"])
        assert stored.encoded == 1
        assert (fresh[0] == fresh[1]).all()
        again = classification.StoredEmbeddings(session, encoder)(["a text never seen"])
        assert (again[0] == fresh[0]).all()
        assert stored([]).shape == (0, 384)

    def test_embeddings_can_be_switched_off(self, session: Session, fintech: tuple) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["my card never arrived"])
        settings = ClassifySettings(embedding_model="none")
        report = classification.classify_journey(session, ws, journey, settings)
        assert report.classifier == "offline:zero-shot"

    def test_a_missing_embedding_model_says_what_to_set(
        self, session: Session, fintech: tuple, tmp_path: object
    ) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["my card never arrived"])
        settings = ClassifySettings(embedding_model=f"{tmp_path}/absent")
        with pytest.raises(InvalidInput, match=r"embedding model directory .* does not exist"):
            classification.classify_journey(session, ws, journey, settings)

    def test_a_journey_without_steps_says_so(self, session: Session) -> None:
        ws = factories.workspace(session)
        journey, _, _ = factories.journey(session, ws, stages=0)
        with pytest.raises(InvalidInput, match="has no steps"):
            classification.classify_journey(session, ws, journey, ClassifySettings())


class TestReview:
    def test_accept_reassign_reject_and_noise(self, session: Session, fintech: tuple) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["one", "two", "three", "four"])
        classification.classify_journey(
            session, ws, journey, ClassifySettings(accept_threshold=1.0)
        )
        first, second, third, fourth = repository.signals_in_review(session, ws.id, journey.id, 10)
        guess = first.step_id
        assert classification.accept(session, ws.id, first.id).state == "confirmed"
        assert first.step_id == guess
        moved = classification.reassign(
            session, ws.id, second.id, journey, "customer closes account"
        )
        assert (moved.state, moved.classifier, moved.confidence) == ("confirmed", "person", 1.0)
        assert classification.reject(session, ws.id, third.id).state == "rejected"
        assert classification.mark_noise(session, ws.id, fourth.id).state == "ignored"
        assert repository.signals_in_review(session, ws.id, journey.id, 10) == []
        examples = repository.confirmed_examples(session, journey.id)
        assert ("two", moved.step_id) in examples
        assert len(examples) == 2

    def test_unknown_signal_or_step_is_not_found(self, session: Session, fintech: tuple) -> None:
        ws, journey = fintech
        with pytest.raises(NotFound, match="no signal 999"):
            classification.accept(session, ws.id, 999)
        add(session, ws, journey, ["one"])
        [signal] = repository.signals(session, ws.id)
        with pytest.raises(NotFound, match="'Flying' is not a step"):
            classification.reassign(session, ws.id, signal.id, journey, "Flying")

    def test_signals_of_another_workspace_are_not_found(
        self, session: Session, fintech: tuple
    ) -> None:
        ws, journey = fintech
        add(session, ws, journey, ["one"])
        [signal] = repository.signals(session, ws.id)
        other = factories.workspace(session, "other")
        with pytest.raises(NotFound):
            classification.accept(session, other.id, signal.id)
