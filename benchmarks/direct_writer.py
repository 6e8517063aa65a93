"""A prototype of issue 11's ingest writer (benchmarks only; retrieval/index.py is unchanged).

`DirectIndexer` is `retrieval.index.Indexer` with one method replaced, `_write_group`: it writes the very same
records with `collection.upsert` instead of llama-index nodes and `ChromaVectorStore.add`. Everything that makes
ingest safe is inherited untouched: `ingest` (hash dedup, the id-clash check, moved files, `--prune`), `_repair`
(deletes the nodes of pending articles by their `doc_id` metadata), `remove` and the manifest helpers. The group is
written in the same order as today, which is the whole crash-safety protocol:

    1. manifest records "pending" + generation bump  -> readers ignore the group's articles from here on
    2. delete the group's old nodes (by doc_id)        -> a changed article never keeps stale sentences
    3. embed; upsert sentences, chunks, USE vectors    -> a crash here leaves pending records: next run repairs
    4. manifest records "complete" + generation bump  -> the articles become visible, all at once

What changes is what a record carries. Sentences: the text as the Chroma document (search reads it and builds
BM25 from it) and metadata `doc_id` (filters: repair, delete, copies), `n`, `start`, `end`, plus `skey`
(a 16-hex-character stand-in for the wire-copy key the news branch adds, so that sizes include it). Not stored any
more: `title` (the manifest has it), llama-index's `_node_content` JSON copy, `_node_type`, `document_id`,
`ref_doc_id`. Chunks: no document (search reads only their vector and `doc_id`), metadata `doc_id`, `n0`/`n1`
(first and last sentence number, replacing `sentence_ids` and the `spans` JSON) and `published_day` (the news
branch's date filter). Chunk vectors come from the model (`chunk_vectors="model"`, as today: title + chunk text)
or from the sentences' vectors (`"mean"`: normalised mean; `"mean-title"`: the title's vector joins the mean).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from retrieval.index import (
    COMPLETE,
    PENDING,
    Indexer,
    IngestProgress,
    ProgressReport,
    _Planned,
    bump_generation,
)
from retrieval.store import Store

CHUNK_VECTORS = ("model", "mean", "mean-title")
UPSERT_ROWS = 1000  # rows per collection.upsert call (well under chromadb's max batch size)


class PassageEmbedder(Protocol):
    def passage_vectors(self, texts: list[str]) -> np.ndarray: ...


def configure_wal(store: Store, sync_threshold: int, batch_size: int, extra: tuple[Any, ...] = ()) -> None:
    """Let Chroma prune its write-ahead queue: an HNSW index is persisted every `sync_threshold` writes, and
    only then are that collection's queued rows (each holding its full vector) deleted. The default, 1000,
    keeps every vector of a collection under 1000 records twice on disk. `modify` works on existing stores."""
    hnsw = {"hnsw": {"sync_threshold": sync_threshold, "batch_size": min(batch_size, sync_threshold)}}
    for collection in (store.sentences, store.chunks, store.articles, store.state, *extra):
        collection.modify(configuration=hnsw)


def published_day(published: str) -> int:
    """YYYYMMDD of an ISO date, 0 when there is none (a stand-in for the news branch's `day_number`)."""
    digits = re.sub(r"\D", "", published[:10])
    return int(digits) if len(digits) == 8 else 0


def sentence_key_stand_in(text: str) -> str:
    """16 hex characters, the size of the news branch's wire-copy key (which normalises the text first)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class DirectIndexer(Indexer):
    """`Indexer` that writes with `collection.upsert` and only the metadata khabar reads."""

    def __init__(
        self,
        store: Store,
        embedder: PassageEmbedder,
        chunk_chars: int = 700,
        batch: int = 32,
        on_sentences: Callable[[list[str]], None] | None = None,
        chunk_vectors: str = "model",
        chunk_documents: bool = False,
        timings: dict[str, float] | None = None,
    ):
        if chunk_vectors not in CHUNK_VECTORS:
            raise ValueError(f"chunk_vectors must be one of {CHUNK_VECTORS}")
        super().__init__(store, embedder, chunk_chars, batch, on_sentences=on_sentences)  # type: ignore[arg-type]
        self.chunk_vectors = chunk_vectors
        self.chunk_documents = chunk_documents
        self.timings = timings if timings is not None else {}

    def _time(self, key: str, start: float) -> None:
        self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - start

    def _write_group(
        self, group: list[_Planned], report: IngestProgress, on_progress: ProgressReport | None
    ) -> tuple[int, int]:
        t = time.perf_counter()
        ids = [p.article.doc_id for p in group]
        self.store.articles.upsert(
            ids=ids,
            embeddings=[[1.0]] * len(group),
            metadatas=[self._record(p.article, PENDING, 0, 0) for p in group],
        )
        bump_generation(self.store)
        self._delete_nodes(ids)
        self._time("manifest", t)

        sentences = [(p.article, s) for p in group for s in p.sentences]
        texts = [s.text for _, s in sentences]
        t = time.perf_counter()
        vectors = self._passages(texts, report, on_progress)
        self._time("embed_sentences", t)
        if self.on_sentences:
            t = time.perf_counter()
            self.on_sentences(texts)
            self._time("use", t)
        chunk_rows = [(p.article, k, c) for p in group for k, c in enumerate(p.chunks)]
        t = time.perf_counter()
        chunk_vectors = self._chunk_vectors(group, vectors, report, on_progress)
        self._time("embed_chunks", t)

        t = time.perf_counter()
        for start in range(0, len(sentences), UPSERT_ROWS):
            part = sentences[start : start + UPSERT_ROWS]
            self.store.sentences.upsert(
                ids=[s.id for _, s in part],
                embeddings=vectors[start : start + UPSERT_ROWS],
                documents=[s.text for _, s in part],
                metadatas=[
                    {
                        "doc_id": a.doc_id,
                        "n": s.n,
                        "start": s.start,
                        "end": s.end,
                        "skey": sentence_key_stand_in(s.text),
                    }
                    for a, s in part
                ],
            )
        self._time("write_sentences", t)
        t = time.perf_counter()
        for start in range(0, len(chunk_rows), UPSERT_ROWS):
            part = chunk_rows[start : start + UPSERT_ROWS]
            extra: dict[str, Any] = {}
            if self.chunk_documents:
                extra["documents"] = [a.text[c[0].start : c[-1].end] for a, _, c in part]
            self.store.chunks.upsert(
                ids=[f"{a.doc_id}#{k}" for a, k, _ in part],
                embeddings=chunk_vectors[start : start + UPSERT_ROWS],
                metadatas=[
                    {
                        "doc_id": a.doc_id,
                        "n0": c[0].n,
                        "n1": c[-1].n,
                        "published_day": published_day(a.published),
                    }
                    for a, _, c in part
                ],
                **extra,
            )
        self._time("write_chunks", t)

        t = time.perf_counter()
        records = [self._record(p.article, COMPLETE, len(p.sentences), len(p.chunks)) for p in group]
        self.store.articles.upsert(ids=ids, embeddings=[[1.0]] * len(group), metadatas=records)
        bump_generation(self.store)
        self._time("manifest", t)
        return len(sentences), len(chunk_rows)

    def _passages(
        self, texts: list[str], report: IngestProgress, on_progress: ProgressReport | None
    ) -> np.ndarray:
        """Passage vectors in batches of `self.batch` (a pool embedder sorts and spreads them itself)."""
        parts = []
        for start in range(0, len(texts), self.batch):
            parts.append(self.embedder.passage_vectors(texts[start : start + self.batch]))
            report.passages_done += len(parts[-1])
            if on_progress:
                on_progress(report)
        return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)

    def _chunk_vectors(
        self,
        group: list[_Planned],
        sentence_vectors: np.ndarray,
        report: IngestProgress,
        on_progress: ProgressReport | None,
    ) -> np.ndarray:
        chunks = [(p.article, c) for p in group for c in p.chunks]
        if not chunks:
            return np.zeros((0, 384), dtype=np.float32)
        if self.chunk_vectors == "model":
            texts = [f"{a.title}\n{a.text[c[0].start : c[-1].end]}" for a, c in chunks]
            return self._passages(texts, report, on_progress)
        row = {}
        offset = 0
        for p in group:
            for s in p.sentences:
                row[s.id] = offset
                offset += 1
        titles: dict[str, np.ndarray] = {}
        if self.chunk_vectors == "mean-title":
            names = list(dict.fromkeys(a.title for a, _ in chunks))
            titles = dict(zip(names, self.embedder.passage_vectors(names), strict=True))
        out = np.zeros((len(chunks), sentence_vectors.shape[1]), dtype=np.float32)
        for i, (article, chunk) in enumerate(chunks):
            parts = [sentence_vectors[row[s.id]] for s in chunk]
            if self.chunk_vectors == "mean-title":
                parts.append(titles[article.title])
            mean = np.mean(parts, axis=0)
            out[i] = mean / (np.linalg.norm(mean) or 1.0)
        report.passages_done += len(chunks)
        if on_progress:
            on_progress(report)
        return out
