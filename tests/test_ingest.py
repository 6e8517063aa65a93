"""Ingestion into real Chroma with the real embedder: idempotent, replaces changed articles, safe to interrupt."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from retrieval.corpus.files import load_articles
from retrieval.index.manifest import COMPLETE, FORMAT, read_manifest
from retrieval.index.store import StoreError
from retrieval.pipeline import Khabar
from retrieval.text.dates import DateRange
from tests.conftest import SEEDS, RecordingEmbedder, as_format_3, make_settings

KHABAR = str(Path(sys.executable).with_name("khabar"))


def node_counts(kb: Khabar) -> tuple[Counter, Counter]:
    sentences = Counter(m["doc_id"] for m in kb.store.sentences.get(include=["metadatas"])["metadatas"])
    chunks = Counter(m["doc_id"] for m in kb.store.chunks.get(include=["metadatas"])["metadatas"])
    return sentences, chunks


def expected_counts(folder: Path) -> dict[str, int]:
    return {a.doc_id: len(a.sentences()) for a in load_articles([folder]).articles}


def write_articles(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        body = " ".join(f"هذه الجملة رقم {j} من المقال {i} عن الأخبار." for j in range(6))
        (folder / f"art{i:03d}.txt").write_text(f"مقال رقم {i}\n{body}", "utf-8")


def test_reingesting_unchanged_articles_embeds_nothing(seeded_copy: Path) -> None:
    embedder = RecordingEmbedder()
    kb = Khabar(make_settings(seeded_copy), embedder=embedder)
    stats = kb.ingest([SEEDS])
    assert (stats.added, stats.updated, stats.skipped, stats.sentences) == (0, 0, 2, 0)
    assert embedder.calls == []
    sentences, chunks = node_counts(kb)
    assert dict(sentences) == expected_counts(SEEDS)
    assert all(sentences[d] >= chunks[d] > 0 for d in sentences)


def test_chunks_follow_sentence_borders(seeded_kb: Khabar) -> None:
    rows = seeded_kb.store.chunks.get(include=["metadatas"])
    articles = {a.doc_id: a for a in load_articles([SEEDS]).articles}
    covered: dict[str, list[int]] = {}
    for meta in rows["metadatas"]:
        covered.setdefault(meta["doc_id"], []).extend(range(meta["n0"], meta["n1"] + 1))
    # every sentence in exactly one chunk, in order: chunks are cut between sentences
    assert {d: sorted(ns) for d, ns in covered.items()} == {
        d: [s.n for s in a.sentences()] for d, a in articles.items()
    }


def test_changed_article_replaces_its_nodes_and_prune_removes_gone_ones(
    seeded_copy: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    kb = Khabar(make_settings(seeded_copy))
    # An unchanged copy is the same article: nothing is embedded, and its record now follows the copy.
    assert (kb.ingest([folder]).skipped, kb.ingest([folder]).failures) == (2, [])
    assert {e.path for e in read_manifest(kb.store).values()} == {str(p) for p in folder.glob("*.txt")}
    changed = folder / "004_3ff3aaad62e032cf.txt"
    changed.write_text(changed.read_text("utf-8") + "\nجملة جديدة أضيفت إلى المقال.", "utf-8")
    stats = kb.ingest([folder])
    assert (stats.added, stats.updated, stats.skipped) == (0, 1, 1)
    sentences, _ = node_counts(kb)
    assert dict(sentences) == expected_counts(folder)
    assert (
        kb.ask("ما الجملة الجديدة التي أضيفت إلى المقال؟").citations[0].text == "جملة جديدة أضيفت إلى المقال."
    )

    (folder / "000_65fb7c15639e4525.txt").unlink()
    assert kb.ingest([folder]).removed == 0  # without --prune nothing is deleted
    stats = kb.ingest([folder], prune=True)
    assert stats.removed == 1
    sentences, chunks = node_counts(kb)
    assert set(sentences) == set(chunks) == {"004_3ff3aaad62e032cf"}
    assert set(read_manifest(kb.store)) == {"004_3ff3aaad62e032cf"}


def test_failure_midway_leaves_no_duplicates_or_orphans(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    write_articles(folder, 20)
    # group 1 = calls 1-3 (2 sentence batches, 1 chunk batch); call 5 is inside group 2
    embedder = RecordingEmbedder(fail_on_call=5)
    kb = Khabar(make_settings(tmp_path / "data"), embedder=embedder)
    with pytest.raises(RuntimeError):
        kb.indexer.ingest(load_articles([folder]).articles, group_size=8)
    manifest = read_manifest(kb.store)
    assert sum(e.status == COMPLETE for e in manifest.values()) == 8
    assert kb.stats().pending == 8

    embedder.fail_on_call = None
    stats = kb.ingest([folder])
    assert stats.repaired == 8
    assert (stats.added, stats.skipped) == (12, 8)
    sentences, chunks = node_counts(kb)
    assert dict(sentences) == expected_counts(folder)
    assert set(chunks) == set(sentences)
    assert kb.stats().pending == 0


def test_killed_ingest_process_recovers_exactly(tmp_path: Path) -> None:
    """SIGKILL at an arbitrary moment: whatever was written, the next run ends with exactly one copy."""
    folder = tmp_path / "articles"
    write_articles(folder, 30)
    env = {**os.environ, "KHABAR_DATA_DIR": str(tmp_path / "data"), "KHABAR_SEEDS_DIR": str(SEEDS)}
    proc = subprocess.Popen([KHABAR, "ingest", str(folder)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    chroma_dir = tmp_path / "data" / "chroma"
    while time.monotonic() < deadline and proc.poll() is None:
        if (
            chroma_dir.exists()
            and sum(f.stat().st_size for f in chroma_dir.rglob("*") if f.is_file()) > 200_000
        ):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    done = subprocess.run(
        [KHABAR, "ingest", str(folder)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    kb = Khabar(make_settings(tmp_path / "data"))
    sentences, chunks = node_counts(kb)
    assert dict(sentences) == expected_counts(folder)
    assert set(chunks) == set(sentences)
    assert kb.stats().pending == 0
    assert kb.stats().articles == 30


def test_a_reader_sees_articles_another_writer_adds(seeded_copy: Path, tmp_path: Path) -> None:
    reader = Khabar(make_settings(seeded_copy))
    question = "ما اسم المدينة التي افتتح فيها المتحف الجديد؟"
    assert all(c.doc_id != "museum" for c in reader.ask(question).citations)
    (tmp_path / "museum.txt").write_text(
        "متحف جديد\nافتتح المتحف الجديد في مدينة الموصل يوم الخميس.", "utf-8"
    )
    writer = Khabar(make_settings(seeded_copy))
    assert writer.ingest([tmp_path / "museum.txt"]).added == 1
    assert reader.ask(question).citations[0].doc_id == "museum"
    writer.indexer.remove(["museum"])
    assert all(c.doc_id != "museum" for c in reader.ask(question).citations)


def test_a_store_written_before_the_news_metadata_is_upgraded_without_reembedding(seeded_copy: Path) -> None:
    embedder = RecordingEmbedder()
    kb = Khabar(make_settings(seeded_copy), embedder=embedder)
    fresh = {k: (e.minhash, e.format) for k, e in read_manifest(kb.store).items()}
    sentences = kb.store.sentences.get(include=["metadatas"])
    wanted = {sid: m for sid, m in zip(sentences["ids"], sentences["metadatas"], strict=True)}
    news_keys = ("url", "published", "published_day", "source", "skey", "planted")
    as_format_3(kb)  # texts in documents, then (below) without the news metadata either
    # As an older version left it: none of these keys on sentences, chunks and records (None deletes a key).
    kb.store.sentences.update(ids=list(wanted), metadatas=[dict.fromkeys(news_keys)] * len(wanted))
    chunks = kb.store.chunks.get(include=[])["ids"]
    kb.store.chunks.update(ids=chunks, metadatas=[dict.fromkeys(("published_day", "source"))] * len(chunks))
    kb.store.articles.update(ids=list(fresh), metadatas=[dict.fromkeys(("minhash", "format"))] * len(fresh))
    assert kb.stats().older_format == 2 and "skey" not in kb.store.sentences.get(limit=1)["metadatas"][0]
    # Before the upgrade a date window still finds an older article, by id (its chunks have no day yet).
    seed = "000_65fb7c15639e4525"
    kb.store.articles.update(ids=[seed], metadatas=[{"published": "2021-11-08"}])
    kb.searcher.refresh()
    hits = kb.searcher.search("قاآني", window=DateRange(date(2021, 11, 1), date(2021, 11, 30))).hits
    assert hits and {h.doc_id for h in hits} == {seed} and hits[0].published == "2021-11-08"
    kb.store.articles.update(ids=[seed], metadatas=[{"published": ""}])
    embedder.calls.clear()
    stats = kb.ingest([])
    assert (stats.upgraded, embedder.calls) == (2, [])
    assert {k: (e.minhash, e.format) for k, e in read_manifest(kb.store).items()} == fresh
    after = kb.store.sentences.get(include=["metadatas"])
    assert dict(zip(after["ids"], after["metadatas"], strict=True)) == wanted
    assert kb.store.chunks.get(include=["metadatas"])["metadatas"][0]["published_day"] == 0
    assert kb.ingest([]).upgraded == 0


def _as_llama_index_wrote_it(kb: Khabar) -> None:
    """Rewrite a store's records as khabar's store format 2 left them: nodes added through llama-index's
    ChromaVectorStore (its `_node_content` JSON copy and ids) with the metadata that version wrote."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    as_format_3(kb)  # sentence texts in documents
    manifest = read_manifest(kb.store)
    for collection, chunks in ((kb.store.sentences, False), (kb.store.chunks, True)):
        rows = collection.get(include=["documents", "metadatas"])
        metas = []
        for rid, text, meta in zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True):
            entry = manifest[meta["doc_id"]]
            old = {"doc_id": entry.doc_id, "title": entry.title, "published_day": entry.published_day}
            if chunks:
                ids = ",".join(f"{entry.doc_id}:{n}" for n in range(meta["n0"], meta["n1"] + 1))
                old |= {"sentence_ids": ids, "spans": "[[0, 1]]", "source": entry.source}
            else:
                old |= {"n": meta["n"], "start": 0, "end": len(text or ""), "url": entry.url}
                old |= {"published": entry.published, "source": entry.source}
                old |= {"skey": meta["skey"], "planted": meta["planted"]}
            source = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=entry.doc_id)}
            node = TextNode(id_=rid, text=text or "", metadata=old, relationships=source)
            metas.append(node_to_metadata_dict(node, remove_text=True, flat_metadata=True))
        collection.update(ids=rows["ids"], metadatas=metas)
    kb.store.articles.update(ids=list(manifest), metadatas=[{"format": 2}] * len(manifest))


