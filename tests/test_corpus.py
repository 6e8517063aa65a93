"""Loading articles: every supported format, and bad files reported by name and reason without stopping."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.corpus.files import load_articles
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


def test_markup_is_stripped_at_load_and_sentences_index_the_stored_text(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text(
        "<h1>عنوان <b>الخبر</b></h1>\n<p>قال <b>المتحدث</b> إن الهجوم فشل.</p><p>وأضاف **أمس** في [بيان](http://x.org).</p>",
        "utf-8",
    )
    (tmp_path / "note.md").write_text("## Title *here*\n\nA **bold** claim. See `code`\\_x.", "utf-8")
    articles = {a.doc_id: a for a in load_articles([tmp_path]).articles}
    page, note = articles["page"], articles["note"]
    assert page.title == "عنوان الخبر"
    assert [s.text for s in page.sentences()] == [
        "عنوان الخبر",
        "قال المتحدث إن الهجوم فشل.",
        "وأضاف أمس في بيان.",
    ]
    assert all(page.text[s.start : s.end] == s.text for s in page.sentences())
    assert (note.title, note.text) == ("Title here", "Title here\n\nA bold claim. See code_x.")


def test_size_cap_ids_and_invalid_unicode_are_reported_per_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "huge.txt").write_text("عنوان\n" + "كلمة " * 3000, "utf-8")  # 15,006 characters
    (tmp_path / "bytes.txt").write_bytes(b"x" * 40_001)  # over 4 bytes a character: refused unread
    (tmp_path / "ok.txt").write_text("عنوان\nنص قصير.", "utf-8")
    lines = [
        json.dumps({"id": "fine", "text": "Text."}),
        '{"id": "lone", "text": "bad \\ud800 text"}',
        json.dumps({"id": "x" * 300, "text": "Text."}),
        json.dumps({"id": "ctl\u0007", "text": "Text."}),
        json.dumps({"id": "big", "text": "w " * 6000}),
        json.dumps({"id": "t", "title": "T " * 400, "text": "Text.", "url": "u" * 3000}),
        json.dumps({"id": "sep", "title": "a\u2028b", "text": "x\u2028y."}),
    ]
    (tmp_path / "set.jsonl").write_text("\n".join(lines), "utf-8")
    report = load_articles([tmp_path], max_chars=10_000)
    assert sorted(a.doc_id for a in report.articles) == ["fine", "ok", "sep"]
    reasons = {(Path(p).name, r.split(":")[0]) for p, r in report.failures}
    assert (
        "huge.txt",
        "article too long (15,006 characters; the limit is 10,000 characters, KHABAR_MAX_ARTICLE_CHARS)",
    ) in reasons
    assert (
        "bytes.txt",
        "article too long (40,001 bytes; the limit is 10,000 characters, KHABAR_MAX_ARTICLE_CHARS)",
    ) in reasons
    jsonl = [r for p, r in report.failures if p.endswith("set.jsonl")]
    assert [r.split(":")[0] for r in jsonl] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "lone surrogate" in jsonl[0] and "longer than 200" in jsonl[1] and "control characters" in jsonl[2]
    assert "article too long" in jsonl[3] and "'url' longer than 2000" in jsonl[4]
    assert all("\n" not in r for _, r in report.failures)
    assert report.failed_files == {str(tmp_path / n) for n in ("huge.txt", "bytes.txt", "set.jsonl")}


def test_long_titles_are_cut_and_every_article_knows_its_resolved_file(tmp_path: Path) -> None:
    (tmp_path / "long.txt").write_text("كلمة " * 200 + "\nنص.", "utf-8")
    article = load_articles([tmp_path / "long.txt"]).articles[0]
    assert len(article.title) <= 301 and article.title.endswith("…")
    assert article.path == str((tmp_path / "long.txt").resolve())


def test_front_matter_and_sidecar_metadata_and_bad_values(tmp_path: Path) -> None:
    (tmp_path / "dated.txt").write_text(
        "---\nurl: https://example.org/a\npublished: 2021-11-07T08:30:00+03:00\nsource: الرافدين\n---\n"
        "عنوان الخبر\nجملة أولى من الخبر. جملة ثانية.",
        "utf-8",
    )
    (tmp_path / "rule.txt").write_text("---\nليس هذا ترويسة بل نص عادي\n---\nبقية النص.", "utf-8")
    (tmp_path / "typo.txt").write_text("---\npubished: 2021-11-07\n---\nعنوان\nنص.", "utf-8")
    (tmp_path / "baddate.txt").write_text("---\npublished: 7 November\n---\nعنوان\nنص.", "utf-8")
    (tmp_path / "jekyll.md").write_text("---\nlayout: post\ndate: 2021-11-09\n---\n# Title\n\nText.", "utf-8")
    (tmp_path / "kept.txt").write_text("عنوان محفوظ\nنص لا يتغير.", "utf-8")
    (tmp_path / "kept.meta.json").write_text('{"source": "جاده إيران", "url": "https://e.org/k"}', "utf-8")
    (tmp_path / "badmeta.txt").write_text("عنوان\nنص.", "utf-8")
    (tmp_path / "badmeta.meta.json").write_text('{"outlet": "x"}', "utf-8")
    lines = [
        json.dumps({"id": "j1", "text": "Text.", "published": "yesterday"}),
        json.dumps({"id": "j2", "text": "Text.", "url": "ftp://x"}),
        json.dumps({"id": "j3", "text": "Text.", "published": "2021-11-08", "source": "Wire"}),
    ]
    (tmp_path / "meta.jsonl").write_text("\n".join(lines), "utf-8")
    report = load_articles([tmp_path])
    articles = {a.doc_id: a for a in report.articles}
    dated = articles["dated"]
    assert (dated.url, dated.published, dated.source, dated.title) == (
        "https://example.org/a",
        "2021-11-07T08:30:00+03:00",
        "الرافدين",
        "عنوان الخبر",
    )
    assert dated.text.startswith("عنوان الخبر\n") and dated.published_day == 20211107
    rule = articles["rule"]  # not key: value lines: no metadata, the lines stay text
    assert "ليس هذا ترويسة بل نص عادي" in rule.text and (rule.url, rule.published, rule.source) == (
        "",
        "",
        "",
    )
    assert articles["jekyll"].published == "2021-11-09" and articles["jekyll"].title == "Title"
    kept = articles["kept"]
    assert (kept.source, kept.url) == (
        "جاده إيران",
        "https://e.org/k",
    ) and kept.text == "عنوان محفوظ\nنص لا يتغير."
    reasons = {Path(p).name + (r.split(":")[0] if p.endswith("jsonl") else ""): r for p, r in report.failures}
    assert (
        reasons["typo.txt"]
        == "front matter: unknown field 'pubished' (use date, published, source, title, url)"
    )
    assert reasons["baddate.txt"].startswith("'published' is not an ISO 8601 date")
    assert reasons["badmeta.txt"].startswith("badmeta.meta.json: unknown field 'outlet'")
    assert "ISO 8601" in reasons["meta.jsonlline 1"] and "http(s)" in reasons["meta.jsonlline 2"]


def test_saved_pages_load_beside_text_files(tmp_path: Path) -> None:
    from tests.news_site import PAYWALL_NOTICE, render, stories

    deal = next(s for s in stories() if s["slug"] == "rafidain/2021/11/tigris-deal.html")
    paywall = next(s for s in stories() if s.get("kind") == "paywall")
    (tmp_path / "deal.html").write_text(render(deal, "https://alrafidain.example"), "utf-8")
    (tmp_path / "stub.htm").write_text(render(paywall, "https://alsahel.example"), "utf-8")
    (tmp_path / "old.html").write_bytes(render(deal, "https://x.example", "utf-8").encode("cp1256"))
    (tmp_path / "nul.html").write_bytes(b"<html>\x00</html>")
    report = load_articles([tmp_path], max_page_bytes=1_000_000)
    articles = {a.doc_id: a for a in report.articles}
    assert sorted(articles) == ["deal", "old"]  # the paywall stub and the binary file are refused
    page = articles["deal"]
    assert (
        page.published == "2021-11-08" and page.source and page.url.startswith("https://alrafidain.example/")
    )
    assert page.path == str((tmp_path / "deal.html").resolve()) and page.title == deal["title"]
    assert articles["old"].text == page.text  # windows-1256 bytes declared as UTF-8 still read as Arabic
    assert PAYWALL_NOTICE not in page.text
    reasons = {Path(p).name: r for p, r in report.failures}
    assert reasons["stub.htm"].startswith("paywalled") and reasons["nul.html"].startswith("binary file")
    small = load_articles([tmp_path / "deal.html"], max_page_bytes=1000)
    assert small.failures[0][1].startswith("page too large (") and small.articles == []
