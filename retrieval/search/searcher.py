"""Hybrid search: dense chunks (Chroma) and Arabic BM25 find articles; their sentences are then scored one by one.

Fusion is by score, not by rank: lexical evidence is a query-coverage share that the fitted ranker weighs beside
the dense scores. An English question's BM25 tokens are its words' nearest Arabic words in the store's vocabulary
(`crosslingual.py`), so English questions get lexical candidates and evidence too.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from retrieval.corpus.dedup import sentence_key
from retrieval.index.embedding import Embedder, USEEmbedding
from retrieval.index.lexical import LexicalIndex
from retrieval.index.manifest import (
    DAY_ON_CHUNKS,
    ManifestEntry,
    complete_entries,
    corpus_fingerprint,
    read_generation,
)
from retrieval.index.recent import Recent
from retrieval.index.sentence_text import get_with_texts
from retrieval.index.store import Store
from retrieval.index.use_vectors import USEVectors
from retrieval.search.answer_type import expected_type, supplies
from retrieval.search.crosslingual import Vocabulary, VocabularyShelf, question_tokens
from retrieval.search.ranker import Candidates, Decision, Ranker
from retrieval.search.word_vectors import WordVectors
from retrieval.text.arabic import tokenize
from retrieval.text.dates import DateRange, day_key, question_range
from retrieval.text.planted import planted_sentences

LEXICAL_CANDIDATES = 30  # BM25 sentence hits whose articles join the candidates
CACHED_ROWS = 20_000  # sentence and chunk rows of recent candidate articles kept between questions (~35 MB)


@dataclass
class SentenceHit:
    """A scored sentence; `text` is the original sentence, quoted verbatim from the article.

    `score` is the ranker's share of the evidence: the softmax of its score over every candidate sentence, so
    the hits of one question sum to 1 and a score near 1 means the ranker sees no rival.
    """

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
    use: float = 0.0
    url: str = ""  # the article's link, publication date (ISO 8601) and outlet; "" when unknown
    published: str = ""
    source: str = ""
    skey: str = (
        ""  # wire-copy key (dedup.sentence_key): the same sentence in another article has the same key
    )
    planted: str = ""  # why the sentence is planted text ("" if it is not); search never returns such hits
    date_match: bool = False  # its article was published when the question says (and was boosted for it)


@dataclass
class SearchResult:
    hits: list[SentenceHit]
    docs: list[tuple[str, float]]
    timings_ms: dict[str, float] = field(default_factory=dict)
    decision: Decision | None = None  # answer or abstain (None: nothing was found)

    @property
    def answerable(self) -> bool:
        return bool(self.hits) and self.decision is not None and self.decision.answer


PER_ARTICLE = 3  # sentences of one article before the next article's best ones come in


def spread(hits: list[SentenceHit], per_article: int = PER_ARTICLE) -> list[SentenceHit]:
    """Best first, but an article's sentences beyond its best `per_article` wait until every other article's
    best ones are listed. The first hit (what an extractive answer quotes) never changes; the sources an LLM is
    given (the first few hits) then cover several articles instead of one article's weaker sentences."""
    first, later, seen = [], [], {}
    for hit in hits:
        seen[hit.doc_id] = seen.get(hit.doc_id, 0) + 1
        (first if seen[hit.doc_id] <= per_article else later).append(hit)
    return first + later


@dataclass
class _Rows:
    """The candidate sentences as read from the store, in article order."""

    ids: list[str]
    texts: list[str]
    metas: list[dict]
    vectors: np.ndarray


@dataclass(frozen=True)
class _Article:
    """One article's records as a store read returned them: ids, texts (sentences only), metadatas and vectors."""

    ids: list[str]
    texts: list[str]
    metas: list[dict]
    vectors: np.ndarray


