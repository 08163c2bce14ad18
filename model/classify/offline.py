"""The offline classifier: TF-IDF features, no network, learning from confirmed placements.

With no confirmed placements it works zero-shot: a signal goes to the step whose name,
description and stage read most like it (word and character n-grams, and the meaning of the
sentence when an embedding model is at hand), refined by one round of self-training on the
signals being placed. With confirmed placements it is a logistic regression over them, with
each step's name and description as extra examples so that steps nobody confirmed yet can
still be chosen.

N-grams see the words a customer uses; a sentence embedding (``model.classify.embeddings``)
sees what they mean, so "my card has not come yet" and "still waiting on the delivery" land
together. The two are joined into one feature space, the embedding weighted to carry about as
much as the n-grams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

# Below this many confirmed placements (or steps covered) the classifier stays zero-shot.
MIN_EXAMPLES = 20
MIN_STEPS_COVERED = 2
ZERO_SHOT_SHARPNESS = 25.0
# How much the sentence embedding counts beside the n-grams (both rows have unit length).
EMBEDDING_WEIGHT = 2.0

# With embeddings, the confirmed placements nearest in meaning vote beside the regression: the
# closest this many, each weighted by exp(sharpness * similarity), the votes counting this much
# against the regression's probabilities.
NEIGHBOURS = 10
NEIGHBOUR_SHARPNESS = 10.0
NEIGHBOUR_WEIGHT = 1.0
NEIGHBOUR_CHUNK = 1000

# Texts in, one unit-length row per text out.
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class StepProfile:
    """What the classifier knows of a step."""

    id: int
    name: str
    description: str | None = None
    stage: str | None = None

    def document(self) -> str:
        """The step as text: its name, its description and the stage it belongs to (the stage
        says what part of the journey the moment is in, which the name alone may not)."""
        name = self.name.replace("Customer's", "").replace("Customer", "").strip()
        return f"{name}. {self.description or ''} {self.stage or ''}".strip()


@dataclass(frozen=True)
class Prediction:
    """The best step for a text, how sure the classifier is, and the runners-up."""

    step_id: int
    confidence: float
    candidates: tuple[tuple[int, float], ...]


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )


class OfflineClassifier:
    """Places texts on steps; ``fit`` with confirmed placements, or use it zero-shot."""

    def __init__(
        self,
        steps: Sequence[StepProfile],
        *,
        regularization: float = 20.0,
        embed: Embed | None = None,
        embedding_name: str = "embeddings",
    ) -> None:
        if not steps:
            raise ValueError("a journey needs at least one step to place signals on")
        self.steps = list(steps)
        self.step_ids = np.array([step.id for step in self.steps])
        self.regularization = regularization
        self.embed = embed
        self.embedding_name = embedding_name
        self.examples: list[str] = []
        self.labels: list[int] = []

    @property
    def name(self) -> str:
        name = "offline:supervised" if self.supervised else "offline:zero-shot"
        return f"{name}+{self.embedding_name}" if self.embed is not None else name

    @property
    def supervised(self) -> bool:
        return len(self.examples) >= MIN_EXAMPLES and len(set(self.labels)) >= MIN_STEPS_COVERED

    def fit(self, texts: Sequence[str], step_ids: Sequence[int]) -> OfflineClassifier:
        """Learn from confirmed placements (texts and the ids of their steps)."""
        known = set(self.step_ids.tolist())
        pairs = [(t, s) for t, s in zip(texts, step_ids, strict=True) if s in known and t.strip()]
        self.examples = [t for t, _ in pairs]
        self.labels = [s for _, s in pairs]
        return self

    def predict(self, texts: Sequence[str], *, top_k: int = 5) -> list[Prediction]:
        """Place each text; confidences are probabilities over the journey's steps."""
        if not texts:
            return []
        documents = [step.document() for step in self.steps]
        features = _features().fit(documents + self.examples + list(texts))
        step_ngrams, text_ngrams = features.transform(documents), features.transform(list(texts))
        step_vectors, text_vectors = self._embedded(documents), self._embedded(texts)
        step_matrix = _joined(step_ngrams, step_vectors)
        text_matrix = _joined(text_ngrams, text_vectors)
        if self.supervised:
            examples = features.transform(self.examples)
            example_vectors = self._embedded(self.examples)
            example_matrix = _joined(examples, example_vectors)
            probabilities = self._supervised(example_matrix, step_matrix, text_matrix)
            if example_vectors is not None and text_vectors is not None:
                votes = self._neighbour_votes(example_vectors, text_vectors)
                probabilities = (probabilities + NEIGHBOUR_WEIGHT * votes) / (1 + NEIGHBOUR_WEIGHT)
        else:
            similarity = (text_ngrams @ step_ngrams.T).toarray()
            if text_vectors is not None and step_vectors is not None:
                similarity += text_vectors @ step_vectors.T
            probabilities = self._zero_shot(similarity, step_matrix, text_matrix)
        return [self._prediction(row, top_k) for row in probabilities]

    def _embedded(self, texts: Sequence[str]) -> np.ndarray | None:
        return self.embed(texts) if self.embed is not None and len(texts) else None

    def _supervised(self, examples: csr_matrix, steps: csr_matrix, texts: csr_matrix) -> np.ndarray:
        matrix = vstack([examples, steps, steps])
        labels = np.concatenate([np.array(self.labels), self.step_ids, self.step_ids])
        model = LogisticRegression(C=self.regularization, max_iter=3000).fit(matrix, labels)
        return self._aligned(model, model.predict_proba(texts))

    def _neighbour_votes(self, examples: np.ndarray, texts: np.ndarray) -> np.ndarray:
        """Each text's step distribution among its nearest confirmed placements."""
        column = {step_id: index for index, step_id in enumerate(self.step_ids.tolist())}
        labels = np.array([column[label] for label in self.labels])
        count = min(NEIGHBOURS, len(labels))
        votes = np.zeros((len(texts), len(self.steps)))
        for start in range(0, len(texts), NEIGHBOUR_CHUNK):
            similarity = texts[start : start + NEIGHBOUR_CHUNK] @ examples.T
            nearest = np.argpartition(-similarity, count - 1, axis=1)[:, :count]
            closeness = np.take_along_axis(similarity, nearest, axis=1)
            weights = np.exp(
                NEIGHBOUR_SHARPNESS * (closeness - closeness.max(axis=1, keepdims=True))
            )
            rows = np.repeat(np.arange(len(nearest)), count) + start
            np.add.at(votes, (rows, labels[nearest].ravel()), weights.ravel())
        return votes / votes.sum(axis=1, keepdims=True)

    def _zero_shot(
        self, similarity: np.ndarray, steps: csr_matrix, texts: csr_matrix
    ) -> np.ndarray:
        probabilities = _softmax(similarity * ZERO_SHOT_SHARPNESS)
        if texts.shape[0] < 4 * len(self.steps):
            return probabilities
        # One round of self-training: the texts each step is surest of teach the model the
        # customers' own words for it.
        best = probabilities.argmax(axis=1)
        sure = probabilities.max(axis=1)
        keep = np.zeros(texts.shape[0], dtype=bool)
        for index in range(len(self.steps)):
            members = np.where(best == index)[0]
            if len(members):
                keep[members[np.argsort(-sure[members])][: max(3, len(members) // 2)]] = True
        matrix = vstack([texts[keep], steps, steps])
        labels = np.concatenate([self.step_ids[best[keep]], self.step_ids, self.step_ids])
        model = LogisticRegression(C=10.0, max_iter=2000).fit(matrix, labels)
        return self._aligned(model, model.predict_proba(texts))

    def _aligned(self, model: LogisticRegression, probabilities: np.ndarray) -> np.ndarray:
        """Reorder a model's columns to the journey's step order."""
        columns = {label: i for i, label in enumerate(model.classes_.tolist())}
        aligned = np.zeros((probabilities.shape[0], len(self.steps)))
        for index, step_id in enumerate(self.step_ids.tolist()):
            if step_id in columns:
                aligned[:, index] = probabilities[:, columns[step_id]]
        return aligned

    def _prediction(self, row: np.ndarray, top_k: int) -> Prediction:
        order = np.argsort(-row)[:top_k]
        candidates = tuple((int(self.step_ids[i]), float(row[i])) for i in order)
        return Prediction(
            step_id=candidates[0][0], confidence=candidates[0][1], candidates=candidates
        )


def _joined(ngrams: csr_matrix, vectors: np.ndarray | None) -> csr_matrix:
    """N-gram features with the weighted sentence embeddings beside them."""
    if vectors is None:
        return ngrams
    return hstack([ngrams, csr_matrix(vectors * EMBEDDING_WEIGHT)]).tocsr()


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exponent = np.exp(shifted)
    return exponent / exponent.sum(axis=1, keepdims=True)
