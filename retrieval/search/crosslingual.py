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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.search.word_vectors import one_blas_thread
from retrieval.search.words import Word, content_words

Z_MIN = 3.5  # a vocabulary word this many deviations above a question word's mean cosine is its translation,
COS_MIN = 0.6  # if its cosine is this high too: a small vocabulary always has some outlier ("cake" -> "مفخخ")
PER_WORD = 3  # at most this many translations per question word
_KEYS, _MATRIX = "vocabulary.json", "vocabulary.npy"


@dataclass(frozen=True)
class Vocabulary:
    """The store's distinct content words: their BM25 stems and L2-normalised USE vectors (float32 in memory,
    float16 on disk: 2 KB per word while searching)."""

    stems: tuple[str, ...]
    matrix: np.ndarray

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
        sims = q @ vocabulary.matrix.T  # (question words, vocabulary)
    z = (sims - sims.mean(1, keepdims=True)) / (sims.std(1, keepdims=True) + 1e-6)
    k = min(per_word, z.shape[1])
    tokens: dict[str, None] = {}
    for row, cosines in zip(z, sims, strict=True):
        best = np.argpartition(-row, k - 1)[:k]
        for j in best[np.argsort(-row[best])]:
            if row[j] >= z_min and cosines[j] >= cos_min:
                tokens[vocabulary.stems[int(j)]] = None
    return list(tokens)


def question_tokens(tokens: Sequence[str], question_vectors: np.ndarray, vocabulary: Vocabulary) -> list[str]:
    """An English question's BM25 tokens followed by its words' Arabic translations from the vocabulary."""
    return [*tokens, *translated_tokens(question_vectors, vocabulary)]