class Searcher:
    """Reads the store; keeps the BM25 index in step with the set of complete articles."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        cache_dir: Path,
        top_chunks: int = 12,
        top_docs: int = 4,
        ranker: Ranker | None = None,
        use: USEVectors | None = None,
        abstain_bias: float = 0.0,
        abstain_below: dict[str, float | None] | None = None,
        date_boost: float = 0.0,
        date_slack_days: int = 3,
        words: WordVectors | None = None,
        shelf: VocabularyShelf | None = None,
    ):
        """`words`: the word-vector cache to share with other searchers of the same data dir (one is opened
        here if not given); `shelf`: where the store's vocabulary is kept, shared the same way. `date_boost` is added to the ranker score of sentences whose article was published when the
        question says (in the month it names, or on the day it names or up to `date_slack_days` after): it
        reorders, it never filters and never changes the answer-or-abstain decision."""
        self.date_boost = date_boost
        self.date_slack_days = date_slack_days
        self.store = store
        self.embedder = embedder
        self.cache_dir = Path(cache_dir)
        self.top_chunks = top_chunks
        self.top_docs = top_docs
        self.ranker = ranker or Ranker.load()
        self.use = use or USEVectors(store, USEEmbedding())
        self.words = words or WordVectors(self.cache_dir / "words.sqlite", self.use.embedder)
        self.abstain_bias = abstain_bias
        self.abstain_below = abstain_below or {}
        self._fingerprint = ""
        self._generation = ""
        self.manifest: dict[str, ManifestEntry] = {}
        self.lexical = LexicalIndex.build([], [])
        self._lexical_folder: Path | None = None
        self.shelf = shelf or VocabularyShelf()
        # Store reads of whole candidate articles (sentences, chunks) kept between questions: the same articles
        # come back question after question and each read is a Chroma round trip. Emptied whenever the store's
        # generation changes, so an article is never served as it was before a write.
        self._sentence_cache: Recent[str, _Article] = Recent(CACHED_ROWS, weight=_rows)
        self._chunk_cache: Recent[str, _Article] = Recent(CACHED_ROWS, weight=_rows)

    # ---- keeping in step with the store ----------------------------------------------------------

    def refresh(self) -> None:
        """Reload the manifest if the store changed; rebuild (or load the cached) BM25 index if its complete
        articles did. Unchanged, this is one small read per question."""
        generation = read_generation(self.store)
        if generation and generation == self._generation:
            return
        self._generation = generation
        self._sentence_cache.clear()  # any article may have been rewritten
        self._chunk_cache.clear()
        manifest = complete_entries(self.store)
        fingerprint = corpus_fingerprint((k, v.content_hash) for k, v in manifest.items())
        self.manifest = manifest
        if fingerprint == self._fingerprint:
            return
        folder = self.cache_dir / f"bm25-{self.store.sentences.name}-{fingerprint}"
        self._lexical_folder = folder
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

    def _complete_sentences(self) -> tuple[list[str], list[str]]:
        """Ids and texts of the sentences of complete articles, read from the store page by page."""
        ids, texts = [], []
        total = self.store.sentences.count()
        for offset in range(0, total, 5000):
            page = get_with_texts(self.store.sentences, limit=5000, offset=offset)
            for sid, text, meta in zip(page["ids"], page["texts"], page["metadatas"], strict=True):
                if meta.get("doc_id") in self.manifest:
                    ids.append(sid)
                    texts.append(text or "")
        return ids, texts

    def _build_lexical(self) -> LexicalIndex:
        return LexicalIndex.build(*self._complete_sentences())

    def vocabulary(self) -> Vocabulary:
        """The store's words with their vectors, to translate English questions into BM25 tokens: built on
        the first English question after the store changed (its new words encoded once, into the word-vector
        file), kept beside the BM25 index in the cache, and in memory once for the searchers sharing `shelf`."""
        return self.shelf.get(self._lexical_folder, self._load_or_build_vocabulary)

    def _load_or_build_vocabulary(self) -> Vocabulary:
        folder = self._lexical_folder
        vocabulary = None
        if folder is not None:
            with contextlib.suppress(OSError, ValueError):  # none cached yet, or a broken copy: build it
                vocabulary = Vocabulary.load(folder)
        if vocabulary is None:
            vocabulary = Vocabulary.build(self._complete_sentences()[1], self.words.lookup)
            if folder is not None:
                with contextlib.suppress(OSError):  # a read-only cache only costs a rebuild next time
                    vocabulary.save(folder)
        vocabulary.projection  # noqa: B018 -- computed now, so warm-up pays for it rather than a question
        return vocabulary

    # ---- search ----------------------------------------------------------------------------------

    def in_window(self, window: DateRange | None) -> set[str]:
        """The complete articles published inside `window` (all of them without a window)."""
        if window is None:
            return set(self.manifest)
        lo, hi = day_key(window.start), day_key(window.end)
        return {d for d, e in self.manifest.items() if lo <= e.published_day <= hi}

    def search(
        self, question: str, lang: str = "ar", exclude_in: str = "", window: DateRange | None = None
    ) -> SearchResult:
        """Sentences of the best articles for the question, best first, and the answer-or-abstain decision.

        `lang` is the question's language (the ranker has a model per language); sentences whose text occurs
        in `exclude_in` (a follow-up's previous answer, with its quotes) are left out. `window` (--since /
        --until) keeps only articles published inside it; undated articles are left out while it is on.
        Planted sentences are never candidates, and of a sentence printed in several articles (a wire copy)
        only one copy is ranked, so copies do not split the evidence between them.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        query = self.embedder.query_vector(question)
        if self.words.embedder is self.use.embedder:
            use_query, word_vectors = self.words.question_and_word_vectors(question)
        else:
            use_query = self.use.embedder.vectors([question])[0]
            word_vectors = self.words.question_vectors(question)
        t1 = time.perf_counter()
        timings["embed_ms"] = (t1 - t0) * 1000
        q_tokens = tokenize(question)
        if lang == "en":  # BM25 cannot match English words in Arabic text: add their nearest Arabic words
            q_tokens = question_tokens(q_tokens, word_vectors, self.vocabulary())
        candidates, dense_doc = self._candidate_docs(query, q_tokens, window)
        t2 = time.perf_counter()
        timings["retrieve_ms"] = (t2 - t1) * 1000
        rows = self._candidate_sentences(candidates, dense_doc, exclude_in)
        if not rows.ids:
            timings["score_ms"] = (time.perf_counter() - t2) * 1000
            return SearchResult([], [], timings)
        cand = Candidates(
            question=question,
            lang=lang,
            q_tokens=q_tokens,
            doc_ids=[m["doc_id"] for m in rows.metas],
            ns=np.array([int(m.get("n", 0)) for m in rows.metas]),
            texts=rows.texts,
            dense=rows.vectors @ query,
            lexical=self.lexical.coverage(q_tokens, [_token_set(t) for t in rows.texts]),
            doc_dense={d: dense_doc[d] for d in candidates},
            vectors=rows.vectors,
            query=query,
            use=self.use.get(rows.texts) @ use_query,
            alignment=self.words.align(question, rows.texts, self.lexical, word_vectors),
        )
        scores = self.ranker.rank(cand)
        decision = self.ranker.decide(cand, scores, self.abstain_bias, self.abstain_below.get(lang))
        dated = self._date_matches(question, cand.doc_ids)
        scores = scores + self.date_boost * dated  # after the decision: a date reorders, it never answers
        hits, docs = self._ranked(cand, rows, scores, dated, candidates)
        timings["score_ms"] = (time.perf_counter() - t2) * 1000
        return SearchResult(hits, docs, timings, decision)

    def _candidate_docs(
        self, query: np.ndarray, q_tokens: list[str], window: DateRange | None
    ) -> tuple[list[str], dict[str, float]]:
        """The articles whose sentences are ranked: the best by dense chunks and the best by BM25 sentences,
        and each candidate's best chunk cosine."""
        allowed = self.in_window(window)
        dense_doc: dict[str, float] = {}
        result = self.store.chunks.query(
            query_embeddings=[query.tolist()],
            n_results=self.top_chunks,
            include=["metadatas", "distances"],
            **({"where": self._window_filter(window, allowed)} if window is not None and allowed else {}),
        )
        for meta, distance in zip(result["metadatas"][0], result["distances"][0], strict=True):
            doc_id = meta.get("doc_id")
            if doc_id in allowed:
                cosine = 1.0 - float(distance)  # the collections are in cosine space
                dense_doc[doc_id] = max(dense_doc.get(doc_id, -1.0), cosine)
        lexical_docs: list[str] = []
        for sid, _ in self.lexical.top(
            q_tokens, LEXICAL_CANDIDATES if window is None else 10 * LEXICAL_CANDIDATES
        ):
            doc_id = sid.rsplit(":", 1)[0]
            if doc_id in allowed and doc_id not in lexical_docs:
                lexical_docs.append(doc_id)
        dense_ranked = sorted(dense_doc, key=dense_doc.get, reverse=True)[: self.top_docs]
        candidates = list(dict.fromkeys(dense_ranked + lexical_docs[: self.top_docs]))
        missing = [d for d in candidates if d not in dense_doc]
        if missing:
            dense_doc.update(self._dense_for_docs(missing, query))
        return candidates, dense_doc

    def _candidate_sentences(
        self, candidates: list[str], dense_doc: dict[str, float], exclude_in: str
    ) -> _Rows:
        """The candidate articles' sentences that may be ranked: not planted, not already quoted in
        `exclude_in`, one copy of a sentence printed in several articles."""
        if not candidates:
            return _Rows([], [], [], np.zeros((0, 0), dtype=np.float32))
        rows = self._sentence_rows(candidates)  # article by article, each in sentence order
        planted = _planted(rows)
        keep = _one_copy(
            [
                i
                for i, sid in enumerate(rows["ids"])
                if not planted.get(sid) and not (exclude_in and rows["texts"][i] in exclude_in)
            ],
            rows,
            dense_doc,
        )
        return _Rows(
            ids=[rows["ids"][i] for i in keep],
            texts=[rows["texts"][i] for i in keep],
            metas=[rows["metadatas"][i] for i in keep],
            vectors=np.asarray([rows["embeddings"][i] for i in keep], dtype=np.float32),
        )

    def _ranked(
        self,
        cand: Candidates,
        rows: _Rows,
        scores: np.ndarray,
        dated: np.ndarray,
        candidates: list[str],
    ) -> tuple[list[SentenceHit], list[tuple[str, float]]]:
        """Hits best first (each score a share of the candidates' softmax), and the articles ranked by their
        best sentence (candidates left with no sentence go last)."""
        share = np.exp(scores - scores.max())
        share /= share.sum()
        doc_lex: dict[str, float] = {}
        doc_best: dict[str, float] = {}
        for d, lex, sc in zip(cand.doc_ids, cand.lexical, scores, strict=True):
            doc_lex[d] = max(doc_lex.get(d, 0.0), float(lex))
            doc_best[d] = max(doc_best.get(d, -math.inf), float(sc))
        expected = expected_type(cand.question)
        hits = [
            SentenceHit(
                sentence_id=sid,
                doc_id=d,
                title=self.manifest[d].title,
                n=int(meta.get("n", 0)),
                text=text,
                score=float(sh),
                dense=float(dn),
                lexical=float(lx),
                doc_dense=cand.doc_dense[d],
                doc_lexical=doc_lex[d],
                type_match=supplies(expected, text),
                use=float(us),
                url=self.manifest[d].url,
                published=self.manifest[d].published,
                source=self.manifest[d].source,
                skey=_skey(meta, text),
                date_match=bool(dm),
            )
            for sid, d, meta, text, sh, dn, lx, us, dm in zip(
                rows.ids,
                cand.doc_ids,
                rows.metas,
                rows.texts,
                share,
                cand.dense,
                cand.lexical,
                cand.use,
                dated,
                strict=True,
            )
        ]
        docs = sorted(doc_best.items(), key=lambda kv: kv[1], reverse=True)
        docs += [(d, -math.inf) for d in candidates if d not in doc_best]
        return spread(sorted(hits, key=lambda h: h.score, reverse=True)), docs

    def _window_filter(self, window: DateRange, allowed: set[str]) -> dict:
        """A Chroma `where` for chunks of articles published inside the window: by day, or by id while some
        articles still lack the day on their chunks (stored by an older version, not yet upgraded)."""
        if any(e.format < DAY_ON_CHUNKS for e in self.manifest.values()):
            return {"doc_id": {"$in": sorted(allowed)}}
        return {
            "$and": [
                {"published_day": {"$gte": day_key(window.start)}},
                {"published_day": {"$lte": day_key(window.end)}},
            ]
        }

    def _date_matches(self, question: str, doc_ids: list[str]) -> np.ndarray:
        """1 for the sentences whose article was published when the question says (a month, or a day and
        up to `date_slack_days` after it: news of the 7th is printed on the 8th), else 0. A year alone is when
        an event happened, not when news of it was published, so it boosts nothing."""
        asked = question_range(question, years=False) if self.date_boost else None
        if asked is None:
            return np.zeros(len(doc_ids))
        days = (asked.end - asked.start).days
        window = asked.widened(days_after=self.date_slack_days) if days < 7 else asked
        lo, hi = day_key(window.start), day_key(window.end)
        return np.array([float(lo <= self.manifest[d].published_day <= hi) for d in doc_ids])

    def _sentence_rows(self, doc_ids: list[str]) -> dict[str, list]:
        """The stored sentences of these articles (ids, texts, metadatas, embeddings), article by article in
        order, each article read from the store once per store generation."""
        articles = self._sentence_cache.get_many(doc_ids)
        missing = [d for d in doc_ids if d not in articles]
        if missing:
            # Ids, not a metadata filter: the manifest knows each article's sentence count, and a lookup by id
            # stays fast at 100k sentences where a `doc_id` filter scans.
            ids = {d: [f"{d}:{n}" for n in range(self.manifest[d].sentences)] for d in missing}
            rows = get_with_texts(
                self.store.sentences, ids=[i for d in missing for i in ids[d]], include=["embeddings"]
            )
            read = _by_article(rows, ids, with_texts=True)
            self._sentence_cache.put_many(read)
            articles.update(read)
        return _joined([articles[d] for d in doc_ids])

    def _dense_for_docs(self, doc_ids: list[str], query: np.ndarray) -> dict[str, float]:
        """Each article's best chunk cosine with the question (its chunks read once per store generation)."""
        articles = self._chunk_cache.get_many(doc_ids)
        missing = [d for d in doc_ids if d not in articles]
        if missing:
            ids = {d: [f"{d}#{k}" for k in range(self.manifest[d].chunks)] for d in missing}
            rows = self.store.chunks.get(ids=[i for d in missing for i in ids[d]], include=["embeddings"])
            read = _by_article(rows, ids, with_texts=False)
            self._chunk_cache.put_many(read)
            articles.update(read)
        best: dict[str, float] = {d: -1.0 for d in doc_ids}
        vectors = [articles[d].vectors for d in doc_ids if len(articles[d].ids)]
        if vectors:
            sims = np.concatenate(vectors) @ query
            owners = [d for d in doc_ids for _ in articles[d].ids]
            for d, sim in zip(owners, sims, strict=True):
                best[d] = max(best[d], float(sim))
        return best


