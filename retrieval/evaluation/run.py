"""Run a question set through khabar (and optionally the LlamaIndex baseline) into per-question records and metrics.

Khabar is measured exactly as a user meets it: `Khabar.run()` with the given settings. Its article ranking is
`turn.search.docs`, which holds only the answer path's candidates (`top_docs` dense + `top_docs` lexical). For
doc_hit@10 that ranking is extended, for every question alike and after the answer is made (outside its
latency), by the same search with `top_docs=10`: articles it adds go after the answer path's own, whose order
is never changed. Nothing a method does depends on the gold.

Every method's reply becomes a `Response` (answer text, abstained, cited passages, article and passage rankings,
latency), and one function, `score`, turns a Response into the record the metrics read and the per-question
row: the same gold rule, answer-language rule and verdicts for khabar and the baseline.

Stores for a `--corpus` live in `<data_dir>/eval/<corpus-hash>/` (embedded Chroma, rebuilt only when the corpus,
the embedder, the chunk size or the ingest code changes); the baseline index is persisted beside them. With
`hide_share`, a seeded share of the articles is left out of the store (which is then keyed by the hash of the
articles kept), and questions whose gold articles are all hidden become unanswerable (`hide_gold`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.corpus.files import Article, load_articles
from retrieval.evaluation.metrics import MAX_RANK, Record, by_group, doc_rank
from retrieval.evaluation.questions import (
    Question,
    answerable_through_copies,
    contains_answer,
    hide_gold,
    is_gold_passage,
    with_copies,
)
from retrieval.index.embedding import EMBEDDER_NAME
from retrieval.index.manifest import complete_entries, corpus_fingerprint
from retrieval.index.sentence_text import get_with_texts
from retrieval.pipeline import Khabar
from retrieval.settings import Settings
from retrieval.text.arabic import ARABIC_LETTER, LATIN_LETTER
from retrieval.text.language import Lang, detect_language

if TYPE_CHECKING:  # llama-index's core is slow to load: only `khabar eval --baseline` needs it
    from retrieval.evaluation.baseline import Baseline


class EvalError(RuntimeError):
    """The evaluation cannot start (unreadable corpus, baseline without source articles); says what to do."""


class Progress(Protocol):
    """What a front end shows while an evaluation runs."""

    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class _Silent:
    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


# Every module whose change changes what a store holds: text, markup and page extraction, splitting, dates,
# wire-copy keys, planted-text flags, nodes and vectors.
_INGEST_MODULES = (
    *("text/arabic.py", "text/markup.py", "text/dates.py", "text/lexicon.py", "text/planted.py"),
    *("corpus/charset.py", "corpus/pages.py", "corpus/article.py", "corpus/files.py", "corpus/dedup.py"),
    *("index/writer.py", "index/manifest.py", "index/embedding.py"),
)


def _ingest_code_hash() -> str:
    """Hash of the code that decides what a store holds (splitting, nodes, vectors): a change rebuilds eval stores."""
    here = Path(__file__).resolve().parents[1]  # retrieval/
    digest = hashlib.sha256()
    for name in _INGEST_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Hidden:
    """The articles left out of an evaluation store: a seeded, article-level split of the corpus."""

    share: float
    seed: int
    docs: frozenset[str]
    total: int  # articles in the corpus before hiding
    texts: dict[str, str] = field(default_factory=dict, compare=False)  # the hidden articles' texts

    def info(self) -> dict[str, Any]:
        """For metrics.json: enough to reproduce the split and to check it is the same one."""
        ids = "\n".join(sorted(self.docs)).encode("utf-8")
        return {
            "share": self.share,
            "seed": self.seed,
            "articles_hidden": len(self.docs),
            "articles_kept": self.total - len(self.docs),
            "hidden_ids_sha256": hashlib.sha256(ids).hexdigest()[:16],
        }


def split_hidden(doc_ids: Iterable[str], share: float, seed: int) -> frozenset[str]:
    """round(share * n) article ids drawn with `random.Random(seed)` from the sorted ids: the same split every run."""
    ids = sorted(set(doc_ids))
    count = round(share * len(ids))
    if not 0 < count < len(ids):
        raise EvalError(
            f"Hiding {share:g} of {len(ids)} articles leaves {'nothing hidden' if count <= 0 else 'no article'}; "
            "choose a share that hides at least one article and keeps at least one."
        )
    return frozenset(random.Random(seed).sample(ids, count))


@dataclass
class EvalStore:
    """The Khabar to evaluate, the corpus hash it was built from, and where its files are."""

    kb: Khabar
    corpus_hash: str
    folder: Path  # <data_dir>/eval/<corpus-hash>: the corpus store (if any) and the baseline index
    corpus: str  # what was evaluated: the corpus path, or the store location
    articles: list[Article] | None = None
    ingest_failures: list[tuple[str, str]] = field(default_factory=list)
    hidden: Hidden | None = None  # articles of the corpus left out of this store

    def questions(self, questions: Sequence[Question]) -> list[Question]:
        """The questions as they stand over this store: with hidden articles, some become unanswerable; each
        answerable one carries its evidence sentences as the store split them, so a copy of one counts."""
        if self.hidden is None:
            questions = list(questions)
            sentences = stored_sentences(self.kb, {e.doc for q in questions for e in q.evidence})
        else:  # a question whose hidden article's answer sentence is still printed elsewhere stays answerable
            sentences = stored_sentences(self.kb)
            questions = [
                answerable_through_copies(q, self.hidden.texts, sentences) if q.hidden_evidence else q
                for q in hide_gold(questions, self.hidden.docs)
            ]
        return [with_copies(q, sentences) if q.evidence else q for q in questions]


def stored_sentences(kb: Khabar, doc_ids: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The stored sentence texts of each of `doc_ids` (an article not in the store has none), or of every
    article."""
    found: dict[str, list[str]] = {}
    if doc_ids is None:
        pages = (
            get_with_texts(kb.store.sentences, limit=5000, offset=start)
            for start in range(0, kb.store.sentences.count(), 5000)
        )
    else:
        ids = sorted(doc_ids)
        pages = (
            get_with_texts(kb.store.sentences, where={"doc_id": {"$in": ids[start : start + 200]}})
            for start in range(0, len(ids), 200)
        )
    for rows in pages:
        for text, meta in zip(rows["texts"], rows["metadatas"], strict=True):
            found.setdefault(str(meta.get("doc_id", "")), []).append(text)
    return found


