"""The sentence ranker and the answer-or-abstain decision: features of candidate sentences, a small fitted model.

Search hands over every sentence of its candidate articles with raw evidence (dense cosine, lexical coverage,
its article's scores). `sentence_features` turns that into one row of features per sentence; a linear model
(weights fitted by benchmarks/train_ranker.py on folds split by article, shipped in `ranker.json`) scores them.
A second small model per question language reads the ranked list as a whole (margins, agreement of dense and
lexical evidence) and says how likely it is that the articles answer the question at all: below its threshold,
abstain.

Inference is a few lines of numpy so the search path stays fast and needs nothing beyond the shipped file.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from retrieval.search.align import Alignment
from retrieval.search.answer_type import expected_type, supplies
from retrieval.text.arabic import normalize, tokenize

MODEL_FILE = Path(__file__).with_name("ranker.json")


class RankerModelError(RuntimeError):
    """The shipped model file is missing or unreadable; the message names the file and what to do."""


@dataclass
class Candidates:
    """Every sentence of the candidate articles, in article order, with the raw evidence search measured.

    `vectors` (the sentences' passage vectors) and `query` give context features; `doc_dense` is each
    article's best chunk cosine, `doc_order` the articles as search ranked them.
    """

    question: str
    lang: str
    q_tokens: list[str]
    doc_ids: list[str]
    ns: np.ndarray
    texts: list[str]
    dense: np.ndarray
    lexical: np.ndarray
    doc_dense: dict[str, float]
    vectors: np.ndarray | None = None
    query: np.ndarray | None = None
    use: np.ndarray | None = None  # USE-multilingual cosine of each sentence with the question
    alignment: Alignment | None = None  # word-level alignment of the question with the sentences (align.py)
    extra: dict[str, np.ndarray] = field(default_factory=dict)


_NUMBER = re.compile(r"\d+")
_FOCUS = re.compile(
    r"\b(?:how (?:many|much)|what (?:number|percentage|proportion|amount) of)\s+(\w+)"
    r"|(?:^|\s)(?:كم|ما عدد|ما هو عدد|ما نسبه|ما مقدار|ما حجم)\s+(\w+)"
)


def question_focus(question: str) -> str:
    """The word a number question counts ("how many drones" -> "drone"-stem, "كم شخصية" -> its stem), or ""."""
    match = _FOCUS.search(normalize(question))
    if not match:
        return ""
    tokens = tokenize(match.group(1) or match.group(2) or "")
    return tokens[0] if tokens else ""


def _near(tokens: list[str], focus: str, window: int = 3) -> bool:
    """Whether a number stands within `window` tokens of the focus word."""
    spots = [i for i, t in enumerate(tokens) if t == focus or (len(focus) > 3 and t.startswith(focus))]
    numbers = [i for i, t in enumerate(tokens) if _NUMBER.search(t)]
    return any(abs(i - j) <= window for i in spots for j in numbers)


@cache
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(tokenize(text))


@cache
def _grams(text: str) -> frozenset[str]:
    """Character 4-grams of a text's content words (whole words when shorter): Arabic forms of one root
    that light stemming leaves apart (الانتخابات / انتخابية) still share most of them."""
    grams = set()
    for token in _tokens(text):
        padded = f"_{token}_"
        grams.update(padded[i : i + 4] for i in range(max(len(padded) - 3, 1)))
    return frozenset(grams)


FEATURES = (
    "dense",
    "dense_gap",
    "dense_doc_gap",
    "context",
    "neighbour",
    "lexical",
    "lexical_gap",
    "lexical_doc_gap",
    "doc_dense",
    "doc_gap",
    "doc_lexical",
    "first",
    "position",
    "length",
    "type",
    "type_near",
    "numbers_shared",
    "ngram",
    "ngram_gap",
    "use",
    "use_gap",
    "soft",
    "soft_gap",
    "best",
    "best_gap",
    "focus_align",
)


def alignment_features(a: Alignment | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sentence from the word alignment: soft coverage of the question's words, the share of them whose
    best match it holds, and how well the counted word matches a word next to one of its numbers (clipped:
    a sentence without a number near anything sits at the floor). Zeros without an alignment."""
    if a is None:
        return np.zeros(n), np.zeros(n), np.zeros(n)
    focus = np.clip(a.focus, -2.0, 8.0) / 5.0 if a.focus is not None else np.zeros(n)
    return np.asarray(a.soft, dtype=np.float64), np.asarray(a.best, dtype=np.float64), focus


def _neighbourhood(c: Candidates, dense: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence: the best dense score of its article's previous or next sentence (rows are in article
    order), and its cosine with the question once its neighbours' vectors are mixed in at half weight."""
    prev_same = np.r_[False, docs[1:] == docs[:-1]]
    next_same = np.r_[docs[:-1] == docs[1:], False]
    prev_dense = np.where(prev_same, np.r_[-1.0, dense[:-1]], -1.0)
    next_dense = np.where(next_same, np.r_[dense[1:], -1.0], -1.0)
    neighbour = np.maximum(prev_dense, next_dense)
    neighbour = np.where(neighbour < -0.5, dense, neighbour)

    if c.vectors is not None and c.query is not None and len(c.vectors):
        v = np.asarray(c.vectors, dtype=np.float64)
        prev_v = np.where(prev_same[:, None], np.r_[np.zeros((1, v.shape[1])), v[:-1]], 0.0)
        next_v = np.where(next_same[:, None], np.r_[v[1:], np.zeros((1, v.shape[1]))], 0.0)
        ctx = v + 0.5 * (prev_v + next_v)
        ctx /= np.linalg.norm(ctx, axis=1, keepdims=True) + 1e-9
        context = ctx @ np.asarray(c.query, dtype=np.float64)
    else:
        context = dense
    return neighbour, context


def sentence_features(c: Candidates) -> np.ndarray:
    """One row of FEATURES per candidate sentence (see the README's Tuning section for what each measures)."""
    n = len(c.texts)
    if n == 0:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    dense = np.asarray(c.dense, dtype=np.float64)
    lexical = np.asarray(c.lexical, dtype=np.float64)
    docs = np.array(c.doc_ids)
    ns = np.asarray(c.ns)
    doc_max_dense: dict[str, float] = {}
    doc_max_lex: dict[str, float] = {}
    doc_len: dict[str, int] = {}
    for d, dn, lx, k in zip(c.doc_ids, dense, lexical, ns, strict=True):
        doc_max_dense[d] = max(doc_max_dense.get(d, -1.0), dn)
        doc_max_lex[d] = max(doc_max_lex.get(d, 0.0), lx)
        doc_len[d] = max(doc_len.get(d, 0), int(k) + 1)
    best_doc = max(c.doc_dense[d] for d in doc_len)
    neighbour, context = _neighbourhood(c, dense, docs)
    expected = expected_type(c.question)
    focus = question_focus(c.question) if expected == "number" else ""
    q_numbers = set(_NUMBER.findall(normalize(c.question)))
    use = np.asarray(c.use if c.use is not None else np.zeros(n), dtype=np.float64)
    soft, best, focus_align = alignment_features(c.alignment, n)
    q_grams = _grams(c.question)
    ngram = np.array([len(q_grams & _grams(t)) / max(len(q_grams), 1) for t in c.texts])
    rows = np.zeros((n, len(FEATURES)), dtype=np.float64)
    for i, text in enumerate(c.texts):
        d = c.doc_ids[i]
        tokens = _tokens(text)
        matched = supplies(expected, text)
        rows[i] = (
            dense[i],
            dense[i] - dense.max(),
            dense[i] - doc_max_dense[d],
            context[i],
            neighbour[i],
            lexical[i],
            lexical[i] - lexical.max(),
            lexical[i] - doc_max_lex[d],
            c.doc_dense[d],
            c.doc_dense[d] - best_doc,
            doc_max_lex[d],
            float(ns[i] == 0),
            ns[i] / max(doc_len[d], 1),
            math.log1p(len(text)) / 6.0,
            float(matched),
            float(bool(focus) and matched and _near(list(tokens), focus)),
            float(bool(q_numbers) and bool(q_numbers & set(_NUMBER.findall(normalize(text))))),
            ngram[i],
            ngram[i] - ngram.max(),
            use[i],
            use[i] - use.max(),
            soft[i],
            soft[i] - soft.max(),
            best[i],
            best[i] - best.max(),
            focus_align[i],
        )
    return rows.astype(np.float32)


# ---- the shipped model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearModel:
    """w . (x - mean) / scale + bias over named features."""

    features: tuple[str, ...]
    weights: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    bias: float = 0.0

    def score(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    @classmethod
    def from_dict(cls, data: dict) -> LinearModel:
        features = tuple(data["features"])
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("weights", "mean", "scale")]
        if any(a.shape != (len(features),) for a in arrays):
            raise ValueError("weights, mean and scale must have one value per feature")
        return cls(features, *arrays, bias=float(data.get("bias", 0.0)))

    def to_dict(self) -> dict:
        return {
            "features": list(self.features),
            "weights": [round(float(x), 6) for x in self.weights],
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "bias": round(self.bias, 6),
        }


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


FOCUS_FOUND = 2.5  # z-score of the counted word's best match near a number below which it is found nowhere

LIST_FEATURES = (
    "top",
    "top_prob",
    "margin_next",
    "margin_other_doc",
    "top_dense",
    "top_use",
    "top_lexical",
    "max_lexical",
    "top_doc_dense",
    "doc_margin",
    "dense_agrees",
    "lexical_agrees",
    "type_missing",
    "focus_top",
    "focus_nowhere",
)


def list_features(c: Candidates, scores: np.ndarray) -> np.ndarray:
    """Features of a whole ranked list for the answer-or-abstain decision: how strong its best sentence is on
    its own (dense, USE, lexical), how clearly it stands out (margins to the next sentence and to the best
    sentence of another article), whether the separate signals agree on it, and for a number question how
    well what it counts matches the words around a number of the best sentence, or of any candidate."""
    if len(scores) == 0:
        return np.array([-10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    order = np.argsort(-scores)
    top = int(order[0])
    p = np.exp(scores - scores.max())
    p /= p.sum()
    second = scores[order[1]] if len(order) > 1 else scores[top] - 5.0
    top_doc = c.doc_ids[top]
    other = [scores[i] for i in order if c.doc_ids[i] != top_doc]
    docs = sorted(c.doc_dense.values(), reverse=True)
    use = c.use if c.use is not None else np.zeros(len(scores))
    expected = expected_type(c.question)
    focus = c.alignment.focus if c.alignment is not None else None
    return np.array(
        [
            scores[top],
            p[top],
            scores[top] - second,
            scores[top] - (other[0] if other else scores[top] - 5.0),
            c.dense[top],
            use[top],
            c.lexical[top],
            float(np.max(c.lexical)),
            c.doc_dense[top_doc],
            c.doc_dense[top_doc] - (docs[1] if len(docs) > 1 else docs[0] - 0.1),
            float(c.doc_ids[int(np.argmax(c.dense))] == top_doc),
            float(c.doc_ids[int(np.argmax(c.lexical))] == top_doc) if np.max(c.lexical) > 0 else 0.0,
            float(bool(expected) and not supplies(expected, c.texts[top])),
            float(np.clip(focus[top], -2.0, 8.0)) if focus is not None else 0.0,
            float(focus is not None and focus.max() < FOCUS_FOUND),
        ]
    )


@dataclass(frozen=True)
class Decision:
    """Whether to answer: the abstention model's score against the threshold of the question's language."""

    answer: bool
    confidence: float  # the model's probability that the articles answer the question
    score: float
    threshold: float
    no_count: bool = False  # a number question whose best sentence holds no number (`no_count_given`)


@dataclass(frozen=True)
class Ranker:
    """The fitted models of `ranker.json`: per question language a sentence ranker and an abstention model
    with its threshold, and the least share of the evidence a second citation must hold."""

    rankers: dict[str, LinearModel]
    abstain: dict[str, LinearModel]
    thresholds: dict[str, float]
    second_share: float
    path: str = ""

    @classmethod
    def load(cls, path: Path | None = None) -> Ranker:
        path = Path(path or MODEL_FILE)
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise RankerModelError(
                f"The ranker model {path} is missing. Reinstall khabar (it ships retrieval/search/ranker.json) or point "
                "KHABAR_RANKER_FILE at a file written by benchmarks/train_ranker.py --write."
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RankerModelError(f"The ranker model {path} cannot be read: {exc}") from None
        try:
            rankers = {lang: LinearModel.from_dict(data["ranker"][lang]) for lang in ("ar", "en")}
            abstain = {lang: LinearModel.from_dict(data["abstain"][lang]) for lang in ("ar", "en")}
            thresholds = {lang: float(data["abstain"][lang]["threshold"]) for lang in ("ar", "en")}
            second = float(data["second_citation_share"])
            models = [
                *((m, FEATURES) for m in rankers.values()),
                *((m, LIST_FEATURES) for m in abstain.values()),
            ]
            for model, names in models:
                if model.features != names:
                    raise ValueError(
                        f"its features {list(model.features)} are not this khabar's {list(names)}"
                    )
        except (KeyError, TypeError, ValueError) as exc:
            raise RankerModelError(
                f"The ranker model {path} is not a model this khabar can use ({type(exc).__name__}: {exc}). "
                "Write a new one with benchmarks/train_ranker.py --write."
            ) from None
        return cls(rankers, abstain, thresholds, second, str(path))

    def rank(self, c: Candidates) -> np.ndarray:
        """A score per candidate sentence; higher is more likely the evidence."""
        lang = "en" if c.lang == "en" else "ar"
        return self.rankers[lang].score(sentence_features(c).astype(np.float64))

    def decide(
        self, c: Candidates, scores: np.ndarray, bias: float = 0.0, threshold: float | None = None
    ) -> Decision:
        """Answer or abstain, from the ranked list as a whole. `threshold` replaces the fitted one of the
        question's language; `bias` > 0 abstains more, < 0 less."""
        lang = "en" if c.lang == "en" else "ar"
        score = float(self.abstain[lang].score(list_features(c, scores)[None, :].astype(np.float64))[0])
        threshold = (self.thresholds[lang] if threshold is None else threshold) + bias
        no_count = no_count_given(c, scores)
        return Decision(
            score >= threshold and not no_count, float(sigmoid(score)), score, threshold, no_count
        )


def no_count_given(c: Candidates, scores: np.ndarray) -> bool:
    """A "how many / how much" question whose best sentence holds no number at all: quoting it cannot answer.

    A rule, not a fitted weight: in ranker.json the `type_missing` feature's weight is too small to decide,
    because a top sentence without a number is rare in the training sets. Measured on them (README, Tuning),
    it refuses at most 0.1 points more of the answerable questions."""
    if not len(scores) or expected_type(c.question) != "number":
        return False
    return not supplies("number", c.texts[int(np.argmax(scores))])
