"""English question words as Arabic BM25 tokens: each word's nearest words in the store's own vocabulary.

BM25 finds nothing for an English question over Arabic articles, so English questions had dense retrieval
alone, and the gold article was among the candidates less often (0.945 on xquad.en against 0.988 for the same
questions in Arabic). Every content word of the store has a USE-multilingual vector (`word_vectors.py`); a
question word's cosines with the whole vocabulary become z-scores, and the words that stand out ("drones" ->
"طائرات", "مسيرات") join the question's BM25 tokens, for the lexical candidates and the lexical features alike.
The answer still quotes the Arabic sentences as they are; nothing is translated for the reader.

`Z_MIN`, `COS_MIN` and `PER_WORD` were chosen on XQuAD en out-of-fold (README, Tuning).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from retrieval.search.word_vectors import one_blas_thread
from retrieval.search.words import Word, content_words

Z_MIN = 3.5  # a vocabulary word this many deviations above a question word's mean cosine is its translation,
COS_MIN = 0.6  # if its cosine is this high too: a small vocabulary always has some outlier ("cake" -> "مفخخ")
PER_WORD = 3  # at most this many translations per question word
_KEYS, _MATRIX = "vocabulary.json", "vocabulary.npy"
HEAD_DIMENSIONS = 128  # principal directions a question word is first compared in (see `_Projection`)
_SLACK = 1e-3  # what float32 rounding of a bound could hide: words this close to the cut are compared in full


@dataclass(frozen=True)
class _Projection:
    """What finds a question word's translations without comparing it with every vocabulary vector in full.

    A word translates only if its cosine clears `cos_min` and `z_min` deviations above the question word's mean
    cosine with the vocabulary. Mean and deviation follow exactly from the vocabulary's mean vector and second
    moment matrix, and a cosine is bounded from above by its part in the `HEAD_DIMENSIONS` principal directions
    plus the product of the two vectors' norms outside them (Cauchy-Schwarz): only words whose bound clears the
    cut are compared in full, ~4% of them at 128 of 512 dimensions, a quarter of the reads and products of a
    full comparison. The words found are the same as a full comparison's (to float rounding)."""

    mean: np.ndarray  # (dims,) float64
    second: np.ndarray  # (dims, dims) float64: mean of v v^T
    basis: np.ndarray  # (dims, head) float32: the leading eigenvectors of `second`
    head: np.ndarray  # (words, head) float32: each word's coordinates in them
    tail: np.ndarray  # (words,) float32: each word's norm outside them

    @classmethod
    def of(cls, matrix: np.ndarray) -> _Projection:
        dims = matrix.shape[1]
        if not len(matrix):  # a store without complete articles: nothing to project (and no mean to take)
            head = np.zeros((0, 0), dtype=np.float32)
            basis = np.zeros((dims, 0), dtype=np.float32)
            return cls(np.zeros(dims), np.zeros((dims, dims)), basis, head, np.zeros(0, dtype=np.float32))
        second = np.zeros((dims, dims))
        for start in range(0, len(matrix), 8192):  # float64 in pieces: exact moments, bounded memory
            part = matrix[start : start + 8192].astype(np.float64)
            second += part.T @ part
        second /= len(matrix)
        basis = np.linalg.eigh(second)[1][:, ::-1][:, : min(HEAD_DIMENSIONS, dims)]
        head = np.ascontiguousarray(matrix @ basis.astype(np.float32))
        energy = np.einsum("ij,ij->i", matrix, matrix, dtype=np.float64)
        tail = np.sqrt(np.maximum(energy - np.einsum("ij,ij->i", head, head, dtype=np.float64), 0.0))
        mean = matrix.mean(0, dtype=np.float64)
        return cls(mean, second, basis.astype(np.float32), head, tail.astype(np.float32))


