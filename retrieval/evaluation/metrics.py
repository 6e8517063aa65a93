"""Evaluation metrics as pure functions of per-question records, so every number can be checked by hand.

Conventions (also spelled out in each report):
- retrieval and evidence metrics, answer_contains_gold and answerable_refused are over ANSWERABLE questions;
- unanswerable_abstained is over UNANSWERABLE questions (the set's own and, with hidden articles, those whose
  gold articles were hidden: the `hidden` group);
- citation precision is over all citations made in the group (a citation on an unanswerable question is wrong);
- language and abstention accuracy are over ALL questions; a question that raised counts as wrong in every
  rate (no ranking, no citation, no answer: refused when answerable, not abstained when unanswerable) and is
  left out of latency and cited characters only.
A rate over an empty denominator is None (null in JSON), never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

METRIC_KEYS = (
    "n",
    "doc_hit@1",
    "doc_hit@5",
    "doc_hit@10",
    "mrr",
    "evidence_hit@1",
    "evidence_hit@3",
    "evidence_hit@all",
    "citation_precision",
    "cited_chars_mean",
    "answer_contains_gold",
    "language_accuracy",
    "abstention_accuracy",
    "answerable_refused",
    "unanswerable_abstained",
    "latency_p50_ms",
    "latency_p95_ms",
    "errors",
)
GROUPS = ("overall", "ar", "en", "answerable", "unanswerable", "hidden")
MAX_RANK = 10  # rankings are cut here: mrr is MRR@10
MAX_CITATIONS = 1 << 30  # evidence_hit@all: a gold citation anywhere in the answer


@dataclass(frozen=True)
class Record:
    """What one method did on one question, reduced to what the metrics need."""

    qid: str
    lang: str
    answerable: bool
    gold_docs: frozenset[str] = frozenset()
    doc_ranking: tuple[str, ...] = ()  # article ids, best first
    citation_gold: tuple[bool, ...] = ()  # one flag per citation, in citation order
    cited_chars: int = 0  # characters of all cited text in the answer
    abstained: bool = False
    answer_lang: str | None = None
    contains_gold: bool = False
    latency_ms: float | None = None
    passage_gold_rank: int | None = (
        None  # 1-based rank of the first gold sentence/chunk among ranked passages
    )
    error: str | None = None
    hidden_gold: bool = False  # unanswerable only because its gold articles were hidden from the store


def _mean(values: Sequence[float]) -> float | None:
    return float(sum(values) / len(values)) if values else None


def doc_rank(record: Record) -> int | None:
    """1-based rank of the first gold article within the top MAX_RANK, or None."""
    for rank, doc_id in enumerate(record.doc_ranking[:MAX_RANK], start=1):
        if doc_id in record.gold_docs:
            return rank
    return None


def doc_hit_at(records: Sequence[Record], k: int) -> float | None:
    """Share of answerable questions whose gold article is in the first k of the ranking."""
    answerable = [r for r in records if r.answerable]
    return _mean([1.0 if (rank := doc_rank(r)) is not None and rank <= k else 0.0 for r in answerable])


def passage_hit_at(records: Sequence[Record], k: int) -> float | None:
    """Share of answerable questions with a gold sentence (khabar) or chunk (baseline) among the top k passages."""
    answerable = [r for r in records if r.answerable]
    return _mean(
        [1.0 if r.passage_gold_rank is not None and r.passage_gold_rank <= k else 0.0 for r in answerable]
    )


def mrr(records: Sequence[Record]) -> float | None:
    """Mean of 1/rank of the first gold article (0 when it is not in the top MAX_RANK), answerable only."""
    answerable = [r for r in records if r.answerable]
    return _mean([1.0 / rank if (rank := doc_rank(r)) else 0.0 for r in answerable])


def evidence_hit_at(records: Sequence[Record], k: int) -> float | None:
    """Share of answerable questions with a gold citation among their first k citations."""
    answerable = [r for r in records if r.answerable]
    return _mean([1.0 if any(r.citation_gold[:k]) else 0.0 for r in answerable])


def citation_precision(records: Sequence[Record]) -> float | None:
    """Gold citations / all citations, pooled over the group's questions (micro-average)."""
    total = sum(len(r.citation_gold) for r in records)
    return sum(sum(r.citation_gold) for r in records) / total if total else None