def open_eval_store(
    settings: Settings,
    corpus: Path | None = None,
    progress: Progress | None = None,
    hide_share: float | None = None,
    seed: int = 0,
) -> EvalStore:
    """Khabar over `corpus` (a separate embedded store cached by content hash) or over the current store.

    With `hide_share`, the store holds the corpus (or the current store's articles) minus a seeded share of them.
    """
    progress = progress or _Silent()
    eval_root = Path(settings.data_dir) / "eval"
    if corpus is None:
        kb = Khabar(settings)
        if kb.is_empty():
            kb.ensure_seeded(
                progress=progress.advance, on_total=lambda n: progress.start("ingesting seeds", n)
            )
        if hide_share is not None:  # the current store's articles, re-read, go into a store of their own
            return _build_store(
                settings, store_articles(kb), kb.store.location, [], progress, hide_share, seed
            )
        entries = complete_entries(kb.store)
        fingerprint = corpus_fingerprint((doc_id, e.content_hash) for doc_id, e in entries.items())
        return EvalStore(kb, fingerprint, eval_root / fingerprint, kb.store.location)

    report = load_articles([Path(corpus)])
    if not report.articles:
        reasons = "; ".join(f"{p}: {r}" for p, r in report.failures[:3]) or "no articles found"
        raise EvalError(f"Cannot read the corpus {corpus}: {reasons}")
    return _build_store(settings, report.articles, str(corpus), report.failures, progress, hide_share, seed)


