"""Store format 4: sentence texts in their metadata, so Chroma's full-text index stays empty; a store of
format 3 (texts as documents) answers as before and is moved in place by the next ingest, nothing re-embedded
(README, "Ingest speed and store size" and "Stores written by older versions")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from retrieval.index.manifest import FORMAT, read_manifest
from retrieval.index.sentence_text import TEXT_KEY, get_with_texts
from retrieval.index.store import FULL_TEXT_TABLE, SQLITE_FILE, compact
from retrieval.pipeline import Khabar
from tests.conftest import RecordingEmbedder, as_format_3, make_settings

QUESTION = "متى وصل قاآني إلى العراق والتقى الكاظمي؟"


def full_text(chroma_dir: Path) -> tuple[int, int]:
    """Characters in, and bytes on disk of, the full-text index of a Chroma folder (khabar never queries it)."""
    db = sqlite3.connect(f"file:{chroma_dir / SQLITE_FILE}?mode=ro", uri=True)
    try:
        chars = f"SELECT coalesce(sum(length(string_value)), 0) FROM {FULL_TEXT_TABLE}"
        pages = f"SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE '{FULL_TEXT_TABLE}%'"
        return db.execute(chars).fetchone()[0], db.execute(pages).fetchone()[0]
    finally:
        db.close()


def assert_upgraded_in_place(kb: Khabar, fresh: dict, expected: str) -> None:
    """`kb` holds a store of format 3 whose records were `fresh`: it answers as before, and one ingest moves
    every text into the metadata and empties the documents, re-embedding nothing."""
    assert "store format 3" in kb.notice and kb.stats().older_format == 2
    assert kb.ask(QUESTION).citations[0].sentence_id == expected  # never silently answers nothing
    embedder = RecordingEmbedder()
    kb.indexer.embedder = embedder
    assert (kb.ingest([]).upgraded, embedder.calls) == (2, [])
    assert {e.format for e in read_manifest(kb.store).values()} == {FORMAT}
    after = kb.store.sentences.get(include=["metadatas", "documents", "embeddings"])
    assert after["metadatas"] == fresh["metadatas"] and not any(after["documents"])
    # the vectors written back (Chroma normalises cosine vectors on every write: equal to the last bits)
    assert np.allclose(after["embeddings"], fresh["embeddings"], rtol=0, atol=1e-6)
    kb.searcher.refresh()
    assert kb.ask(QUESTION).citations[0].sentence_id == expected
    assert kb.ingest([]).upgraded == 0


def test_sentence_texts_are_metadata_and_the_full_text_index_stays_empty(
    seeded_kb: Khabar, seeded_dir: Path
) -> None:
    rows = seeded_kb.store.sentences.get(include=["metadatas", "documents"])
    assert all(m[TEXT_KEY] for m in rows["metadatas"]) and not any(rows["documents"])
    assert full_text(seeded_dir / "chroma")[0] == 0


def test_a_store_of_format_3_answers_and_is_moved_in_place_freeing_the_full_text_index(
    seeded_copy: Path, seeded_dir: Path
) -> None:
    kb = Khabar(make_settings(seeded_copy))
    fresh = kb.store.sentences.get(include=["metadatas", "embeddings"])
    expected = kb.ask(QUESTION).citations[0].sentence_id
    as_format_3(kb)
    # An upgrade interrupted after one article's sentences moved and before its record was marked.
    moved = get_with_texts(kb.store.sentences, where={"n": 0}, include=["embeddings"])
    kb.store.sentences.update(
        ids=moved["ids"],
        embeddings=moved["embeddings"],
        documents=[""] * len(moved["ids"]),
        metadatas=[{TEXT_KEY: t} for t in moved["texts"]],
    )
    assert compact(kb.store).error == ""
    chars, old_bytes = full_text(seeded_copy / "chroma")
    assert chars > 1000
    assert_upgraded_in_place(Khabar(make_settings(seeded_copy)), fresh, expected)
    # the upgrade's compaction gives the index's pages back: as small as in a store written as format 4
    new_bytes = full_text(seeded_dir / "chroma")[1]
    assert full_text(seeded_copy / "chroma") == (0, new_bytes) and old_bytes > new_bytes