def cited_chars_mean(records: Sequence[Record]) -> float | None:
    """Mean characters quoted per answer that cites something (abstentions and errors are not answers)."""
    return _mean([r.cited_chars for r in records if r.error is None and not r.abstained and r.citation_gold])


def answer_contains_gold(records: Sequence[Record]) -> float | None:
    """Share of answerable questions whose answer text contains a gold answer string (normalised)."""
    return _mean([1.0 if r.contains_gold else 0.0 for r in records if r.answerable])


def language_accuracy(records: Sequence[Record]) -> float | None:
    """Share of all questions answered (or abstained) in the question's language, as measured on the answer."""
    return _mean([1.0 if r.error is None and r.answer_lang == r.lang else 0.0 for r in records])


def abstention_accuracy(records: Sequence[Record]) -> float | None:
    """Share of all questions where abstaining matched unanswerability (answerable -> not abstained)."""
    return _mean([1.0 if r.error is None and r.abstained != r.answerable else 0.0 for r in records])


def answerable_refused(records: Sequence[Record]) -> float | None:
    """Share of answerable questions left without an answer: abstained, or raised."""
    return _mean([1.0 if r.error is not None or r.abstained else 0.0 for r in records if r.answerable])


def unanswerable_abstained(records: Sequence[Record]) -> float | None:
    """Share of unanswerable questions (the set's own and hidden-article ones) on which the method abstained."""
    return _mean([1.0 if r.error is None and r.abstained else 0.0 for r in records if not r.answerable])


def latency_percentile(records: Sequence[Record], q: float) -> float | None:
    """Latency percentile in ms over questions that did not raise (numpy's linear interpolation)."""
    values = [r.latency_ms for r in records if r.error is None and r.latency_ms is not None]
    return float(np.percentile(values, q)) if values else None


def compute(records: Sequence[Record]) -> dict[str, float | int | None]:
    """Every metric of the issue for one group of records, under the names scripts read."""
    values: dict[str, float | int | None] = {
        "n": len(records),
        "doc_hit@1": doc_hit_at(records, 1),
        "doc_hit@5": doc_hit_at(records, 5),
        "doc_hit@10": doc_hit_at(records, 10),
        "mrr": mrr(records),
        "evidence_hit@1": evidence_hit_at(records, 1),
        "evidence_hit@3": evidence_hit_at(records, 3),
        "evidence_hit@all": evidence_hit_at(records, MAX_CITATIONS),
        "citation_precision": citation_precision(records),
        "cited_chars_mean": cited_chars_mean(records),
        "answer_contains_gold": answer_contains_gold(records),
        "language_accuracy": language_accuracy(records),
        "abstention_accuracy": abstention_accuracy(records),
        "answerable_refused": answerable_refused(records),
        "unanswerable_abstained": unanswerable_abstained(records),
        "latency_p50_ms": latency_percentile(records, 50),
        "latency_p95_ms": latency_percentile(records, 95),
        "errors": sum(1 for r in records if r.error is not None),
    }
    return values


GROUP_FILTERS: dict[str, Callable[[Record], bool]] = {
    "overall": lambda r: True,
    "ar": lambda r: r.lang == "ar",
    "en": lambda r: r.lang == "en",
    "answerable": lambda r: r.answerable,
    "unanswerable": lambda r: not r.answerable,
    "hidden": lambda r: r.hidden_gold,
}


def by_group(records: Sequence[Record]) -> dict[str, dict[str, float | int | None]]:
    """`compute` for overall, per language, per answerability and for hidden-article negatives; empty: n=0, nulls."""
    return {name: compute([r for r in records if keep(r)]) for name, keep in GROUP_FILTERS.items()}
