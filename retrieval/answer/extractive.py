"""The Answer result object and the extractive answerer, whose citations are exact by construction.

An extractive answer is made only of sentences returned by search, quoted verbatim with their ids, so a
citation can never point at text the article does not contain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from prompts import phrases
from retrieval.corpus.dedup import similar_sentences
from retrieval.search.searcher import SentenceHit
from retrieval.text.language import Lang


@dataclass
class Citation:
    """Source n of an answer: the article, the sentence id and the sentence, verbatim; the article's link,
    publication date and outlet ("" when unknown); and the other articles that print the same sentence
    (`also_in`: dicts with doc_id, sentence_id, source, url, published), filled in by the pipeline."""

    n: int
    doc_id: str
    sentence_id: str
    title: str
    text: str
    score: float
    url: str = ""
    published: str = ""
    source: str = ""
    also_in: list[dict[str, str | None]] = field(default_factory=list)

    @classmethod
    def from_hit(cls, n: int, hit: SentenceHit) -> Citation:
        """Source n quoting a search hit: every field but `n` and `also_in` is the hit's own."""
        return cls(
            n=n, **{f.name: getattr(hit, f.name) for f in fields(cls) if f.name not in ("n", "also_in")}
        )


@dataclass
class AnswerSentence:
    """One sentence of a generated answer after verification: shown only when `supported`; `reason` says why not."""

    text: str
    citations: list[int]
    supported: bool
    reason: str = ""
    similarity: float | None = None


@dataclass
class Answer:
    """What every front end renders; `to_dict()` is the `--json` schema."""

    question: str
    lang: Lang
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"  # "llm" | "extractive" | "fallback" (LLM configured, its answer not usable)
    notice: str = ""
    sentences: list[AnswerSentence] = field(default_factory=list)  # LLM answers only: each with its verdict

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        data["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        data["citations"] = [
            {**c, "score": round(c["score"], 4), **{k: c[k] or None for k in ("url", "published", "source")}}
            for c in data["citations"]
        ]
        for sentence in data["sentences"]:
            if sentence["similarity"] is not None:
                sentence["similarity"] = round(sentence["similarity"], 4)
        return data


def select_citations(
    hits: list[SentenceHit], max_citations: int, threshold: float = 0.0, second_share: float = 1.0
) -> list[SentenceHit]:
    """The best sentence, plus runners-up that hold at least `second_share` of the evidence themselves.

    A runner-up is usually a neighbour of the best sentence that is not evidence, so it is quoted only when
    the ranker gives it a large share on its own (fitted so that such second citations are right at least 80%
    of the time on the tuning sets). Nothing when the best sentence's share is below `threshold`.
    """
    hits = [h for h in hits if not h.planted]  # (search returns none; a flagged hit is never quoted)
    if not hits or hits[0].score < threshold:
        return []
    # Best first: [1] is always the strongest evidence. A copy of a quoted sentence (a wire copy, a word or
    # two changed) is not quoted again: it is listed in that citation's `also_in`.
    chosen = [hits[0]]
    for hit in hits[1:max_citations]:
        if hit.score >= second_share and not _copy_of(hit, chosen):
            chosen.append(hit)
    return chosen


def _copy_of(hit: SentenceHit, chosen: list[SentenceHit]) -> bool:
    if hit.skey and any(hit.skey == c.skey for c in chosen):
        return True
    return bool(similar_sentences([c.text for c in chosen], [hit.text]))


def abstention(question: str, lang: Lang, message: str = "abstain") -> Answer:
    """An answer that declines, with the phrase `message` of prompts/phrases.toml in the question's language."""
    return Answer(question=question, lang=lang, answer=phrases(lang)[message], abstained=True)


def extractive_answer(
    question: str,
    lang: Lang,
    hits: list[SentenceHit],
    max_citations: int,
    threshold: float = 0.0,
    second_share: float = 1.0,
) -> Answer:
    """Quote the best supporting sentences, each followed by its [n]; abstain when there is nothing to quote."""
    text = phrases(lang)
    chosen = select_citations(hits, max_citations, threshold, second_share)
    if not chosen:
        return abstention(question, lang)
    citations = [Citation.from_hit(i, h) for i, h in enumerate(chosen, start=1)]
    quote = "«{}» [{}]" if lang == "ar" else "“{}” [{}]"
    body = "\n".join(quote.format(c.text, c.n) for c in citations)
    return Answer(
        question=question,
        lang=lang,
        answer=f"{text['framing']}\n{body}",
        abstained=False,
        citations=citations,
    )
