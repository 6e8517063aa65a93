"""What was read most recently, kept in memory up to a bound: the one least-recently-used memo of the project.

Search reads the same candidate articles and sentence vectors question after question, and an LLM rewrite of a
repeated question costs a call: each keeps its recent values here, the least recently used going first once
their total weight (a count, or rows per value) passes the limit. Safe to share between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Values by key, the most recently used first kept, up to `limit` in total `weight` (1 per value unless
    given)."""

    def __init__(self, limit: int, weight: Callable[[V], int] = lambda _: 1):
        self.limit = limit
        self.weight = weight
        self._values: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: K) -> V | None:
        """The value kept for `key` (now the most recently used), or None."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values kept for those of `keys` that have one, each now among the most recently used."""
        with self._lock:
            found = {k: self._values[k] for k in keys if k in self._values}
            for k in found:
                self._values.move_to_end(k)
            return found

    def put(self, key: K, value: V) -> None:
        self.put_many({key: value})

    def put_many(self, values: Mapping[K, V]) -> None:
        """Keep `values` as the most recently used, then let the least recently used go down to the limit."""
        with self._lock:
            for key, value in values.items():
                if key in self._values:
                    self._total -= self.weight(self._values.pop(key))
                self._values[key] = value
                self._total += self.weight(value)
            while self._total > self.limit and self._values:
                self._total -= self.weight(self._values.popitem(last=False)[1])

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._total = 0