def test_a_store_of_format_2_is_detected_answers_and_is_rewritten_without_reembedding(
    seeded_copy: Path,
) -> None:
    kb = Khabar(make_settings(seeded_copy))
    fresh = kb.store.sentences.get(include=["metadatas"])
    fresh_chunks = kb.store.chunks.get(include=["metadatas"])
    question = "متى وصل قاآني إلى العراق والتقى الكاظمي؟"
    expected = kb.ask(question).citations[0].sentence_id
    _as_llama_index_wrote_it(kb)
    assert "_node_content" in kb.store.sentences.get(limit=1)["metadatas"][0]

    embedder = RecordingEmbedder()
    old = Khabar(make_settings(seeded_copy), embedder=embedder)
    assert "store format 2" in old.notice and "khabar ingest" in old.notice
    assert old.ask(question).citations[0].sentence_id == expected  # never silently answers nothing
    assert (old.ingest([]).upgraded, embedder.calls) == (2, [])
    assert {e.format for e in read_manifest(old.store).values()} == {FORMAT}
    after = old.store.sentences.get(include=["metadatas"])
    assert after["metadatas"] == fresh["metadatas"]
    assert old.store.chunks.get(include=["metadatas"])["metadatas"] == fresh_chunks["metadatas"]
    assert Khabar(make_settings(seeded_copy)).store.notice == ""

    old.store.articles.update(ids=[after["metadatas"][0]["doc_id"]], metadatas=[{"format": FORMAT + 1}])
    with pytest.raises(StoreError, match=f"newer khabar \\(store format {FORMAT + 1}"):
        Khabar(make_settings(seeded_copy))
