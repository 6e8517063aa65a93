"""Run a question set through khabar (and optionally the LlamaIndex baseline) into per-question records and metrics.

Khabar is measured exactly as a user meets it: `Khabar.run()` with the given settings. Its article ranking is
`turn.search.docs`, which holds only the answer path's candidates (`top_docs` dense + `top_docs` lexical). For
doc_hit@10 that ranking is extended, after the answer is made and outside its latency, by the same search with
`top_docs=10`: articles it adds go after the answer path's own, whose order is never changed. The extension
is only run when the gold article is not among the answer path's candidates: otherwise it cannot change any metric.

Stores for a `--corpus` live in `<data_dir>/eval/<corpus-hash>/` (embedded Chroma, rebuilt only when the corpus,
the embedder, the chunk size or the ingest code changes); the baseline index is persisted beside them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from retrieval.baseline import Baseline
from retrieval.corpus import Article, load_articles
from retrieval.embedding import EMBEDDER_NAME
from retrieval.index import COMPLETE
from retrieval.language import detect_language
from retrieval.metrics import MAX_RANK, Record, by_group, doc_rank
from retrieval.pipeline import Khabar
from retrieval.questions import Question, contains_answer, is_gold_chunk, is_gold_sentence
from retrieval.search import Searcher
from retrieval.settings import Settings


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


def articles_fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """Content hash of a corpus: sha256 over sorted (doc id, article content hash); the same for a file and a store."""
    payload = "\n".join(f"{doc_id}\t{content}" for doc_id, content in sorted(pairs))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _ingest_code_hash() -> str:
    """Hash of the code that decides what a store holds (splitting, nodes, vectors): a change rebuilds eval stores."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("text.py", "corpus.py", "index.py", "embedding.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class EvalStore:
    """The Khabar to evaluate, the corpus hash it was built from, and where its files are."""

    kb: Khabar
    corpus_hash: str
    folder: Path  # <data_dir>/eval/<corpus-hash>: the corpus store (if any) and the baseline index
    corpus: str  # what was evaluated: the corpus path, or the store location
    articles: list[Article] | None = None
    ingest_failures: list[tuple[str, str]] = field(default_factory=list)


def open_eval_store(
    settings: Settings, corpus: Path | None = None, progress: Progress | None = None
) -> EvalStore:
    """Khabar over `corpus` (a separate embedded store cached by content hash) or over the current store."""
    progress = progress or _Silent()
    eval_root = Path(settings.data_dir) / "eval"
    if corpus is None:
        kb = Khabar(settings)
        if kb.is_empty():
            kb.ensure_seeded(
                progress=progress.advance, on_total=lambda n: progress.start("ingesting seeds", n)
            )
        rows = kb.store.articles.get(include=["metadatas"])
        pairs = [
            (doc_id, str(m.get("content_hash", "")))
            for doc_id, m in zip(rows["ids"], rows["metadatas"] or [], strict=False)
            if m.get("status") == COMPLETE
        ]
        fingerprint = articles_fingerprint(pairs)
        return EvalStore(kb, fingerprint, eval_root / fingerprint, kb.store.location)

    report = load_articles([Path(corpus)])
    if not report.articles:
        reasons = "; ".join(f"{p}: {r}" for p, r in report.failures[:3]) or "no articles found"
        raise EvalError(f"Cannot read the corpus {corpus}: {reasons}")
    fingerprint = articles_fingerprint((a.doc_id, a.content_hash) for a in report.articles)
    folder = eval_root / fingerprint
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
    progress.start("ingesting corpus", len(report.articles))
    kb.indexer.ingest(report.articles, prune=True, progress=progress.advance)
    marker.write_text(json.dumps(build), "utf-8")
    return EvalStore(kb, fingerprint, folder, str(corpus), report.articles, report.failures)


