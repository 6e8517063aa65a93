"""Main text and metadata of news pages: no boilerplate in, no article sentence lost, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.corpus.pages import ExtractionError, doc_id_for_url, extract_page, read_page_file
from retrieval.text.arabic import normalize, split_sentences
from tests.news_site import article_sentences, boilerplate_sentences, render, stories

BASE = "http://127.0.0.1:8000"
ARTICLES = [s for s in stories() if s.get("kind") is None]


def _story(slug: str) -> dict:
    return next(s for s in stories() if s["slug"] == slug)


def _extract(slug: str, **kwargs):
    story = _story(slug)
    return extract_page(render(story, BASE), f"{BASE}/{slug}", **kwargs)


@pytest.mark.parametrize("story", ARTICLES, ids=lambda s: s["slug"])
def test_main_text_only_every_sentence_kept(story: dict) -> None:
    article = extract_page(render(story, BASE), f"{BASE}/{story['slug']}").article
    got = {normalize(article.text[s.start : s.end]) for s in split_sentences(article.text)}
    boilerplate = boilerplate_sentences(story, BASE)
    assert len(boilerplate) >= 15  # menus, "most read", related, footer, cookie banner, share buttons ...
    assert got & boilerplate == set()
    assert article_sentences(story) - got == set()
    lines = article.text.splitlines()
    assert lines[0] == article.title and lines[1:] == story["paragraphs"]  # one paragraph per line


def test_metadata_of_a_page_with_open_graph() -> None:
    page = _extract("rafidain/2021/11/tigris-deal.html")
    article = page.article
    assert article.title == "العراق وتركيا يتفقان على زيادة الإطلاقات المائية في نهر دجلة خلال الشتاء"
    assert (article.published, article.source, page.author) == ("2021-11-08", "الرافدين نيوز", "سارة الجبوري")
    assert article.url == f"{BASE}/rafidain/2021/11/tigris-deal.html" == page.canonical_url
    assert ":" not in article.doc_id and article.doc_id.startswith("127.0.0.1-")


def test_the_id_is_stable_for_one_page_whatever_the_tracking_parameters() -> None:
    story = _story("rafidain/2021/11/water-committee.html")
    html = render(story, BASE)
    plain = extract_page(html, f"{BASE}/{story['slug']}").article.doc_id
    tracked = extract_page(html, f"{BASE}/{story['slug']}?utm_source=rss&utm_medium=feed#comments")
    assert tracked.article.doc_id == plain == doc_id_for_url(f"{BASE}/{story['slug']}?fbclid=abc")
    assert plain != doc_id_for_url(f"{BASE}/rafidain/2021/11/tigris-deal.html")


def test_site_name_from_json_ld_and_title_without_the_outlet() -> None:
    article = _extract("sahil/2021/11/08/tigris-water.html").article
    assert (
        article.source == "صحيفة الساحل"
        and article.title == "اتفاق عراقي تركي لزيادة مياه دجلة في فصل الشتاء"
    )
    assert article.published == "2021-11-08"


def test_site_name_falls_back_to_the_feed_title_then_the_host() -> None:
    slug = "basra/news.php?id=1188"
    article = _extract(slug, fallback_source="منتدى البصرة الإخباري").article
    assert article.source == "منتدى البصرة الإخباري"
    assert article.title == "افتتاح رصيف جديد في ميناء أم قصر لاستقبال سفن الحاويات"
    assert article.published == "2021-11-05"  # printed on the page as 2021/11/05
    assert _extract(slug).article.source == "127.0.0.1"


def test_a_page_without_a_date_takes_the_fallback_and_never_invents_one() -> None:
    slug = "basra/news.php?id=1190"
    assert _extract(slug).article.published == ""  # the footer's "2003 - 2021" is not a publication date
    assert _extract(slug, fallback_published="2021-11-13").article.published == "2021-11-13"
    page_date_wins = _extract("rafidain/2021/11/tigris-deal.html", fallback_published="2030-01-01")
    assert page_date_wins.article.published == "2021-11-08"


def test_a_page_with_only_a_video_and_teasers_has_no_main_text() -> None:
    with pytest.raises(ExtractionError, match="no main text") as caught:
        _extract("rafidain/2021/11/tigris-video.html")
    assert caught.value.kind == "no_text"


def test_a_paywall_stub_is_refused_as_such() -> None:
    with pytest.raises(ExtractionError, match="paywalled") as caught:
        _extract("sahil/2021/11/11/banks-plan.html")
    assert caught.value.kind == "paywall"


def test_a_syndicated_copy_keeps_its_own_url_and_id() -> None:
    story = _story("sahil/2021/11/08/tigris-water.html")
    html = render(story, BASE).replace(
        "<head>", '<head><link rel="canonical" href="https://alrafidain.example/2021/11/tigris-deal.html">'
    )
    article = extract_page(html, f"{BASE}/{story['slug']}").article
    assert article.url == f"{BASE}/{story['slug']}"
    assert article.doc_id == doc_id_for_url(f"{BASE}/{story['slug']}")


def test_saved_pages_on_disk_in_any_charset(tmp_path: Path) -> None:
    story = _story("basra/news.php?id=1188")
    path = tmp_path / "umm-qasr.htm"
    path.write_bytes(render(story, BASE, "utf-8").encode("cp1256"))  # declared UTF-8, really windows-1256
    page = read_page_file(path)
    assert page.article.doc_id == "umm-qasr" and page.article.path == str(path)
    assert page.article.title == story["title"] and story["paragraphs"][0] in page.article.text
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"  \n")
    with pytest.raises(ExtractionError, match="empty file"):
        read_page_file(empty)


@pytest.mark.parametrize("html", ["", "<html><body><nav><a href='/'>الرئيسية</a></nav></body></html>"])
def test_not_an_article(html: str) -> None:
    with pytest.raises(ExtractionError):
        extract_page(html, f"{BASE}/x.html")
