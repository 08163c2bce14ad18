"""Sentence embeddings with NumPy, checked against the reference implementation's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.classify.embeddings import (
    DEFAULT_DIGESTS,
    EmbeddingModelError,
    SentenceEncoder,
    default_model_directory,
    load_encoder,
    verify,
)
from model.classify.offline import OfflineClassifier
from tests.model.classify.test_offline import STEPS, training

needs_model = pytest.mark.skipif(
    default_model_directory() is None,
    reason="the packaged all-MiniLM-L6-v2 is not installed (make install installs it)",
)

SENTENCES = [
    "My card still hasn't arrived.",
    "How do I top up with Apple Pay?",
    "Why was I charged twice?",
]
# The first six dimensions of each sentence's embedding, and the sentences' cosine
# similarities, as sentence-transformers computes them with PyTorch for the same model.
REFERENCE_START = [
    [-0.01601, 0.009322, 0.024905, 0.045053, 0.022009, -0.067625],
    [-0.008272, -0.030046, 0.028361, -0.038939, -0.002365, 0.054093],
    [0.016722, 0.025626, 0.027653, 0.062311, 0.055728, -0.052534],
]
REFERENCE_SIMILARITY = [
    [1.0, 0.199154, 0.219075],
    [0.199154, 1.0, 0.204818],
    [0.219075, 0.204818, 1.0],
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder(None)


@needs_model
class TestEncoder:
    def test_matches_the_reference_implementation(self, encoder: SentenceEncoder) -> None:
        vectors = encoder.encode(SENTENCES)
        assert vectors.shape == (3, 384)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(vectors[:, :6], REFERENCE_START, atol=2e-6)
        np.testing.assert_allclose(vectors @ vectors.T, REFERENCE_SIMILARITY, atol=2e-6)

    def test_vectors_have_unit_length(self, encoder: SentenceEncoder) -> None:
        vectors = encoder.encode(["", "a", "word " * 500])  # empty, tiny, truncated
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    def test_batches_keep_the_order_and_do_not_change_the_vectors(
        self, encoder: SentenceEncoder
    ) -> None:
        texts = [f"{'please ' * (i % 7)}where is my card number {i}" for i in range(40)]
        together = encoder.encode(texts, batch_size=16)
        alone = np.vstack([encoder.encode([text]) for text in texts])
        np.testing.assert_allclose(together, alone, atol=1e-5)

    def test_an_empty_list_gives_no_rows(self, encoder: SentenceEncoder) -> None:
        assert encoder.encode([]).shape == (0, 384)

    def test_meaning_counts_where_words_differ(self, encoder: SentenceEncoder) -> None:
        texts = [
            "My plastic never showed up in the post",
            "I want to stop being a customer",
            "How can I put funds in using my visa?",
            "I am leaving your bank for good",
        ]
        expected = [1, 3, 2, 3]
        ngrams_only = [p.step_id for p in OfflineClassifier(STEPS).predict(texts)]
        classifier = OfflineClassifier(STEPS, embed=encoder.encode, embedding_name=encoder.name)
        assert ngrams_only != expected  # the words alone miss some of these
        assert [p.step_id for p in classifier.predict(texts)] == expected
        assert classifier.name == "offline:zero-shot+all-MiniLM-L6-v2"

    def test_supervised_placements_use_the_meaning_and_the_neighbours(
        self, encoder: SentenceEncoder
    ) -> None:
        texts, labels = training()
        classifier = OfflineClassifier(STEPS, embed=encoder.encode, embedding_name=encoder.name)
        classifier.fit(texts, labels)
        predictions = classifier.predict(
            ["The parcel with my plastic is late", "I am leaving your bank for good"]
        )
        assert [p.step_id for p in predictions] == [1, 3]
        assert classifier.name == "offline:supervised+all-MiniLM-L6-v2"
        for prediction in predictions:
            assert sum(confidence for _, confidence in prediction.candidates) == pytest.approx(1)

    def test_the_key_names_the_weights(self, encoder: SentenceEncoder) -> None:
        assert encoder.key == f"all-MiniLM-L6-v2@{DEFAULT_DIGESTS['model.safetensors'][:16]}"


@needs_model
def test_a_changed_file_is_refused() -> None:
    directory = default_model_directory()
    assert directory is not None
    with pytest.raises(EmbeddingModelError, match="does not match the published model"):
        verify(directory, {"config.json": "0" * 64})


@needs_model
def test_a_model_directory_can_be_named(tmp_path: Path) -> None:
    packaged = default_model_directory()
    assert packaged is not None
    copy = tmp_path / "my-model"
    copy.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (copy / name).symlink_to(packaged / name)
    encoder = load_encoder(str(copy))
    assert encoder.name == "my-model"
    assert encoder.key == f"my-model@{DEFAULT_DIGESTS['model.safetensors'][:16]}"


def test_a_missing_directory_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelError, match="JOURNEYOPS_CLASSIFY__EMBEDDING_MODEL"):
        load_encoder(str(tmp_path / "nowhere"))


def test_other_architectures_are_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(EmbeddingModelError, match="only BERT-family"):
        SentenceEncoder(tmp_path)


def test_a_directory_without_weights_says_so(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_act": "gelu"}))
    with pytest.raises(EmbeddingModelError, match="cannot read a sentence-transformers model"):
        SentenceEncoder(tmp_path)
