"""USE-multilingual sentence vectors in the store, addressed by the sentence's text hash.

Keyed by content, not by sentence id, so they can never go stale: a changed article's new sentences get new keys
and an unchanged sentence keeps its vector across re-ingests. Ingest fills them; search fills any that are
missing (a store ingested before they existed), so an old store works without a re-ingest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.index.embedding import USE_DIMENSIONS, USEEmbedding
from retrieval.index.recent import Recent
from retrieval.index.store import GuardedCollection, Store, StoreError, describe_failure

# The vectors are read by id only, never searched, so their HNSW graph is built as thin and as cheaply as Chroma
# allows: 4 neighbours instead of 16 (36 instead of 132 bytes of links per 2,048-byte vector). Construction-only:
# a collection made before keeps its graph. Results are the same, since `get` returns the stored vector.
CONFIGURATION = {"hnsw": {"space": "cosine", "max_neighbors": 4, "ef_construction": 16}}
# vectors kept in memory (2 KB each): a search reads the same candidates' vectors again and again
REMEMBERED = 10_000


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class USEVectors:
    """One Chroma collection (`<prefix>_use`) of USE vectors, read and filled by text; the last `remembered`
    ones read are kept in memory (a vector is keyed by its text, so a kept one can never be stale)."""

    def __init__(self, store: Store, embedder: USEEmbedding, remembered: int = REMEMBERED):
        self.embedder = embedder
        self._memory: Recent[str, np.ndarray] = Recent(remembered)
        prefix = store.sentences.name.removesuffix("_sentences")
        timeout = float(getattr(store.sentences, "_timeout", 30.0))
        try:
            collection = store.client.get_or_create_collection(
                f"{prefix}_use", configuration=CONFIGURATION, embedding_function=None
            )
        except Exception as exc:
            message = describe_failure(exc, store.location, store.server, timeout)
            raise StoreError(message or f"Cannot open the USE vectors in {store.location}: {exc}") from None
        self.collection: Any = GuardedCollection(collection, store.location, store.server, timeout)

    def ensure(self, texts: Sequence[str]) -> None:
        """Embed and store the texts that have no vector yet."""
        self.get(texts)

    def get(self, texts: Sequence[str]) -> np.ndarray:
        """One vector per text (rows in the given order); missing ones are computed and stored."""
        if not texts:
            return np.zeros((0, USE_DIMENSIONS), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        found = self._memory.get_many(keys)
        unique = [k for k in dict.fromkeys(keys) if k not in found]
        for start in range(0, len(unique), 5000):
            rows = self.collection.get(ids=unique[start : start + 5000], include=["embeddings"])
            for key, vector in zip(rows["ids"], rows["embeddings"], strict=True):
                found[key] = np.asarray(vector, dtype=np.float32)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            vectors = self.embedder.vectors(list(missing.values()))
            ids = list(missing)
            for start in range(0, len(ids), 1000):
                part = slice(start, start + 1000)
                self.collection.upsert(ids=ids[part], embeddings=vectors[part].tolist())
            found.update(zip(ids, vectors, strict=True))
        self._memory.put_many(found)
        return np.stack([found[k] for k in keys])
