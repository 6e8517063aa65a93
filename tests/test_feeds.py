"""RSS and Atom feeds from a local news site: items, broken items, each item's page as an article."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.corpus.feeds import Feed, FeedError, FeedItem, is_feed, load_items, parse_feed
from retrieval.corpus.fetch import Fetcher
from tests.conftest import make_settings
from tests.news_site import NewsSite


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with NewsSite() as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher() as client:
        yield client


def _feed(site: NewsSite, fetcher: Fetcher, path: str) -> Feed:
    fetched = fetcher.get(site.url(path))
    assert is_feed(fetched)
    return parse_feed(fetched.content, fetched.final_url)


def test_rss_items_and_a_broken_item(site: NewsSite, fetcher: Fetcher) -> None:
    feed = _feed(site, fetcher, "rafidain/rss.xml")
    assert feed.title == "الرافدين نيوز - آخر الأخبار"
    assert [i.key for i in feed.items] == [
        "rafidain-58122",
        "rafidain-58107",
        "rafidain-58100",
        "rafidain-58093",
    ]
    assert feed.problems == [("item 3 (خبر بلا رابط)", "no link to an article page")]
    deal = feed.items[-1]
    assert deal.link == site.url("rafidain/2021/11/tigris-deal.html") and deal.published == "2021-11-08"


def test_atom_items_with_relative_links(site: NewsSite, fetcher: Fetcher) -> None:
    feed = _feed(site, fetcher, "sahil/atom.xml")
    assert feed.title == "صحيفة الساحل" and feed.problems == []
    tomato = next(i for i in feed.items if "tomato" in i.link)
    assert tomato.link == site.url("sahil/2021/11/10/tomato-prices.html")  # written as a relative href
    assert tomato.published == "2021-11-10" and tomato.key == "tag:alsahel.example,2021:tomato-prices"


def test_item_dates_keep_the_outlets_day(site: NewsSite, fetcher: Fetcher) -> None:
    feed = _feed(site, fetcher, "basra/rss.php")  # a windows-1256 feed
    assert feed.title == "منتدى البصرة الإخباري"
    # 01:30 +03:00 on the 14th is the 14th for the outlet, though feedparser's UTC time is on the 13th
    assert [i.published for i in feed.items] == ["2021-11-14", "2021-11-05"]


def test_each_items_page_becomes_an_article_and_failures_are_reported(
    site: NewsSite, fetcher: Fetcher
) -> None:
    feed = _feed(site, fetcher, "rafidain/rss.xml")
    report = load_items(fetcher, feed)
    assert [a.title for a in report.articles] == [
        "لجنة الزراعة النيابية: الاتفاق المائي مع تركيا لا يكفي لإنقاذ الموسم الزراعي",
        "العراق وتركيا يتفقان على زيادة الإطلاقات المائية في نهر دجلة خلال الشتاء",
    ]
    assert all(a.source == "الرافدين نيوز" for a in report.articles)  # og:site_name beats the feed title
    assert report.articles[0].url == site.url("rafidain/2021/11/water-committee.html")  # no utm_ parameters
    reasons = dict(report.failures)
    assert reasons[site.url("rafidain/2021/11/deleted.html")] == "HTTP 404 Not Found"
    assert reasons[site.url("rafidain/2021/11/tigris-video.html")].startswith("no main text")
    assert reasons[f"{site.url('rafidain/rss.xml')} item 3 (خبر بلا رابط)"] == "no link to an article page"
    paywall = load_items(fetcher, _feed(site, fetcher, "sahil/atom.xml")).failures
    assert [reason.split(":")[0] for _, reason in paywall] == ["paywalled"]


def test_the_feed_fills_in_what_a_page_lacks_but_never_overrides_it(site: NewsSite, fetcher: Fetcher) -> None:
    articles = load_items(fetcher, _feed(site, fetcher, "basra/rss.php")).articles
    assert [(a.published, a.source) for a in articles] == [
        ("2021-11-14", "منتدى البصرة الإخباري"),  # no date on the page: the item's; no site name: the feed's
        ("2021-11-05", "منتدى البصرة الإخباري"),
    ]
    wrong_date = Feed(
        url="x",
        title="x",
        items=[FeedItem("k", site.url("rafidain/2021/11/tigris-deal.html"), "", "2030-01-01")],
    )
    assert load_items(fetcher, wrong_date).articles[0].published == "2021-11-08"


def test_documents_that_are_not_feeds(site: NewsSite, fetcher: Fetcher) -> None:
    assert not is_feed(fetcher.get(site.url("rafidain/2021/11/tigris-deal.html")))
    config = fetcher.get(site.url("rafidain/not-a-feed.xml"))
    assert config.is_xml and not is_feed(config)
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body><p>hello</p></body></html>", site.url("x"))
    with pytest.raises(FeedError):
        parse_feed("http://127.0.0.1:9/never-fetched.xml", site.url("x"))  # a URL-like string is not fetched


def test_feed_articles_enter_the_store_with_their_metadata(
    site: NewsSite, fetcher: Fetcher, tmp_path: Path
) -> None:
    """Phase 1 changes no ingest code: articles from a feed already go through today's indexer as they are."""
    from retrieval.pipeline import Khabar

    report = load_items(fetcher, _feed(site, fetcher, "basra/rss.php"))
    kb = Khabar(make_settings(tmp_path))
    stats = kb.indexer.ingest(report.articles)
    assert stats.added == 2 and stats.sentences >= 9
    stored = kb.store.articles.get(ids=[a.doc_id for a in report.articles], include=["metadatas"])
    by_id = dict(zip(stored["ids"], stored["metadatas"], strict=True))
    for article in report.articles:
        meta = by_id[article.doc_id]
        assert (meta["url"], meta["published"], meta["source"]) == (
            article.url,
            article.published,
            "منتدى البصرة الإخباري",
        )
    assert kb.indexer.ingest(report.articles).skipped == 2  # the same pages again: nothing re-embedded
