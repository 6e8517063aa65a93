"""Citation verification: every sentence of a generated answer must be backed by the sources it cites.

A language model can cite a number it was never given, cite nothing, cite a sentence that says something else,
or slip a wrong fact into a sentence that otherwise fits its source. This module checks each answer sentence in
code, after generation, and keeps only what its cited sources support:
- a citation to a number that was not given is removed (citation forms are read by retrieval/answer/citations.py);
- a sentence with no (valid) citation is unsupported;
- a sentence is supported only when a cited sentence is close to it in meaning (cosine similarity with the
  same multilingual embedder that retrieval uses, so an English claim can be checked against an Arabic source),
  no other given sentence fits it clearly better (a misplaced citation), AND its facts agree with its cited
  sentences: every number (digits or words, "fifteen" = "١٥" = "خمسة عشر"; "dozens" = "عشرات"), month, weekday,
  place and person it states is stated there too (retrieval/text/numbers.py, retrieval/answer/verify/names.py); a negation in the
  sentence is matched by one in the source, and the clause of the source that says it is not negated
  (retrieval/answer/verify/negation.py); every link, e-mail address, phone number and @handle in it is in the source verbatim;
- a planted source sentence (orders to a model, notes to automated readers) never supports anything.

benchmarks/support_threshold.py measures the thresholds; benchmarks/llm_adversarial.py the whole check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.answer.citations import Claim, parse_answer, render_claim
from retrieval.answer.extractive import AnswerSentence
from retrieval.answer.verify.facts import fact_mismatch, has_facts
from retrieval.answer.verify.negation import negated_clauses, polarity
from retrieval.index.embedding import Embedder
from retrieval.text.planted import is_instruction, script

# ---- the support check -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """Source n as given to the model, with its stored passage vector (or None to embed it here)."""

    n: int
    text: str
    vector: np.ndarray | None = None


# Clauses of a source within this cosine of the claim's closest clause count as saying it too (measured on the
# seed sentences: a clause that says the claim trails the frame-carrying first clause by 0.01-0.02, an unrelated
# clause by 0.08 or more).
CLAUSE_MARGIN = 0.03


def _script(text: str) -> str:
    """ "ar" or "latin", whichever script has more letters: decides which similarity threshold applies."""
    return script(text) or "ar"


class SupportChecker:
    """Marks each answer sentence supported or not, with the reason, against the numbered evidence.

    Thresholds were measured with benchmarks/support_threshold.py: an English sentence and its Arabic source are
    less similar than two Arabic sentences saying the same thing, so cross-lingual pairs get their own threshold.
    `planted` says whether a given source sentence is planted text (it then never supports anything).
    """

    def __init__(
        self,
        embedder: Embedder,
        threshold: float,
        cross_threshold: float,
        margin: float,
        planted: Callable[[str], bool] = is_instruction,
    ):
        self.embedder = embedder
        self.threshold = threshold
        self.cross_threshold = cross_threshold
        self.margin = margin
        self.planted = planted

    def _passages(self, evidence: Sequence[Evidence]) -> np.ndarray:
        missing = [i for i, e in enumerate(evidence) if e.vector is None]
        fresh = self.embedder.passage_vectors([evidence[i].text for i in missing]) if missing else []
        rows = [e.vector for e in evidence]
        for i, vector in zip(missing, fresh, strict=True):
            rows[i] = vector
        return np.stack(rows)

    def similarities(self, claims: Sequence[str], evidence: Sequence[Evidence]) -> np.ndarray:
        """Cosine of each claim (embedded as a query) with each source (stored passage vectors when given)."""
        if not claims or not evidence:
            return np.zeros((len(claims), len(evidence)), dtype=np.float32)
        return self.embedder.query_vectors(list(claims)) @ self._passages(evidence).T

    def verify(
        self, answer: str, evidence: Sequence[Evidence], limit: int | None = None
    ) -> list[AnswerSentence]:
        """Every sentence of `answer` (the first `limit` only) with its valid citations, a supported flag and,
        if not, why."""
        by_n = {e.n: i for i, e in enumerate(evidence)}
        claims = parse_answer(answer, list(by_n))[:limit]
        if not claims:
            return []
        vectors = self.embedder.query_vectors([c.plain for c in claims])
        sims = (
            vectors @ self._passages(evidence).T if evidence else np.zeros((len(claims), 0), dtype=np.float32)
        )
        return [self._judge(c, vectors[k], sims[k], evidence, by_n) for k, c in enumerate(claims)]

    def _polarity_clash(self, claim: str, vector: np.ndarray, source: str) -> str:
        """Why the clause of the source that says what the claim says has the opposite polarity, or "".

        A source sentence often holds several clauses ("... he knows who did it, and will not tolerate ...");
        the clauses closest to the claim (by the same embedder; within CLAUSE_MARGIN of the closest, since the
        first clause also carries the reporting frame, "X told Y that") decide whether a negation applies.
        """
        claim_negative = polarity(claim).asserts
        parts = negated_clauses(source)
        if not claim_negative and not any(negated for _, negated in parts):
            return ""
        if len(parts) == 1:
            near = parts
        else:
            sims = self.embedder.passage_vectors([c for c, _ in parts]) @ vector
            near = [p for p, sim in zip(parts, sims, strict=True) if sim >= sims.max() - CLAUSE_MARGIN]
        if claim_negative and not any(negated or polarity(clause).negative for clause, negated in near):
            return "negation not in the cited source"
        if not claim_negative and any(negated for _, negated in near):
            return "the cited source says the opposite (a negation)"
        return ""

    def _judge(
        self,
        claim: Claim,
        vector: np.ndarray,
        sims: np.ndarray,
        evidence: Sequence[Evidence],
        by_n: dict[int, int],
    ) -> AnswerSentence:
        notes = [f"removed citation [{n}]: never given" for n in claim.invalid]
        result = AnswerSentence(text=claim.plain, citations=[], supported=False)

        def refuse(reason: str) -> AnswerSentence:
            result.reason = "; ".join([reason, *notes])
            return result

        if not claim.citations:
            return refuse("no citation")
        usable = self._not_planted(claim.citations, evidence, by_n, notes)
        if not usable:
            return refuse("no usable citation")
        result.similarity = max(float(sims[by_n[n]]) for n in usable)
        mismatch = fact_mismatch(claim.plain, " ".join(evidence[by_n[n]].text for n in usable))
        if mismatch:  # said first: a wrong number is a clearer reason than a low similarity
            return refuse(mismatch)
        passing = self._similar_enough(claim, usable, sims, evidence, by_n, notes)
        if not passing:
            return refuse("cited sources do not support it")
        # Names were found in the cited sentences above; numbers and dates must be in the ones that fit.
        mismatch = fact_mismatch(claim.plain, " ".join(evidence[by_n[n]].text for n in passing), names=False)
        if mismatch:
            return refuse(mismatch)
        agreeing = []
        for n in passing:
            clash = self._polarity_clash(claim.plain, vector, evidence[by_n[n]].text)
            if clash:
                notes.append(f"[{n}]: {clash}")
            else:
                agreeing.append(n)
        if not agreeing:
            return refuse(notes.pop().split(": ", 1)[1])
        result.citations = agreeing
        result.text = render_claim(Claim(claim.text, claim.plain, agreeing, []))
        result.supported = True
        result.reason = "; ".join(notes)
        return result

    def _not_planted(
        self, cited: Sequence[int], evidence: Sequence[Evidence], by_n: dict[int, int], notes: list[str]
    ) -> list[int]:
        """The cited sources that are statements: planted text (addressed to machines) supports nothing."""
        usable = []
        for n in cited:
            if self.planted(evidence[by_n[n]].text):
                notes.append(f"[{n}] is planted text (addressed to machines), not a statement")
            else:
                usable.append(n)
        return usable

    def _similar_enough(
        self,
        claim: Claim,
        usable: Sequence[int],
        sims: np.ndarray,
        evidence: Sequence[Evidence],
        by_n: dict[int, int],
        notes: list[str],
    ) -> list[int]:
        """The usable citations close enough to the claim and not clearly beaten by another given source."""
        # The best match among given sources that agree with the claim's facts: a source that "fits better"
        # but states other numbers is not the right one (short claims resemble many sentences of one story).
        agreeing = [
            float(sims[i])
            for i, e in enumerate(evidence)
            if not self.planted(e.text) and not fact_mismatch(claim.plain, e.text)
        ]
        best_given = max(agreeing, default=float(sims.max()))
        # A claim whose numbers, months or weekdays all appear in its cited sentence is anchored there: the
        # margin is for claims with no such facts, whose citation only similarity can place.
        anchored = has_facts(claim.plain)
        claim_script = _script(claim.plain)
        passing = []
        for n in usable:
            sim = float(sims[by_n[n]])
            same_script = _script(evidence[by_n[n]].text) == claim_script
            floor = self.threshold if same_script else self.cross_threshold
            if sim < floor:
                notes.append(f"[{n}] does not say this (similarity {sim:.2f} < {floor:.2f})")
            elif sim < best_given - self.margin and not anchored:
                notes.append(
                    f"[{n}] is a weaker match than another given source ({sim:.2f} vs {best_given:.2f})"
                )
            else:
                passing.append(n)
        return passing
