"""Loading articles: every supported format, and bad files reported by name and reason without stopping."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.corpus import load_articles
from tests.conftest import SEEDS


def test_seeds_load_with_title_and_stable_sentence_ids() -> None:
    report = load_articles([SEEDS])
    assert report.failures == []
    assert [a.doc_id for a in report.articles] == ["000_65fb7c15639e4525", "004_3ff3aaad62e032cf"]
    assert report.skipped == [(str(SEEDS / "questions.jsonl"), "a question set, not articles")]
    article = report.articles[0]
    assert article.title == "قائد فيلق القدس الإيراني يلتقي الكاظمي ويحث الميليشيا على التهدئة"
    sentences = article.sentences()
    assert sentences[1].id == "000_65fb7c15639e4525:1"
    assert all(article.text[s.start : s.end] == s.text for s in sentences)
    assert [s.id for s in sentences] == [s.id for s in load_articles([SEEDS]).articles[0].sentences()]


def test_bad_files_are_reported_and_the_rest_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("عنوان\nجملة أولى. جملة ثانية.", "utf-8")
    (tmp_path / "note.md").write_text("# Title here\n\nOne sentence. Two.", "utf-8")
    (tmp_path / "empty.txt").write_text("  \n", "utf-8")
    (tmp_path / "latin1.txt").write_bytes("café olé".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02abc")
    lines = [
        json.dumps({"id": "j1", "title": "T", "text": "نص المقال."}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "j2", "text": ""}),
        json.dumps({"id": "j3", "text": "Another article.", "url": "http://x", "published": "2021-11-08"}),
    ]
    (tmp_path / "mixed.jsonl").write_text("\n".join(lines), "utf-8")
    (tmp_path / "broken.jsonl").write_text("{oops\n[1,2]\n", "utf-8")

    report = load_articles([tmp_path, tmp_path / "missing.txt"])

    assert sorted(a.doc_id for a in report.articles) == ["good", "j1", "j3", "note"]
    reasons = {Path(p).name: r for p, r in report.failures}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["latin1.txt"].startswith("not UTF-8")
    assert reasons["binary.txt"].startswith("binary")
    assert reasons["missing.txt"] == "no such file or folder"
    assert "line 1" in reasons["broken.jsonl"] and "line 2" in reasons["broken.jsonl"]
    mixed = [r for p, r in report.failures if p.endswith("mixed.jsonl")]
    assert len(mixed) == 2
    assert mixed[0].startswith("line 2: Expecting property name")
    assert mixed[1] == "line 3: needs a non-empty 'id' and 'text'"
    assert len(report.failures) == 7  # binary, broken, empty, latin1, 2 lines of mixed, missing
    md = next(a for a in report.articles if a.path.endswith(".md"))
    assert md.title == "Title here"
    j3 = next(a for a in report.articles if a.doc_id == "j3")
    assert (j3.url, j3.published) == ("http://x", "2021-11-08")


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "same.txt").write_text("Title\nText one.", "utf-8")
    (tmp_path / "b" / "same.txt").write_text("Title\nText two.", "utf-8")
    report = load_articles([tmp_path])
    assert len(report.articles) == 1
    assert "duplicate id 'same'" in report.failures[0][1]


def test_content_hash_changes_with_text_only() -> None:
    a, b = load_articles([SEEDS]).articles
    assert a.content_hash == load_articles([SEEDS]).articles[0].content_hash
    assert a.content_hash != b.content_hash
