"""Ingestion into Chroma: sentence and chunk records, content-hash dedup, crash-safe updates.

Every article has a manifest record. It is written as "pending" before any of the article's nodes and flipped
to "complete" after all of them, so an interrupted run leaves only pending records, whose nodes the next run
deletes: no duplicates and no orphans. Search sees complete articles only.

What is decided once, at ingest, travels with the records: each sentence carries its wire-copy key
(`retrieval.corpus.dedup.sentence_key`) and, when it is planted text (`retrieval.text.planted`), the reason; each chunk its
article's publication day (the date filter of dense search); each manifest record the article's title, link,
date, outlet and MinHash signature, which search reads from there.

Records are written with `collection.upsert` and carry only what khabar reads, sentence texts in their metadata
(store format 4: no Chroma documents, so nothing goes into Chroma's full-text index). Stores of format 3 keep
texts in documents; format 2 was written through llama-index, whose records also hold a JSON copy of each node
(`_node_content`) and ids khabar never reads; format 1 lacks the news metadata. The next ingest rewrites older
records in place (`Indexer.upgrade`), without re-embedding; a store of a newer format is refused
(`check_format`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.corpus.article import Article, Sentence, resolved
from retrieval.corpus.dedup import THRESHOLD, Signature, sentence_key, signature
from retrieval.corpus.files import source_ids
from retrieval.corpus.pages import PAGE_SUFFIXES
from retrieval.index.embedding import DIMENSIONS, Embedder
from retrieval.index.manifest import (
    COMPLETE,
    DIRECT_RECORDS,
    FORMAT,
    PENDING,
    ManifestEntry,
    article_record,
    bump_generation,
    check_format,
    duplicate_index,
    read_manifest,
)
from retrieval.index.sentence_text import TEXT_KEY, get_with_texts
from retrieval.index.store import Compaction, Store, compact
from retrieval.text.planted import planted_sentences

NAMED_BY_FILE = (".txt", ".md", *PAGE_SUFFIXES)  # files whose one article takes its id from the file name
# Writes between HNSW saves, after which Chroma prunes its write-ahead queue. With 100, the last <100 writes of
# each collection stayed queued (a full vector each: 0.7 KB per sentence at 60 XQuAD articles); with 2 (or 1,
# measured the same) Chroma keeps one row per collection. Cost: README, "Ingest speed and store size".
WAL_SYNC_THRESHOLD = 2
UPSERT_ROWS = 1000  # rows per Chroma write, well under its maximum batch
# What records of format 2 and older carry that khabar no longer stores (None deletes a key in `update`).
_OLD_SENTENCE_KEYS = (
    "_node_content",
    "_node_type",
    "document_id",
    "ref_doc_id",
    "title",
    "start",
    "end",
    "url",
    "published",
    "published_day",
    "source",
)
_OLD_CHUNK_KEYS = (
    "_node_content",
    "_node_type",
    "document_id",
    "ref_doc_id",
    "title",
    "sentence_ids",
    "spans",
    "source",
)
ProgressFn = Callable[[int], None]


@dataclass
class IngestProgress:
    """Where a running ingest is: articles handled, and passages (sentences + chunks) embedded, the slow part."""

    articles_done: int = 0
    articles_total: int = 0
    passages_done: int = 0
    passages_total: int = 0


ProgressReport = Callable[[IngestProgress], None]


@dataclass
class IngestStats:
    """Counts of one ingest run, per article and per node."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    removed: int = 0
    kept: int = 0  # stored articles --prune did not remove because their file is present but failed to load
    repaired: int = 0
    sentences: int = 0
    chunks: int = 0
    upgraded: int = 0  # stored articles given the news metadata of this version (nothing re-embedded)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    copies: list[tuple[str, str, float]] = field(default_factory=list)  # (written, stored copy, similarity)
    compaction: Compaction | None = None  # set when the ingest wrote or deleted anything in an embedded store


@dataclass
class _Planned:
    """An article to write, split once: its sentences and chunks, its planted sentences (index -> reason)
    and its MinHash signature."""

    article: Article
    sentences: list[Sentence]
    chunks: list[list[Sentence]]
    planted: dict[int, str]
    signature: Signature

    @property
    def passages(self) -> int:
        return len(self.sentences) + len(self.chunks)