def _rows(article: _Article) -> int:
    return len(article.ids)


def _by_article(rows: dict, ids: dict[str, list[str]], with_texts: bool) -> dict[str, _Article]:
    """A store read split into articles: each article's records in the order of its ids (the ones found);
    texts and metadatas only for sentences (`with_texts`), chunks are kept as vectors alone."""
    position = {sid: i for i, sid in enumerate(rows["ids"])}
    vectors = rows["embeddings"]
    width = len(vectors[0]) if len(rows["ids"]) else 0
    articles = {}
    for doc_id, wanted in ids.items():
        found = [position[sid] for sid in wanted if sid in position]
        articles[doc_id] = _Article(
            ids=[rows["ids"][i] for i in found],
            texts=[rows["texts"][i] for i in found] if with_texts else [],
            metas=[rows["metadatas"][i] for i in found] if with_texts else [],
            vectors=np.asarray([vectors[i] for i in found], dtype=np.float32).reshape(len(found), width),
        )
    return articles


def _joined(articles: list[_Article]) -> dict[str, list]:
    """Articles' sentence records as one store read (the shape `get_with_texts` returns)."""
    return {
        "ids": [i for a in articles for i in a.ids],
        "texts": [t for a in articles for t in a.texts],
        "metadatas": [m for a in articles for m in a.metas],
        "embeddings": [v for a in articles for v in a.vectors],
    }