def store_articles(kb: Khabar) -> list[Article]:
    """The current store's articles, re-read from the files recorded at ingest (the store keeps no full text).

    The baseline must index the very same articles, so a file that is gone or changed since is an error.
    """
    rows = kb.store.articles.get(include=["metadatas"])
    wanted = {
        doc_id: m
        for doc_id, m in zip(rows["ids"], rows["metadatas"] or [], strict=False)
        if m.get("status") == COMPLETE
    }
    paths = sorted({str(m.get("path", "")) for m in wanted.values() if m.get("path")})
    found = {a.doc_id: a for a in load_articles([Path(p) for p in paths]).articles if a.doc_id in wanted}
    stale = [d for d, m in wanted.items() if d not in found or found[d].content_hash != m.get("content_hash")]
    if stale:
        raise EvalError(
            f"{len(stale)} stored articles (e.g. {stale[0]}) are missing or changed in their source files, so the "
            "baseline cannot index the same corpus. Re-ingest, or pass --corpus."
        )
    return [found[d] for d in sorted(found)]


# ---- one question, each method -----------------------------------------------------------------


@dataclass
class Outcome:
    """One method on one question: the record for the metrics and the row for per_question.jsonl."""

    record: Record
    row: dict[str, Any]


def _verdict(q: Question, record: Record) -> str:
    if record.error is not None:
        return "error"
    if not q.answerable:
        return "hit: abstained" if record.abstained else "miss: answered an unanswerable question"
    if record.abstained:
        return "miss: abstained on an answerable question"
    if record.citation_gold[:1] == (True,):
        return "hit"
    if any(record.citation_gold):
        return "hit: gold is not the first citation"
    if doc_rank(record) is not None:
        return "miss: right article ranked, wrong sentence cited"
    return "miss: gold article not ranked"


def _error_outcome(q: Question, exc: Exception) -> Outcome:
    record = Record(q.id, q.lang, q.answerable, q.gold_docs, error=f"{type(exc).__name__}: {exc}")
    return Outcome(record, {"error": record.error, "verdict": "error"})


class _LastQuery:
    """The embedder's query vectors, remembering the last one: the deep search embeds the same text again."""

    def __init__(self, embedder: Any):
        self.embedder = embedder
        self.last: tuple[str, Any] | None = None

    def query_vector(self, text: str) -> Any:
        if self.last is None or self.last[0] != text:
            self.last = (text, self.embedder.query_vector(text))
        return self.last[1]


class KhabarRunner:
    """Asks khabar each question; a deeper search (top_docs=10) only extends the article ranking for doc_hit@10."""

    def __init__(self, kb: Khabar):
        self.kb = kb
        self.deep: Searcher | None = None
        if kb.settings.top_docs < MAX_RANK:
            memo = _LastQuery(kb.searcher.embedder)
            kb.searcher.embedder = memo  # type: ignore[assignment]  # same vectors; the deep search reuses them
            self.deep = Searcher(
                kb.store,
                memo,  # type: ignore[arg-type]
                cache_dir=Path(kb.settings.data_dir) / "cache",
                top_chunks=kb.settings.top_chunks,
                top_docs=MAX_RANK,
                ranker=kb.searcher.ranker,
                use=kb.searcher.use,
            )

    def __call__(self, q: Question) -> Outcome:
        try:
            start = time.perf_counter()
            turn = self.kb.run(q.question)
            latency = (time.perf_counter() - start) * 1000
            ranking = [doc_id for doc_id, _ in turn.search.docs]
            answer_path_docs = len(ranking)
            missed = q.answerable and not q.gold_docs & set(ranking)
            if self.deep is not None and missed and len(ranking) < MAX_RANK:
                self.deep.refresh()
                ranking += [d for d, _ in self.deep.search(turn.retrieval_query).docs if d not in ranking]
        except Exception as exc:  # a question that raises is counted, never fatal
            return _error_outcome(q, exc)
        answer = turn.answer
        flags = tuple(is_gold_sentence(c.doc_id, c.text, q.evidence) for c in answer.citations)
        sentence_rank = next(
            (
                i
                for i, h in enumerate(turn.search.hits[:MAX_RANK], 1)
                if is_gold_sentence(h.doc_id, h.text, q.evidence)
            ),
            None,
        )
        record = Record(
            qid=q.id,
            lang=q.lang,
            answerable=q.answerable,
            gold_docs=q.gold_docs,
            doc_ranking=tuple(ranking[:MAX_RANK]),
            citation_gold=flags,
            cited_chars=sum(len(c.text) for c in answer.citations),
            abstained=answer.abstained,
            answer_lang=answer.lang,
            contains_gold=not answer.abstained and contains_answer(answer.answer, q.gold_answers),
            latency_ms=latency,
            passage_gold_rank=sentence_rank,
        )
        row = {
            "answer": answer.answer,
            "abstained": answer.abstained,
            "answer_lang": answer.lang,
            "citations": [
                {"n": c.n, "sentence_id": c.sentence_id, "doc_id": c.doc_id, "text": c.text, "gold": g}
                for c, g in zip(answer.citations, flags, strict=True)
            ],
            "doc_ranking": list(record.doc_ranking),
            "answer_path_docs": answer_path_docs,
            "gold_doc_rank": doc_rank(record),
            "gold_sentence_rank": sentence_rank,
            "contains_gold": record.contains_gold,
            "latency_ms": round(latency, 1),
            "verdict": _verdict(q, record),
        }
        return Outcome(record, row)