def chunk_sentences(sentences: Sequence[Sentence], max_chars: int) -> list[list[Sentence]]:
    """Group consecutive sentences into chunks of about `max_chars`, never cutting inside a sentence."""
    chunks: list[list[Sentence]] = []
    current: list[Sentence] = []
    for sentence in sentences:
        if current and sentence.end - current[0].start > max_chars:
            chunks.append(current)
            current = []
        current.append(sentence)
    if current:
        chunks.append(current)
    return chunks


class Indexer:
    """Writes articles into the store; `ingest` is idempotent and safe to interrupt."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunk_chars: int = 700,
        batch: int = 32,
        dedup_threshold: float = THRESHOLD,
        on_sentences: Callable[[list[str]], None] | None = None,
        also_written: Sequence[Any] = (),
        compact_after: bool = True,
    ):
        """`on_sentences` is also given each group's sentence texts (the ranker's USE vectors); `also_written`
        are the other collections an ingest writes to (theirs), whose write-ahead queue is pruned too.
        `compact_after`: give the space of deleted rows back to the file system after an ingest that changed
        an embedded store (`retrieval.index.store.compact`)."""
        self.compact_after = compact_after
        self.on_sentences = on_sentences
        self.also_written = tuple(also_written)
        self.store = store
        self.embedder = embedder
        self.chunk_chars = chunk_chars
        self.batch = batch
        self.dedup_threshold = dedup_threshold
        self._wal_pruned = False

    def ingest(
        self,
        articles: Iterable[Article],
        prune: bool = False,
        progress: ProgressFn | None = None,
        group_size: int = 16,
        failed_files: Collection[str] = (),
        on_progress: ProgressReport | None = None,
    ) -> IngestStats:
        """Add new and changed articles, skip unchanged ones, repair interrupted ones, optionally prune.

        An article whose id is held by another file that still has it, with other content, is refused
        (listed in `failures`), never written over: an id belongs to the file it was last ingested from.
        `prune` removes complete articles that are not among `articles`, except those whose file is in
        `failed_files` (present but unreadable, or a .jsonl with bad lines).
        `progress` counts articles; `on_progress` also follows the passages being embedded.
        """
        stats = IngestStats()
        manifest = read_manifest(self.store)
        check_format(max((e.format for e in manifest.values()), default=FORMAT), self.store.location)
        self._prune_write_ahead_log()
        stats.repaired = self._repair(manifest)
        stats.upgraded = self.upgrade(manifest)
        articles = list(articles)
        todo = self._triage(articles, manifest, stats, progress)
        plan = [self._plan(a) for a in todo]
        stats.copies = self._copies(plan, manifest)
        report = IngestProgress(
            articles_done=len(articles) - len(todo),
            articles_total=len(articles),
            passages_total=sum(p.passages for p in plan),
        )
        if on_progress:
            on_progress(report)
        for start in range(0, len(plan), group_size):
            group = plan[start : start + group_size]
            n_sentences, n_chunks = self._write_group(group, report, on_progress)
            stats.sentences += n_sentences
            stats.chunks += n_chunks
            report.articles_done += len(group)
            if progress:
                progress(len(group))
            if on_progress:
                on_progress(report)
        if prune:
            gone, stats.kept = _prunable(manifest, {a.doc_id for a in articles}, set(failed_files))
            self.remove(gone)
            stats.removed = len(gone)
        changed = stats.added + stats.updated + stats.removed + stats.repaired + stats.upgraded
        if self.compact_after and changed and not self.store.server:
            stats.compaction = compact(self.store, rebuild=bool(stats.upgraded))
        return stats

    def _triage(
        self,
        articles: list[Article],
        manifest: dict[str, ManifestEntry],
        stats: IngestStats,
        progress: ProgressFn | None,
    ) -> list[Article]:
        """The articles to write (new or changed); unchanged ones are counted skipped (a moved file's new
        path recorded), and one whose id another file still holds is refused."""
        todo: list[Article] = []
        moved: list[tuple[Article, ManifestEntry]] = []
        held: dict[str, set[str]] = {}  # ids each other source file holds, read once per file
        for article in articles:
            entry = manifest.get(article.doc_id)
            complete = entry is not None and entry.status == COMPLETE
            if entry and complete and entry.content_hash == article.content_hash:
                stats.skipped += 1  # (a copy of the article elsewhere is the same article: not a clash)
                if article.path and not _same_file(entry.path, article.path):
                    moved.append((article, entry))
            elif entry and complete and _held_elsewhere(entry, article, held):
                stats.failures.append(
                    (
                        article.path,
                        f"id {article.doc_id!r} is already used by {entry.path}, which still holds it; "
                        "rename this file (or give the .jsonl record another id)",
                    )
                )
            else:
                todo.append(article)
                stats.updated += complete
                stats.added += not complete
                continue
            if progress:
                progress(1)
        self._record_moves(moved)
        return todo

    def remove(self, doc_ids: Sequence[str]) -> None:
        """Delete articles: first their manifest records (so search stops seeing them), then their nodes."""
        if not doc_ids:
            return
        self.store.articles.delete(ids=list(doc_ids))
        bump_generation(self.store)
        self._delete_nodes(doc_ids)

    def _repair(self, manifest: dict[str, ManifestEntry]) -> int:
        """Delete the nodes of articles whose last write was interrupted, and their records."""
        pending = [doc_id for doc_id, entry in manifest.items() if entry.status != COMPLETE]
        if pending:
            self._delete_nodes(pending)
            self.store.articles.delete(ids=pending)
            bump_generation(self.store)
            for doc_id in pending:
                manifest.pop(doc_id)
        return len(pending)

    def _delete_nodes(self, doc_ids: Sequence[str]) -> None:
        for start in range(0, len(doc_ids), 500):
            where = {"doc_id": {"$in": list(doc_ids[start : start + 500])}}
            self.store.sentences.delete(where=where)
            self.store.chunks.delete(where=where)

    def _record_moves(self, moved: list[tuple[Article, ManifestEntry]]) -> None:
        """Unchanged articles whose file moved: their records learn the new path (nothing is re-embedded)."""
        for start in range(0, len(moved), 1000):
            batch = moved[start : start + 1000]
            self.store.articles.upsert(
                ids=[a.doc_id for a, _ in batch],
                embeddings=[[1.0]] * len(batch),
                metadatas=[article_record(a, COMPLETE, e.sentences, e.chunks, e.minhash) for a, e in batch],
            )

    def _plan(self, article: Article) -> _Planned:
        sentences = article.sentences()
        return _Planned(
            article,
            sentences,
            chunk_sentences(sentences, self.chunk_chars),
            planted_sentences([s.text for s in sentences]),
            signature(article.text),
        )

    def _copies(
        self, plan: list[_Planned], manifest: dict[str, ManifestEntry]
    ) -> list[tuple[str, str, float]]:
        """Articles about to be written that copy a stored article or each other (wire copies), best match."""
        index = duplicate_index(manifest, self.dedup_threshold)
        copies = []
        for p in plan:
            index.remove(p.article.doc_id)  # its own older version is not a copy
            matches = index.matches(p.signature, exclude=p.article.doc_id)
            if matches:
                copies.append((p.article.doc_id, *matches[0]))
            index.add(p.article.doc_id, p.signature)
        return copies

    def upgrade(self, manifest: dict[str, ManifestEntry], group: int = 200) -> int:
        """Rewrite the records of complete articles written by an older version as this one writes them: the
        news metadata (wire-copy keys, planted flags, a MinHash) computed from their stored sentences,
        llama-index's fields (format 2 and older) dropped, and sentence texts moved from documents into the
        metadata (format 3 and older). Nothing is re-embedded. Safe to interrupt (the article records are
        marked last, and texts are read from either place)."""
        old = [e for e in manifest.values() if e.status == COMPLETE and e.format < FORMAT]
        for start in range(0, len(old), group):
            batch = old[start : start + group]
            ids = [f"{e.doc_id}:{n}" for e in batch for n in range(e.sentences)]
            rows = get_with_texts(self.store.sentences, ids=ids, include=["embeddings"])
            texts = dict(zip(rows["ids"], rows["texts"], strict=True))
            vectors = dict(zip(rows["ids"], rows["embeddings"], strict=True))
            cids = [f"{e.doc_id}#{k}" for e in batch for k in range(e.chunks)]
            crows = self.store.chunks.get(ids=cids, include=["metadatas"]) if cids else {"ids": []}
            spans = {
                i: _chunk_span(m) for i, m in zip(crows["ids"], crows.get("metadatas") or [], strict=False)
            }
            sentence_ids, sentence_metas, chunk_ids, chunk_metas, records = [], [], [], [], []
            for entry in batch:
                own = [
                    (i, texts[i])
                    for i in (f"{entry.doc_id}:{n}" for n in range(entry.sentences))
                    if i in texts
                ]
                planted = planted_sentences([t for _, t in own])
                for k, (sid, text) in enumerate(own):
                    sentence_ids.append(sid)
                    n = int(sid.rsplit(":", 1)[1])
                    meta = _sentence_metadata(entry.doc_id, n, text, planted.get(k, ""))
                    sentence_metas.append({**dict.fromkeys(_OLD_SENTENCE_KEYS), **meta})
                for k in range(entry.chunks):
                    cid = f"{entry.doc_id}#{k}"
                    if cid in spans:
                        chunk_ids.append(cid)
                        meta = _chunk_metadata(entry.doc_id, entry.published_day, *spans[cid])
                        chunk_metas.append({**dict.fromkeys(_OLD_CHUNK_KEYS), **meta})
                kept = entry.minhash if entry.format >= DIRECT_RECORDS else ""
                minhash = kept or signature("\n".join(t for _, t in own)).encode()
                records.append({"minhash": minhash, "format": FORMAT, "published_day": entry.published_day})
                manifest[entry.doc_id] = replace(entry, minhash=minhash, format=FORMAT)
            for begin in range(0, len(sentence_ids), 5000):
                part = sentence_ids[begin : begin + 5000]
                # The texts move into the metadata and the documents are emptied, so that Chroma drops them
                # from its full-text index. Chroma's client embeds a document given without a vector, so each
                # record's own stored vector is written back with it: nothing is re-embedded.
                self.store.sentences.update(
                    ids=part,
                    embeddings=[vectors[i] for i in part],
                    documents=[""] * len(part),
                    metadatas=sentence_metas[begin : begin + 5000],
                )
            for begin in range(0, len(chunk_ids), 5000):
                self.store.chunks.update(
                    ids=chunk_ids[begin : begin + 5000], metadatas=chunk_metas[begin : begin + 5000]
                )
            self.store.articles.update(ids=[e.doc_id for e in batch], metadatas=records)
        if old:
            bump_generation(self.store)
        return len(old)

    def _write_group(
        self, group: list[_Planned], report: IngestProgress, on_progress: ProgressReport | None
    ) -> tuple[int, int]:
        """Pending records, old records deleted, vectors, new records, complete records: a crash anywhere
        leaves pending records only, whose records the next run deletes (`_repair`)."""
        ids = [p.article.doc_id for p in group]
        self.store.articles.upsert(
            ids=ids,
            embeddings=[[1.0]] * len(group),
            metadatas=[article_record(p.article, PENDING, 0, 0, "") for p in group],
        )
        bump_generation(self.store)
        self._delete_nodes(ids)
        sentences = [(p, i, s) for p in group for i, s in enumerate(p.sentences)]
        chunks = [(p, k, c) for p in group for k, c in enumerate(p.chunks)]
        texts = [s.text for _, _, s in sentences]
        vectors = self._embed(texts, report, on_progress)
        if self.on_sentences:
            self.on_sentences(texts)
        chunk_vectors = self._embed(
            [f"{p.article.title}\n{p.article.text[c[0].start : c[-1].end]}" for p, _, c in chunks],
            report,
            on_progress,
        )
        for start in range(0, len(sentences), UPSERT_ROWS):
            part = sentences[start : start + UPSERT_ROWS]
            self.store.sentences.upsert(
                ids=[s.id for _, _, s in part],
                embeddings=vectors[start : start + UPSERT_ROWS],
                metadatas=[
                    _sentence_metadata(p.article.doc_id, s.n, s.text, p.planted.get(i, ""))
                    for p, i, s in part
                ],
            )
        for start in range(0, len(chunks), UPSERT_ROWS):
            part = chunks[start : start + UPSERT_ROWS]
            self.store.chunks.upsert(
                ids=[f"{p.article.doc_id}#{k}" for p, k, _ in part],
                embeddings=chunk_vectors[start : start + UPSERT_ROWS],
                metadatas=[
                    _chunk_metadata(p.article.doc_id, p.article.published_day, c[0].n, c[-1].n)
                    for p, _, c in part
                ],
            )
        records = [
            article_record(p.article, COMPLETE, len(p.sentences), len(p.chunks), p.signature.encode())
            for p in group
        ]
        self.store.articles.upsert(ids=ids, embeddings=[[1.0]] * len(group), metadatas=records)
        bump_generation(self.store)
        return len(sentences), len(chunks)

    def _embed(
        self, texts: list[str], report: IngestProgress, on_progress: ProgressReport | None
    ) -> np.ndarray:
        """Passage vectors in the texts' order, embedded longest first in batches of `batch`: texts of one
        batch are padded to its longest, so batches of like lengths waste the least work."""
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        for start in range(0, len(order), self.batch):
            rows = order[start : start + self.batch]
            vectors[rows] = self.embedder.passage_vectors([texts[i] for i in rows])
            report.passages_done += len(rows)
            if on_progress:
                on_progress(report)
        return vectors

    def _prune_write_ahead_log(self) -> None:
        """Let Chroma delete its write-ahead queue rows (each holds a full vector) once they are in the HNSW
        index: it does so only when a collection's index is persisted, every `sync_threshold` writes (1000 by
        default, so a collection under 1000 records kept every vector twice). Existing stores are modified
        too, once: a collection already set is not written to (an ingest that adds nothing writes nothing)."""
        if self._wal_pruned:
            return
        hnsw = {"hnsw": {"sync_threshold": WAL_SYNC_THRESHOLD, "batch_size": WAL_SYNC_THRESHOLD}}
        store = self.store
        for collection in (store.sentences, store.chunks, store.articles, store.state, *self.also_written):
            current = (collection.configuration or {}).get("hnsw") or {}
            if current.get("sync_threshold") != WAL_SYNC_THRESHOLD:
                collection.modify(configuration=hnsw)
        self._wal_pruned = True


def _sentence_metadata(doc_id: str, n: int, text: str, planted: str) -> dict[str, str | int]:
    """What a sentence record carries besides its vector: its article and place (search fetches an article's
    sentences by id, in order), its wire-copy key ("" for a sentence too short to tell), why it is planted
    ("" if not) and its text (`retrieval.index.sentence_text`). Title, link, date and outlet are the
    article's, read from its manifest record."""
    return {"doc_id": doc_id, "n": n, "skey": sentence_key(text) or "", "planted": planted, TEXT_KEY: text}