@lru_cache(maxsize=50_000)
def _token_set(text: str) -> frozenset[str]:
    """A sentence's BM25 tokens: the same candidate sentences come back question after question."""
    return frozenset(tokenize(text))


def _skey(meta: dict, text: str) -> str:
    """The stored wire-copy key (computed for a sentence stored by an older version without one)."""
    return str(meta["skey"]) if "skey" in meta else sentence_key(text) or ""


def _planted(rows: dict) -> dict[str, str]:
    """Sentence id -> why it is planted text, as flagged at ingest. A sentence stored by an older version has
    no flag: its article's sentences (all fetched here) are judged as ingest would judge them."""
    flagged: dict[str, str] = {}
    unflagged: dict[str, list[tuple[int, str, str]]] = {}
    for sid, text, meta in zip(rows["ids"], rows["texts"], rows["metadatas"], strict=True):
        if "planted" in meta:
            if meta["planted"]:
                flagged[sid] = str(meta["planted"])
        else:
            unflagged.setdefault(str(meta.get("doc_id")), []).append((int(meta.get("n", 0)), sid, text or ""))
    for sentences in unflagged.values():
        sentences.sort()
        for i, reason in planted_sentences([t for _, _, t in sentences]).items():
            flagged[sentences[i][1]] = reason
    return flagged


def _one_copy(keep: list[int], rows: dict, dense_doc: dict[str, float]) -> list[int]:
    """Of a sentence printed in several candidate articles (the same wire-copy key), only the copy in the
    article with the best dense evidence is ranked; the others come back as that citation's `also_in`."""
    owner: dict[str, str] = {}
    for i in keep:
        key, doc = _skey(rows["metadatas"][i], rows["texts"][i]), rows["metadatas"][i]["doc_id"]
        if key and (key not in owner or dense_doc[doc] > dense_doc[owner[key]]):
            owner[key] = doc
    return [
        i
        for i in keep
        if owner.get(_skey(rows["metadatas"][i], rows["texts"][i]), rows["metadatas"][i]["doc_id"])
        == rows["metadatas"][i]["doc_id"]
    ]