class BaselineRunner:
    """Asks the baseline: the top `k` chunks are its citations and its answer; it never abstains."""

    def __init__(self, baseline: Baseline, k: int = 1):
        self.baseline = baseline
        self.k = k

    def __call__(self, q: Question) -> Outcome:
        try:
            nodes, latency = self.baseline.retrieve(q.question, max(MAX_RANK, self.k))
        except Exception as exc:
            return _error_outcome(q, exc)
        ranking = list(dict.fromkeys(n.doc_id for n in nodes))
        cited = nodes[: self.k]
        flags = tuple(is_gold_chunk(n.doc_id, n.text, q.evidence) for n in cited)
        text = "\n".join(n.text for n in cited)
        chunk_rank = next(
            (i for i, n in enumerate(nodes, 1) if is_gold_chunk(n.doc_id, n.text, q.evidence)), None
        )
        record = Record(
            qid=q.id,
            lang=q.lang,
            answerable=q.answerable,
            gold_docs=q.gold_docs,
            doc_ranking=tuple(ranking[:MAX_RANK]),
            citation_gold=flags,
            cited_chars=len(text) if cited else 0,
            abstained=False,
            answer_lang=detect_language(text) if text.strip() else None,
            contains_gold=contains_answer(text, q.gold_answers),
            latency_ms=latency,
            passage_gold_rank=chunk_rank,
        )
        row = {
            "answer": text,
            "abstained": False,
            "answer_lang": record.answer_lang,
            "citations": [
                {"n": i, "node_id": n.node_id, "doc_id": n.doc_id, "chars": len(n.text), "gold": g}
                for i, (n, g) in enumerate(zip(cited, flags, strict=True), 1)
            ],
            "doc_ranking": list(record.doc_ranking),
            "gold_doc_rank": doc_rank(record),
            "gold_chunk_rank": chunk_rank,
            "contains_gold": record.contains_gold,
            "latency_ms": round(latency, 1),
            "verdict": _verdict(q, record),
        }
        return Outcome(record, row)


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
                "gold": {
                    "answers": list(q.answers),
                    "answers_en": list(q.answers_en),
                    "evidence": [asdict(e) for e in q.evidence],
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
    """Run every question through khabar and, if given, the baseline (same questions, same machine, same run)."""
    questions = list(questions)
    load_before = os.getloadavg()[0]
    runs = {"khabar": run_method("khabar", KhabarRunner(store.kb), questions, progress)}
    if baseline is not None:
        runs["baseline"] = run_method("baseline", BaselineRunner(baseline, k), questions, progress)
    info = dict(info or {})
    # Latency is wall time: on a shared machine the load beside it says how much to trust it.
    info["measured"] = {**info.get("measured", {}), "load_avg_1min": [load_before, os.getloadavg()[0]]}
    return EvalResult(questions, runs, info)