def _chunk_metadata(doc_id: str, published_day: int, first: int, last: int) -> dict[str, int | str]:
    """A chunk's article, publication day (the date filter on dense search) and first and last sentence."""
    return {"doc_id": doc_id, "published_day": published_day, "n0": first, "n1": last}


def _chunk_span(meta: dict) -> tuple[int, int]:
    """First and last sentence number of a stored chunk, from any format's metadata."""
    if "n0" in meta:
        return int(meta["n0"]), int(meta["n1"])
    numbers = [int(i.rsplit(":", 1)[1]) for i in str(meta.get("sentence_ids", "")).split(",") if ":" in i]
    return (numbers[0], numbers[-1]) if numbers else (0, 0)


def _prunable(
    manifest: dict[str, ManifestEntry], present: set[str], failed: set[str]
) -> tuple[list[str], int]:
    """Complete articles `--prune` removes (not among those loaded), and how many it keeps because their file
    is present but failed: a broken file keeps what it held, the articles stored from it and the id its name
    gives. A page fetched from the web has no file that could be gone."""
    failed_stems = {Path(f).stem for f in failed if Path(f).suffix.lower() in NAMED_BY_FILE}
    gone, kept = [], 0
    for doc_id, entry in manifest.items():
        if doc_id in present or entry.status != COMPLETE or entry.from_web:
            continue
        if doc_id in failed_stems or (entry.path and resolved(entry.path) in failed):
            kept += 1
        else:
            gone.append(doc_id)
    return gone, kept


def _same_file(stored: str, loaded: str) -> bool:
    """Whether two recorded paths name one file (older stores and other loaders may record relative paths)."""
    return bool(stored) and bool(loaded) and resolved(stored) == resolved(loaded)


def _held_elsewhere(entry: ManifestEntry, article: Article, held: dict[str, set[str]]) -> bool:
    """The stored article with this id came from another file, and that file still holds the id."""
    if not entry.path or _same_file(entry.path, article.path):
        return False
    if entry.path not in held:
        held[entry.path] = source_ids(entry.path)
    return entry.doc_id in held[entry.path]