def _build_store(
    settings: Settings,
    articles: list[Article],
    source: str,
    failures: list[tuple[str, str]],
    progress: Progress,
    hide_share: float | None,
    seed: int,
) -> EvalStore:
    """An embedded store of `articles` (minus the hidden ones) in <data_dir>/eval/<hash of what it holds>/."""
    hidden = None
    if hide_share is not None:
        docs = split_hidden((a.doc_id for a in articles), hide_share, seed)
        texts = {a.doc_id: a.text for a in articles if a.doc_id in docs}
        hidden = Hidden(hide_share, seed, docs, len(articles), texts)
        articles = [a for a in articles if a.doc_id not in docs]
    fingerprint = corpus_fingerprint((a.doc_id, a.content_hash) for a in articles)
    folder = Path(settings.data_dir) / "eval" / fingerprint
    build = {
        "embedder": EMBEDDER_NAME,
        "chunk_chars": settings.chunk_chars,
        "collection": settings.collection,
        "code": _ingest_code_hash(),
    }
    marker = folder / "build.json"
    if marker.is_file() and json.loads(marker.read_text("utf-8")) != build:
        shutil.rmtree(folder)  # built by another embedder, chunk size or ingest code: it would not compare
    folder.mkdir(parents=True, exist_ok=True)
    kb = Khabar(settings.model_copy(update={"data_dir": folder, "chroma_url": None}))
    progress.start("ingesting corpus", len(articles))
    kb.indexer.ingest(articles, prune=True, progress=progress.advance)
    marker.write_text(json.dumps(build), "utf-8")
    return EvalStore(kb, fingerprint, folder, source, articles, failures, hidden)


def store_articles(kb: Khabar) -> list[Article]:
    """The current store's articles, re-read from the files recorded at ingest (the store keeps no full text).

    The baseline must index the very same articles, so a file that is gone or changed since is an error.
    """
    wanted = complete_entries(kb.store)
    paths = sorted({e.path for e in wanted.values() if e.path})
    found = {a.doc_id: a for a in load_articles([Path(p) for p in paths]).articles if a.doc_id in wanted}
    stale = [d for d, e in wanted.items() if d not in found or found[d].content_hash != e.content_hash]
    if stale:
        raise EvalError(
            f"{len(stale)} stored articles (e.g. {stale[0]}) are missing or changed in their source files, so the "
            "baseline cannot index the same corpus. Re-ingest, or pass --corpus."
        )
    return [found[d] for d in sorted(found)]


# ---- one question, each method -----------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A ranked or cited passage: khabar's sentence or the baseline's chunk, with its id and verbatim text."""

    id: str
    doc_id: str
    text: str


@dataclass
class Response:
    """What one method returned for one question, before any scoring: the same shape for every method."""

    answer: str
    abstained: bool
    citations: list[Passage]  # in citation order
    doc_ranking: list[str]  # article ids, best first
    passages: list[Passage]  # ranked passages, best first (for passage hit@k)
    latency_ms: float
    details: dict[str, Any] = field(default_factory=dict)  # method-specific facts for the per-question row


@dataclass
class Outcome:
    """One method on one question: the record for the metrics and the row for per_question.jsonl."""

    record: Record
    row: dict[str, Any]


_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"")
_MARKER = re.compile(r"\[\d+\]")


def prose_language(answer: str, quoted: Sequence[str]) -> Lang | None:
    """The language of an answer's own prose: its text with the quoted sources, quotation marks and [n] set aside.

    An extractive English answer quotes Arabic sentences inside English framing, an LLM answer may quote a phrase:
    only the words the method wrote itself say which language it answered in. An answer that is nothing but
    quoted source text (the baseline's chunk) has no prose of its own, and its language is that of the quote.
    None for an answer with no letters at all.
    """
    prose = answer
    for text in sorted({t for t in quoted if t.strip()}, key=len, reverse=True):
        prose = prose.replace(text, " ")
    prose = _MARKER.sub(" ", _QUOTED.sub(" ", prose))
    for text in (prose, answer):
        if ARABIC_LETTER.search(text) or LATIN_LETTER.search(text):
            return detect_language(text)
    return None


def _verdict(q: Question, record: Record) -> str:
    if record.error is not None:
        return "error"
    if not q.answerable:
        reason = " (gold article hidden)" if q.hidden_gold else ""
        return (
            f"hit: abstained{reason}"
            if record.abstained
            else f"miss: answered an unanswerable question{reason}"
        )
    if record.abstained:
        return "miss: abstained on an answerable question"
    if record.citation_gold[:1] == (True,):
        return "hit"
    if any(record.citation_gold):
        return "hit: gold is not the first citation"
    if doc_rank(record) is not None:
        return "miss: right article ranked, wrong passage cited"
    return "miss: gold article not ranked"


