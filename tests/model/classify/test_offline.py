"""The offline classifier: zero-shot from step descriptions, supervised from confirmed placements."""

from __future__ import annotations

import numpy as np
import pytest

from model.classify import offline
from model.classify.offline import MIN_EXAMPLES, OfflineClassifier, StepProfile

STEPS = [
    StepProfile(
        1, "Customer orders a physical card", "Ordering a plastic card and waiting for delivery."
    ),
    StepProfile(2, "Customer tops up by card", "Adding money from a debit or credit card."),
    StepProfile(3, "Customer closes account", "Closing or terminating the account."),
]
EXAMPLES = {
    1: [
        "where is my new card",
        "card delivery is late",
        "has my card shipped yet",
        "track my card delivery",
    ],
    2: [
        "add money with my debit card",
        "top up from credit card failed",
        "load money using my visa",
        "card top up fee",
    ],
    3: [
        "close my account please",
        "terminate my membership",
        "delete everything and leave",
        "I want to quit",
    ],
}


def training() -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for step_id, examples in EXAMPLES.items():
        for round_ in range(2):
            for text in examples:
                texts.append(f"{text}{'!' * round_}")
                labels.append(step_id)
    return texts, labels


class TestZeroShot:
    def test_places_texts_by_the_steps_own_words(self) -> None:
        classifier = OfflineClassifier(STEPS)
        predictions = classifier.predict(
            [
                "I am still waiting for my plastic card delivery",
                "please terminate and close my account",
            ]
        )
        assert [p.step_id for p in predictions] == [1, 3]
        assert classifier.name == "offline:zero-shot"

    def test_confidences_are_probabilities_with_ranked_candidates(self) -> None:
        [prediction] = OfflineClassifier(STEPS).predict(
            ["adding money from my credit card"], top_k=3
        )
        assert prediction.step_id == 2
        assert len(prediction.candidates) == 3
        assert sum(c[1] for c in prediction.candidates) == pytest.approx(1.0)
        assert prediction.confidence == prediction.candidates[0][1]


class TestSupervised:
    def test_learns_from_confirmed_placements(self) -> None:
        texts, labels = training()
        assert len(texts) >= MIN_EXAMPLES
        classifier = OfflineClassifier(STEPS).fit(texts, labels)
        assert classifier.name == "offline:supervised"
        predictions = classifier.predict(
            ["when will the card arrive", "I want to quit and delete everything"]
        )
        assert [p.step_id for p in predictions] == [1, 3]

    def test_examples_for_unknown_steps_are_ignored(self) -> None:
        classifier = OfflineClassifier(STEPS).fit(["stray"], [99])
        assert classifier.examples == []
        assert not classifier.supervised

    def test_a_journey_without_steps_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least one step"):
            OfflineClassifier([])

    def test_nothing_to_place_places_nothing(self) -> None:
        assert OfflineClassifier(STEPS).predict([]) == []


class TestNeighbourVotes:
    """With embeddings, the confirmed placements nearest in meaning vote beside the regression."""

    @staticmethod
    def classifier() -> OfflineClassifier:
        classifier = OfflineClassifier(STEPS)
        classifier.fit(["a", "b", "c"], [1, 1, 2])
        return classifier

    def test_votes_follow_the_nearest_examples(self) -> None:
        examples = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        votes = self.classifier()._neighbour_votes(examples, np.array([[1.0, 0.0], [0.0, 1.0]]))
        far = np.exp(-offline.NEIGHBOUR_SHARPNESS)
        np.testing.assert_allclose(votes[0], [2 / (2 + far), far / (2 + far), 0.0])
        np.testing.assert_allclose(votes[1], [2 * far / (1 + 2 * far), 1 / (1 + 2 * far), 0.0])

    def test_chunks_give_the_same_votes(self, monkeypatch: pytest.MonkeyPatch) -> None:
        rng = np.random.default_rng(0)
        examples, texts = rng.normal(size=(3, 4)), rng.normal(size=(7, 4))
        whole = self.classifier()._neighbour_votes(examples, texts)
        monkeypatch.setattr(offline, "NEIGHBOUR_CHUNK", 2)
        np.testing.assert_allclose(self.classifier()._neighbour_votes(examples, texts), whole)
