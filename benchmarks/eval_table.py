"""Print the README's khabar-vs-baseline table from `khabar eval` outputs, so figures are never copied by hand.

python benchmarks/eval_table.py reports/seeds reports/xquad.ar reports/xquad.en reports/arcd-train.ar
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = (
    ("doc_hit@1", "doc@1"),
    ("doc_hit@10", "doc@10"),
    ("mrr", "MRR"),
    ("evidence_hit@1", "evid@1"),
    ("evidence_hit@all", "evid@all"),
    ("citation_precision", "cit. prec."),
    ("cited_chars_mean", "cited chars"),
    ("answer_contains_gold", "ans. gold"),
    ("language_accuracy", "lang"),
    ("abstention_accuracy", "abstain"),
    ("answerable_refused", "ans. refused"),
    ("unanswerable_abstained", "unans. abst."),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"),
    ("errors", "err"),
)


def cell(key: str, value: float | int | None) -> str:
    if value is None:
        return "–"
    if key in ("cited_chars_mean", "latency_p50_ms", "latency_p95_ms"):
        return f"{value:.0f}"
    if key == "errors":
        return str(value)
    return f"{value:.3f}"


def main(folders: list[str]) -> None:
    print("| set | n | method | " + " | ".join(label for _, label in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    commits = set()
    for folder in folders:
        metrics = json.loads((Path(folder) / "metrics.json").read_text("utf-8"))
        commits.add(metrics["measured"]["commit"])
        for method in ("khabar", "baseline"):
            if method not in metrics:
                continue
            overall = metrics[method]["overall"]
            cells = " | ".join(cell(key, overall.get(key)) for key, _ in COLUMNS)  # older runs lack keys
            print(f"| {Path(folder).name} | {overall['n']} | {method} | {cells} |")
    print(f"\nmeasured at commit(s): {', '.join(sorted(c or '?' for c in commits))}")


if __name__ == "__main__":
    main(sys.argv[1:])