def _error_outcome(q: Question, exc: Exception) -> Outcome:
    record = Record(
        q.id,
        q.lang,
        q.answerable,
        q.gold_docs,
        error=f"{type(exc).__name__}: {exc}",
        hidden_gold=q.hidden_gold,
    )
    return Outcome(record, {"error": record.error, "verdict": "error"})


def score(q: Question, response: Response) -> Outcome:
    """The one record builder: a method's Response, judged against the question's gold by the same rules."""
    copies = q.evidence_sentences
    flags = tuple(is_gold_passage(c.doc_id, c.text, q.evidence, copies) for c in response.citations)
    passage_rank = next(
        (
            i
            for i, h in enumerate(response.passages[:MAX_RANK], 1)
            if is_gold_passage(h.doc_id, h.text, q.evidence, copies)
        ),
        None,
    )
    quoted = [c.text for c in response.citations]
    record = Record(
        qid=q.id,
        lang=q.lang,
        answerable=q.answerable,
        gold_docs=q.gold_docs,
        doc_ranking=tuple(response.doc_ranking[:MAX_RANK]),
        citation_gold=flags,
        cited_chars=sum(len(t) for t in quoted),
        abstained=response.abstained,
        answer_lang=prose_language(response.answer, quoted),
        contains_gold=not response.abstained and contains_answer(response.answer, q.gold_answers),
        latency_ms=response.latency_ms,
        passage_gold_rank=passage_rank,
        hidden_gold=q.hidden_gold,
    )
    row = {
        "answer": response.answer,
        "abstained": response.abstained,
        "answer_lang": record.answer_lang,
        "citations": [
            {
                "n": n,
                "id": c.id,
                "doc_id": c.doc_id,
                "text": c.text,
                "gold": g,
                # gold only as the copy of an evidence sentence printed in another article
                "copy": g and not is_gold_passage(c.doc_id, c.text, q.evidence),
            }
            for n, (c, g) in enumerate(zip(response.citations, flags, strict=True), 1)
        ],
        "doc_ranking": list(record.doc_ranking),
        "gold_doc_rank": doc_rank(record),
        "gold_passage_rank": passage_rank,
        "contains_gold": record.contains_gold,
        "latency_ms": round(response.latency_ms, 1),
        **response.details,
        "verdict": _verdict(q, record),
    }
    return Outcome(record, row)


class _Runner:
    """A method under evaluation: `respond` asks it; calling it scores the Response (or the error) by `score`."""

    def respond(self, q: Question) -> Response:
        raise NotImplementedError

    def __call__(self, q: Question) -> Outcome:
        try:
            response = self.respond(q)
        except Exception as exc:  # a question that raises is counted, never fatal
            return _error_outcome(q, exc)
        return score(q, response)


class KhabarRunner(_Runner):
    """Asks khabar each question; a deeper search (top_docs=10) then extends every article ranking for doc_hit@10."""

    def __init__(self, kb: Khabar):
        self.kb = kb
        # the same question vector as the answer's search (the pipeline remembers its last question)
        self.deep = kb.searcher_for(MAX_RANK) if kb.settings.top_docs < MAX_RANK else None

    def respond(self, q: Question) -> Response:
        start = time.perf_counter()
        turn = self.kb.run(q.question)
        latency = (time.perf_counter() - start) * 1000
        ranking = [doc_id for doc_id, _ in turn.search.docs]
        answer_path_docs = len(ranking)
        # Outside the latency, and for every question alike: the gold is never looked at.
        if self.deep is not None and len(ranking) < MAX_RANK:
            self.deep.refresh()
            ranking += [d for d, _ in self.deep.search(turn.retrieval_query).docs if d not in ranking]
        answer = turn.answer
        return Response(
            answer=answer.answer,
            abstained=answer.abstained,
            citations=[Passage(c.sentence_id, c.doc_id, c.text) for c in answer.citations],
            doc_ranking=ranking,
            passages=[Passage(h.sentence_id, h.doc_id, h.text) for h in turn.search.hits[:MAX_RANK]],
            latency_ms=latency,
            details={"mode": answer.mode, "answer_path_docs": answer_path_docs},
        )


