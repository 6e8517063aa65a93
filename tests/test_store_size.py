"""Store size: compaction after an ingest that changed the embedded store, the write-ahead queue, and the
thin HNSW graph of the USE vectors (README, "Ingest speed and store size")."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
from filelock import FileLock

from retrieval.index.sentence_text import get_with_texts
from retrieval.index.store import OPEN_LOCK, SQLITE_FILE, compact
from retrieval.pipeline import Khabar
from tests.conftest import SEEDS, make_settings

QUESTION = "من هو قائد فيلق القدس الإيراني الذي التقى الكاظمي في بغداد؟"


def _pragma(data_dir: Path, name: str) -> int:
    db = sqlite3.connect(data_dir / "chroma" / SQLITE_FILE)
    try:
        return db.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        db.close()


def _queued_rows(data_dir: Path) -> int:
    db = sqlite3.connect(data_dir / "chroma" / SQLITE_FILE)
    try:
        return db.execute("SELECT count(*) FROM embeddings_queue").fetchone()[0]
    finally:
        db.close()


def _answer(kb: Khabar) -> list[str]:
    return [c.text for c in kb.ask(QUESTION).citations]


def test_an_ingest_that_changes_the_store_gives_its_free_pages_back(
    seeded_copy: Path, tmp_path: Path
) -> None:
    # the session's first ingest already compacted the seeded store: incremental from then on, nothing free
    assert _pragma(seeded_copy, "auto_vacuum") == 2
    assert _pragma(seeded_copy, "freelist_count") == 0
    # every collection's HNSW index is saved after each write, so the queue keeps at most its last row
    assert _queued_rows(seeded_copy) <= 6
    kb = Khabar(make_settings(seeded_copy))
    before = _answer(kb)
    assert before
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    assert kb.ingest([folder]).compaction is None  # unchanged articles: nothing written, nothing compacted
    changed = folder / "004_3ff3aaad62e032cf.txt"
    changed.write_text(changed.read_text("utf-8") + "\nجملة جديدة أضيفت إلى المقال.", "utf-8")
    (folder / "000_65fb7c15639e4525.txt").unlink()
    stats = kb.ingest([folder], prune=True)
    assert (stats.updated, stats.removed) == (1, 1)
    assert stats.compaction is not None and stats.compaction.error == ""
    assert not stats.compaction.full and stats.compaction.reclaimed > 0
    assert _pragma(seeded_copy, "freelist_count") == 0
    assert (
        kb.ask("ما الجملة الجديدة التي أضيفت إلى المقال؟").citations[0].text == "جملة جديدة أضيفت إلى المقال."
    )
    # and a process that opens the compacted store reads the same
    assert Khabar(make_settings(seeded_copy)).stats().articles == 1


def test_a_compaction_that_cannot_run_says_so_in_one_line_and_changes_nothing(seeded_copy: Path) -> None:
    kb = Khabar(make_settings(seeded_copy))
    before = _answer(kb)
    database = seeded_copy / "chroma" / SQLITE_FILE
    size = database.stat().st_size
    with FileLock(str(seeded_copy / "chroma" / OPEN_LOCK)):  # another process opening the store
        locked = compact(kb.store, timeout=0.1)
    assert locked.error.startswith("Did not compact the store at ") and "\n" not in locked.error
    writer = sqlite3.connect(database, isolation_level=None)  # another process in the middle of a write
    writer.execute("BEGIN EXCLUSIVE")
    try:
        busy = compact(kb.store, timeout=0.1)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert "database is locked" in busy.error and "unchanged and usable" in busy.error
    assert "\n" not in busy.error and busy.reclaimed == 0
    assert database.stat().st_size == size
    assert _answer(kb) == before
    assert compact(kb.store).error == ""


def test_the_use_vectors_get_a_thin_graph_and_come_back_as_embedded(seeded_kb: Khabar) -> None:
    config = seeded_kb.use.collection.configuration["hnsw"]
    assert (config["max_neighbors"], config["space"]) == (4, "cosine")
    texts = get_with_texts(seeded_kb.store.sentences, limit=3)["texts"]
    stored = seeded_kb.use.get(texts)
    assert np.allclose(stored, seeded_kb.use_embedder.vectors(texts), atol=1e-6)


READER = """
import sys, chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
sentences = client.get_collection("khabar_sentences")
for _ in sys.stdin:
    rows = sentences.get(include=["metadatas"])
    print(len(rows["ids"]), hash(tuple(m["text"] for m in rows["metadatas"])), flush=True)
"""


def test_a_process_reading_the_store_keeps_reading_through_a_full_compaction(seeded_copy: Path) -> None:
    database = seeded_copy / "chroma" / SQLITE_FILE
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA auto_vacuum = 0")
    db.execute("VACUUM")  # as a store written before compaction existed: the next one is the full kind
    db.close()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(seeded_copy / "chroma")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    try:
        assert reader.stdin and reader.stdout
        reader.stdin.write("read\n")
        reader.stdin.flush()
        before = reader.stdout.readline()
        done = compact(Khabar(make_settings(seeded_copy)).store)
        assert done.full and done.error == ""
        reader.stdin.write("read\n")
        reader.stdin.flush()
        assert reader.stdout.readline() == before != ""
    finally:
        reader.kill()
        reader.wait()
    assert _pragma(seeded_copy, "auto_vacuum") == 2
