"""Whether two source trees give the same answers over one store (a script, not a test): for a change meant to
make khabar faster without changing what it says.

    git archive main | (mkdir -p /tmp/main && tar -x -C /tmp/main)
    python benchmarks/same_answers.py --other /tmp/main --data-dir .khabar/xquad --limit 400

Each tree runs in a fresh subprocess with PYTHONPATH pointing at it and asks `Khabar.ask` (no LLM) the first
`--limit` questions of each set over the same data dir (ingested from `--corpus` first if it is empty). Printed:
per set, how many questions differ in their answer-or-abstain decision, in their cited sentences (ids and
order), in the article ranking, and the largest difference of any hit's score (sentences and order compared on
the first 10 hits).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ask_latency import EVAL, HERE  # this source tree and the eval sets, found the same way

CHILD = r"""
import json, sys
from pathlib import Path
from retrieval.pipeline import Khabar
from retrieval.evaluation.questions import load_questions
from retrieval.settings import Settings
corpus, data_dir, limit, out, *sets = sys.argv[1:]
kb = Khabar(Settings(_env_file=None, data_dir=Path(data_dir), embed_threads=1))
if kb.is_empty():
    kb.ingest([Path(corpus)])
records = {}
for path in sets:
    for q in load_questions(Path(path)).questions[: int(limit)]:
        turn = kb.run(q.question)
        hits = turn.search.hits[:10]
        decision = turn.search.decision
        records[f"{Path(path).name}/{q.id}"] = {
            "answered": bool(turn.answer.citations),
            "decision": None if decision is None else [decision.answer, decision.score],
            "cited": [c.sentence_id for c in turn.answer.citations],
            "hits": [[h.sentence_id, h.score] for h in hits],
            "docs": [d for d, _ in turn.search.docs],
        }
Path(out).write_text(json.dumps(records))
"""


def answers(tree: Path, corpus: Path, data_dir: Path, limit: int, sets: list[Path]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "PYTHONPATH": str(tree), "KHABAR_EMBED_THREADS": "1"}
        args = [str(corpus), str(data_dir), str(limit), out.name, *map(str, sets)]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *args], env=env, cwd=tree, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"{tree} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(Path(out.name).read_text())


def compare(mine: dict, other: dict) -> dict[str, dict]:
    """Per set: questions, and how many differ in decision, citations, articles, hit ids; the largest score gap."""
    table: dict[str, dict] = {}
    for key, a in mine.items():
        b = other[key]
        row = table.setdefault(
            key.split("/", 1)[0],
            {"questions": 0, "decision": 0, "cited": 0, "docs": 0, "hits": 0, "max_score_diff": 0.0},
        )
        row["questions"] += 1
        row["decision"] += (a["answered"], (a["decision"] or [None])[0]) != (
            b["answered"],
            (b["decision"] or [None])[0],
        )
        row["cited"] += a["cited"] != b["cited"]
        row["docs"] += a["docs"] != b["docs"]
        row["hits"] += [h[0] for h in a["hits"]] != [h[0] for h in b["hits"]]
        gaps = [abs(x[1] - y[1]) for x, y in zip(a["hits"], b["hits"], strict=False)]
        if a["decision"] and b["decision"]:
            gaps.append(abs(a["decision"][1] - b["decision"][1]))
        row["max_score_diff"] = max(row["max_score_diff"], *gaps, 0.0)
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", type=Path, required=True, help="source tree to compare with (e.g. main's)")
    parser.add_argument("--data-dir", type=Path, required=True, help="the store both trees read")
    parser.add_argument("--corpus", type=Path, default=EVAL / "xquad.corpus.jsonl")
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("sets", nargs="*", type=Path)
    args = parser.parse_args()
    common = (args.corpus, args.data_dir.resolve(), args.limit)
    sets = args.sets or [EVAL / "xquad.en.jsonl", EVAL / "xquad.ar.jsonl"]
    other, mine = answers(args.other, *common, sets), answers(HERE, *common, sets)
    for name, row in compare(mine, other).items():
        print(name, json.dumps(row))


if __name__ == "__main__":
    main()