@dataclass(frozen=True)
class Vocabulary:
    """The store's distinct content words: their BM25 stems and L2-normalised USE vectors (float32 in memory,
    float16 on disk: 2 KB per word while searching)."""

    stems: tuple[str, ...]
    matrix: np.ndarray

    @cached_property
    def projection(self) -> _Projection:
        """Computed once per vocabulary (~0.3 s at 10k words; `Searcher.vocabulary` does it before a question)."""
        with one_blas_thread():  # on a loaded machine a second BLAS thread made it several times slower
            return _Projection.of(self.matrix)

    @classmethod
    def build(cls, texts: Iterable[str], lookup: Callable[[list[Word]], np.ndarray]) -> Vocabulary:
        """From the sentences' texts; `lookup` gives a vector per word (`WordVectors.lookup`)."""
        words = list({w.key: w for text in texts for w in content_words(text)}.values())
        if not words:
            return cls((), np.zeros((0, 0), dtype=np.float32))
        matrix = np.vstack([lookup(words[i : i + 5000]) for i in range(0, len(words), 5000)]).astype(
            np.float32
        )
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
        return cls(tuple(w.stem for w in words), matrix)

    def save(self, folder: Path) -> None:
        """Each file written whole and then renamed, so a process reading beside this one never sees half."""
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{_MATRIX}.tmp", "wb") as out:
            np.save(out, self.matrix.astype(np.float16))
        (folder / f"{_KEYS}.tmp").write_text(json.dumps(list(self.stems), ensure_ascii=False), "utf-8")
        os.replace(folder / f"{_MATRIX}.tmp", folder / _MATRIX)
        os.replace(folder / f"{_KEYS}.tmp", folder / _KEYS)

    @classmethod
    def load(cls, folder: Path) -> Vocabulary:
        """Raises OSError or ValueError when the folder holds no complete vocabulary."""
        stems = tuple(json.loads((folder / _KEYS).read_text("utf-8")))
        matrix = np.load(folder / _MATRIX).astype(np.float32)
        if len(stems) != len(matrix):
            raise ValueError(f"{folder}: {len(stems)} words but {len(matrix)} vectors")
        return cls(stems, matrix)


def translated_tokens(
    question_vectors: np.ndarray,
    vocabulary: Vocabulary,
    z_min: float = Z_MIN,
    cos_min: float = COS_MIN,
    per_word: int = PER_WORD,
) -> list[str]:
    """BM25 stems of the vocabulary words that stand out for each question word (rows of `question_vectors`),
    best first per word, without repeats."""
    if not len(vocabulary.stems) or not len(question_vectors):
        return []
    q = np.asarray(question_vectors, dtype=np.float32)
    q = q / (np.linalg.norm(q, axis=1, keepdims=True) + 1e-9)
    with one_blas_thread():
        return _translations(q, vocabulary, z_min, cos_min, per_word)


def _translations(
    q: np.ndarray, vocabulary: Vocabulary, z_min: float, cos_min: float, per_word: int
) -> list[str]:
    """`translated_tokens` for L2-normalised rows `q`, through the vocabulary's `_Projection`."""
    p = vocabulary.projection
    q64 = q.astype(np.float64)
    mean = q64 @ p.mean  # each question word's mean cosine with the vocabulary, and the deviation
    std = np.sqrt(np.maximum(((q64 @ p.second) * q64).sum(1) - mean**2, 0.0)) + 1e-6
    cut = np.maximum(cos_min, mean + z_min * std) - _SLACK
    q_head = q @ p.basis
    q_tail = np.sqrt(np.maximum((q64 * q64).sum(1) - (q_head * q_head).sum(1), 0.0)).astype(np.float32)
    bound = q_head @ p.head.T + q_tail[:, None] * p.tail  # >= each cosine
    tokens: dict[str, None] = {}
    for i, row in enumerate(q):
        near = np.flatnonzero(bound[i] >= cut[i])  # every word that could clear the cut
        cosines = vocabulary.matrix[near] @ row
        z = (cosines - mean[i]) / std[i]
        for j in np.argsort(-z, kind="stable")[:per_word]:  # a z-score orders as the cosine does
            if z[j] >= z_min and cosines[j] >= cos_min:
                tokens[vocabulary.stems[int(near[j])]] = None
    return list(tokens)


def question_tokens(tokens: Sequence[str], question_vectors: np.ndarray, vocabulary: Vocabulary) -> list[str]:
    """An English question's BM25 tokens followed by its words' Arabic translations from the vocabulary."""
    return [*tokens, *translated_tokens(question_vectors, vocabulary)]


class VocabularyShelf:
    """The vocabulary of one store state, shared by the searchers of one pipeline (an answer's, and evaluation's
    deeper one), so it is held in memory once: 2 KB per distinct store word."""

    def __init__(self) -> None:
        self._key: object = None
        self._vocabulary: Vocabulary | None = None
        self._lock = threading.Lock()

    def get(self, key: object, make: Callable[[], Vocabulary]) -> Vocabulary:
        """The vocabulary kept for `key` (the store state it was made from), or a new one from `make`."""
        with self._lock:
            if self._vocabulary is None or self._key != key:
                self._vocabulary, self._key = make(), key
            return self._vocabulary
