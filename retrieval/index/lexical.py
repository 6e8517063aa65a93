"""Arabic-aware BM25 over sentences (bm25s), rebuilt from Chroma whenever the set of articles changes.

bm25s is given our own tokens (normalised, light-stemmed), so its default token pattern, which drops words with
diacritics, never runs, and a persisted index needs no stemmer to be remembered: `tokenize` is code.
The cache is keyed by a fingerprint of the complete articles, so it can never disagree with the store.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path

import bm25s
import numpy as np

from retrieval.text.arabic import tokenize


class LexicalIndex:
    """BM25 over sentence ids, plus document frequencies for a query-coverage score in [0, 1]."""

    def __init__(self, retriever: bm25s.BM25 | None, ids: list[str], df: dict[str, int]):
        self.retriever = retriever
        self.ids = ids
        self.df = df
        self.n = len(ids)

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> LexicalIndex:
        corpus = [tokenize(t) or ["_"] for t in texts]
        df: Counter[str] = Counter()
        for tokens in corpus:
            df.update(set(tokens))
        retriever = None
        if corpus:
            retriever = bm25s.BM25()
            retriever.index(corpus, show_progress=False)
        return cls(retriever, list(ids), dict(df))

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp / "bm25"))
        (tmp / "ids.json").write_text(json.dumps({"ids": self.ids, "df": self.df}, ensure_ascii=False))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        meta = json.loads((folder / "ids.json").read_text())
        retriever = bm25s.BM25.load(str(folder / "bm25")) if (folder / "bm25").exists() else None
        return cls(retriever, meta["ids"], meta["df"])

    def idf(self, token: str) -> float:
        """BM25 idf; a token the corpus lacks counts as the rarest possible."""
        df = self.df.get(token, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def top(self, query_tokens: list[str], k: int) -> list[tuple[str, float]]:
        """The k sentences with the highest BM25 score (score > 0 only)."""
        if self.retriever is None or not query_tokens or self.n == 0:
            return []
        scores = self.retriever.get_scores(query_tokens)
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(self.ids[i], float(scores[i])) for i in best if scores[i] > 0]

    def coverage(self, query_tokens: list[str], sentences: Sequence[AbstractSet[str]]) -> np.ndarray:
        """Per sentence, the share of the query's idf mass it contains: 1.0 = every query word, rare ones
        weigh more. The query's weights are computed once for all the sentences.

        Unlike a max-normalised BM25 score this stays low when only a weak word matches, so an English
        question over Arabic articles (whose words never match) gets ~0 instead of noise scaled to 1.
        """
        weights = {t: self.idf(t) for t in set(query_tokens)}
        total = sum(weights.values())
        if total <= 0:
            return np.zeros(len(sentences))
        return np.array([sum(w for t, w in weights.items() if t in s) / total for s in sentences])
