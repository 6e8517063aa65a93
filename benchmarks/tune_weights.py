"""Tune the fusion weights and the abstention threshold on a question set (a script, not a test).

    python benchmarks/tune_weights.py --corpus ../shared/eval/xquad.corpus.jsonl \
        ../shared/eval/xquad.ar.jsonl ../shared/eval/xquad.en.jsonl

Searches every question once with wide candidate settings and keeps each candidate sentence's raw evidence
(dense, lexical, article dense, article lexical). Weights are then re-scored offline on that evidence.
Unanswerable questions are simulated by hiding each question's gold article: the best remaining sentence is
what the answerer would see if the article were not in the store. Prints figures; changes nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from pathlib import Path

from retrieval.answer_type import expected_type, supplies
from retrieval.pipeline import Khabar
from retrieval.questions import Question, is_gold_sentence, load_questions
from retrieval.search import Weights, score_sentence
from retrieval.settings import Settings


def collect(kb: Khabar, questions: list[Question]) -> list[dict]:
    rows = []
    kb.searcher.refresh()
    for i, q in enumerate(questions):
        result = kb.searcher.search(q.question)
        rows.append(
            {
                "question": q.question,
                "lang": q.lang,
                "gold_docs": sorted(q.gold_docs),
                "hits": [
                    (
                        h.doc_id,
                        h.dense,
                        h.lexical,
                        h.doc_dense,
                        h.doc_lexical,
                        is_gold_sentence(h.doc_id, h.text, q.evidence),
                        h.text,
                    )
                    for h in result.hits
                ],
            }
        )
        if i % 200 == 0:
            print(f"  searched {i}/{len(questions)}", file=sys.stderr)
    return rows


def add_type_matches(by_set: dict) -> None:
    for rows in by_set.values():
        for row in rows:
            expected = expected_type(row["question"])
            row["matches"] = [supplies(expected, h[6]) for h in row["hits"]]


def evaluate(rows: list[dict], w: Weights) -> dict:
    hit1 = doc1 = 0
    pos_scores, neg_scores = [], []
    for row in rows:
        scored = sorted(
            (
                (score_sentence(w, dn, lx, dd, dl, m), doc, gold)
                for (doc, dn, lx, dd, dl, gold, _), m in zip(row["hits"], row["matches"], strict=True)
            ),
            reverse=True,
        )
        if not scored:
            continue
        hit1 += scored[0][2]
        doc1 += scored[0][1] in row["gold_docs"]
        pos_scores.append(scored[0][0])
        rest = [s for s in scored if s[1] not in row["gold_docs"]]
        if rest:
            neg_scores.append(rest[0][0])
    n = len(rows)
    return {"evidence@1": hit1 / n, "doc@1(top sentence)": doc1 / n, "pos": pos_scores, "neg": neg_scores}


def recall_threshold(pos: list[float], answered: float = 0.95) -> float:
    """The highest threshold that still answers `answered` of the answerable questions (khabar's rule)."""
    return sorted(pos)[int(len(pos) * (1 - answered))]


def best_threshold(pos: list[float], neg: list[float]) -> tuple[float, float]:
    """Threshold maximising balanced accuracy (answer answerable, abstain on hidden-article questions)."""
    best = (0.0, 0.0)
    for t in sorted(set(pos + neg)):
        acc = (sum(p >= t for p in pos) / len(pos) + sum(x < t for x in neg) / len(neg)) / 2
        if acc > best[1]:
            best = (t, acc)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=Path(".khabar/tune"))
    parser.add_argument("--cache", type=Path, default=None, help="JSON file for the collected evidence")
    args = parser.parse_args()

    if args.cache and args.cache.exists():
        by_set = json.loads(args.cache.read_text())
    else:
        settings = Settings(data_dir=args.data_dir, top_docs=8, top_chunks=20)
        kb = Khabar(settings)
        kb.ingest([args.corpus])
        by_set = {}
        for path in args.sets:
            questions = load_questions(path).questions
            by_set[path.name] = collect(kb, [q for q in questions if q.answerable])
        if args.cache:
            args.cache.write_text(json.dumps(by_set))

    add_type_matches(by_set)
    default = Weights()
    grid = itertools.product(
        [0.0, 0.1, 0.25, 0.5], [0.0, 0.1, 0.25, 0.5], [0.0, 0.25, 0.5, 1.0], [0.0, 0.01, 0.02, 0.04]
    )
    results = []
    for doc_lex, sent_lex, sent_doc, a_type in grid:
        w = Weights(doc_lexical=doc_lex, sentence_lexical=sent_lex, sentence_doc=sent_doc, answer_type=a_type)
        per_set = {name: evaluate(rows, w)["evidence@1"] for name, rows in by_set.items()}
        results.append((statistics.mean(per_set.values()), per_set, w))
    results.sort(key=lambda r: r[0], reverse=True)
    print("top weight settings by mean evidence@1 over the sets:")
    for mean, per_set, w in results[:8]:
        figures = " ".join(f"{k}={v:.3f}" for k, v in per_set.items())
        print(
            f"  mean={mean:.3f} {figures}  doc_lexical={w.doc_lexical} "
            f"sentence_lexical={w.sentence_lexical} sentence_doc={w.sentence_doc} answer_type={w.answer_type}"
        )
    for label, w in (("default", default), ("best", results[0][2])):
        for name, rows in by_set.items():
            r = evaluate(rows, w)
            t, acc = best_threshold(r["pos"], r["neg"])
            t95 = recall_threshold(r["pos"])
            hidden = sum(x < t95 for x in r["neg"]) / len(r["neg"])
            print(
                f"{label:8} {name}: evidence@1={r['evidence@1']:.3f} top-sentence doc@1={r['doc@1(top sentence)']:.3f} "
                f"abstain threshold answering 95%={t95:.3f} (abstains on {hidden:.2f} of hidden-article questions), "
                f"balanced-accuracy threshold={t:.3f} (balanced acc {acc:.3f}); "
                f"median top score answerable={statistics.median(r['pos']):.3f} hidden={statistics.median(r['neg']):.3f}"
            )


if __name__ == "__main__":
    main()