class BaselineRunner(_Runner):
    """Asks the baseline: the top `k` chunks are its citations and its answer; it never abstains."""

    def __init__(self, baseline: Baseline, k: int = 1):
        self.baseline = baseline
        self.k = k

    def respond(self, q: Question) -> Response:
        nodes, latency = self.baseline.retrieve(q.question, max(MAX_RANK, self.k))
        passages = [Passage(n.node_id, n.doc_id, n.text) for n in nodes]
        cited = passages[: self.k]
        return Response(
            answer="\n".join(p.text for p in cited),
            abstained=False,
            citations=cited,
            doc_ranking=list(dict.fromkeys(n.doc_id for n in nodes)),
            passages=passages,
            latency_ms=latency,
        )


# ---- a whole set ---------------------------------------------------------------------------------


@dataclass
class MethodRun:
    outcomes: list[Outcome]
    wall_s: float

    @property
    def records(self) -> list[Record]:
        return [o.record for o in self.outcomes]


def run_method(
    name: str,
    ask: Callable[[Question], Outcome],
    questions: Sequence[Question],
    progress: Progress | None = None,
) -> MethodRun:
    progress = progress or _Silent()
    progress.start(name, len(questions))
    start = time.perf_counter()
    outcomes = []
    for q in questions:
        outcomes.append(ask(q))
        progress.advance(1)
    return MethodRun(outcomes, time.perf_counter() - start)


@dataclass
class EvalResult:
    """Everything a report needs: the questions, each method's run, and the context of the measurement."""

    questions: list[Question]
    runs: dict[str, MethodRun]
    info: dict[str, Any]

    def metrics(self) -> dict[str, Any]:
        """The metrics.json document: methods by group, then throughput and the measurement context."""
        doc: dict[str, Any] = {name: by_group(run.records) for name, run in self.runs.items()}
        doc["throughput"] = {
            name: {
                "questions": len(run.outcomes),
                "wall_s": round(run.wall_s, 2),
                "questions_per_second": round(len(run.outcomes) / run.wall_s, 2) if run.wall_s else None,
            }
            for name, run in self.runs.items()
        }
        doc.update(self.info)
        return doc

    def rows(self) -> list[dict[str, Any]]:
        """per_question.jsonl: the question, its gold, and what each method answered with hit or miss."""
        rows = []
        for i, q in enumerate(self.questions):
            row: dict[str, Any] = {
                "id": q.id,
                "question": q.question,
                "lang": q.lang,
                "answerable": q.answerable,
                "hidden_gold": q.hidden_gold,
                "gold": {
                    "answers": list(q.answers),
                    "answers_en": list(q.answers_en),
                    "evidence": [asdict(e) for e in q.evidence or q.hidden_evidence],
                },
            }
            for name, run in self.runs.items():
                row[name] = run.outcomes[i].row
            rows.append(row)
        return rows


def evaluate(
    store: EvalStore,
    questions: Sequence[Question],
    baseline: Baseline | None = None,
    k: int = 1,
    progress: Progress | None = None,
    info: dict[str, Any] | None = None,
) -> EvalResult:
    """Run every question through khabar and, if given, the baseline (same questions, same machine, same run).

    Over a store with hidden articles, questions whose gold articles are all hidden are unanswerable there.
    """
    asked, questions = list(questions), store.questions(questions)
    load_before = os.getloadavg()[0]
    runs = {"khabar": run_method("khabar", KhabarRunner(store.kb), questions, progress)}
    if baseline is not None:
        runs["baseline"] = run_method("baseline", BaselineRunner(baseline, k), questions, progress)
    info = dict(info or {})
    if store.hidden is not None:
        info["hidden_articles"] = {
            **store.hidden.info(),
            "questions_made_unanswerable": sum(q.hidden_gold for q in questions),
            # gold articles all hidden, but a kept article prints the answer sentence word for word
            "questions_answerable_through_copies": sum(
                bool(a.gold_docs) and a.gold_docs <= store.hidden.docs and q.answerable
                for a, q in zip(asked, questions, strict=True)
            ),
        }
    # Latency is wall time: on a shared machine the load beside it says how much to trust it.
    info["measured"] = {**info.get("measured", {}), "load_avg_1min": [load_before, os.getloadavg()[0]]}
    return EvalResult(questions, runs, info)
