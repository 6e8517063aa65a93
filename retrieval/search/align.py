"""Word-level alignment of a question with candidate sentences, across languages.

Each content word of the question is compared by word vector with every distinct word of the candidate
articles. Raw cosines of single words sit in a narrow band, so each question word's similarities are turned into
z-scores against the candidate vocabulary as a whole: its translation ("drones" -> "طائرات") stands several
deviations above the rest, while a word nothing in the articles means ("cost") has no such outlier.

From that: per sentence, a soft lexical coverage (the idf-weighted share of the question's words it holds a
good match of) and which question words it holds the best match of; per question word, how well it aligns
anywhere in the candidates (an abstention signal); and for "how many X" questions, how well X aligns with the
words around each number of a sentence. An English question word is weighed by the idf of the Arabic word it
aligns to, an Arabic one by its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.search.answer_type import near_numbers
from retrieval.search.words import Word, content_words

Z_LOW, Z_HIGH = 2.0, 5.0  # a match below Z_LOW deviations earns nothing, one above Z_HIGH full credit
Z_ALIGNED = 3.0  # a question word with no match this strong in the candidates is aligned nowhere
NEAR_BEST = 0.5  # a sentence "holds" a question word's alignment when its match is this close to the best


@dataclass
class Alignment:
    """Per sentence: `soft` coverage, `best` (idf share of question words whose best match it holds), `focus`
    (the counted word's best match among the words around a number; -inf without one). Per question word:
    its best z-score anywhere (`word_z`) and its weight (`weights`, idf shares summing to 1)."""

    soft: np.ndarray
    best: np.ndarray
    focus: np.ndarray | None
    word_z: np.ndarray
    weights: np.ndarray
    credit: np.ndarray | None = None  # (question words, sentences): each word's credit in each sentence

    @property
    def uncovered(self) -> float:
        """The idf share of the question's words that align with nothing in the candidate articles."""
        return float(self.weights[self.word_z < Z_ALIGNED].sum()) if len(self.weights) else 0.0

    @property
    def weakest(self) -> float:
        """The best z-score of the question word that aligns worst (0 with no content word)."""
        return float(self.word_z.min()) if len(self.word_z) else 0.0


def align(
    question_words: Sequence[Word],
    question_vectors: np.ndarray,
    texts: Sequence[str],
    vectors: Callable[[list[Word]], np.ndarray],
    idf: Callable[[str], float | None],
    focus: Sequence[str] = (),
) -> Alignment:
    """Align the question's words (`question_vectors`, one row each, L2-normalised) with the candidate
    sentences' words; `vectors` gives the vocabulary vectors of words (rows in order), `idf` a stem's idf (None
    when the corpus lacks it);
    `focus` holds the keys of what a number question counts (`answer_type.counted_words`)."""
    n = len(texts)
    sentences = [content_words(t) for t in texts]
    vocab: dict[str, int] = {}
    first: list[Word] = []
    for words in sentences:
        for w in words:
            if w.key not in vocab:
                vocab[w.key] = len(first)
                first.append(w)
    m = len(question_words)
    if m == 0 or not first:
        empty = np.zeros(n)
        return Alignment(empty, empty, None, np.zeros(m), np.full(m, 1.0 / max(m, 1)))
    sims = np.asarray(question_vectors, dtype=np.float32) @ np.asarray(vectors(first), dtype=np.float32).T
    z = (sims - sims.mean(1, keepdims=True)) / (sims.std(1, keepdims=True) + 1e-6)
    z = np.hstack([z, np.full((m, 1), -10.0)])  # a last column for sentences without content words
    word_z = z[:, :-1].max(1)

    # weights: an Arabic question word's own idf when the corpus has it, else its best match's
    best_word = z[:, :-1].argmax(1)
    own = [idf(q.stem) for q in question_words]
    weights = np.array(
        [
            w if w is not None else (idf(first[int(j)].stem) or 0.0)
            for w, j in zip(own, best_word, strict=True)
        ]
    )
    weights = weights / weights.sum() if weights.sum() > 0 else np.full(m, 1.0 / m)

    index = [[vocab[w.key] for w in words] + [len(first)] for words in sentences]
    flat = np.fromiter((i for ix in index for i in ix), dtype=np.int64)
    starts = np.r_[0, np.cumsum([len(ix) for ix in index])[:-1]]
    per_sentence = np.maximum.reduceat(z[:, flat], starts, axis=1)  # (m, n): each word's best match in each
    credit = np.clip((per_sentence - Z_LOW) / (Z_HIGH - Z_LOW), 0.0, 1.0)
    soft = weights @ credit
    holds = per_sentence >= word_z[:, None] - NEAR_BEST
    best = weights @ (holds & (word_z[:, None] >= Z_ALIGNED))

    focus_sim = _focus_near_numbers(question_words, focus, z, vocab, texts)
    return Alignment(soft, best, focus_sim, word_z, weights, credit)


def _focus_near_numbers(
    question_words: Sequence[Word],
    focus: Sequence[str],
    z: np.ndarray,
    vocab: dict[str, int],
    texts: Sequence[str],
) -> np.ndarray | None:
    """Per sentence, the best z-score of what a number question counts among the words next to one of its
    numbers (-10 for a sentence with none); None when the question counts nothing."""
    keys = [q.key for q in question_words]
    rows = [keys.index(k) for k in focus if k in keys]
    if not rows:
        return None
    counted = z[rows].max(0)  # per vocabulary word: its best match with any counted word
    focus_sim = np.full(len(texts), -10.0)
    for i, text in enumerate(texts):
        near = [vocab[k] for k in near_numbers(text) if k in vocab]
        if near:
            focus_sim[i] = float(counted[near].max())
    return focus_sim
