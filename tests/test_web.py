"""URLs of pages and feeds -> one LoadReport, as `khabar ingest URL...` will use it."""

from __future__ import annotations

from retrieval.corpus.fetch import Fetcher
from retrieval.corpus.web import is_url, load_urls
from tests.news_site import NewsSite


def test_pages_and_feeds_in_one_report() -> None:
    with NewsSite() as site, Fetcher() as fetcher:
        deal = site.url("rafidain/2021/11/tigris-deal.html")
        report = load_urls(
            fetcher,
            [
                deal,
                site.url("sahil/atom.xml"),
                site.url("rafidain/rss.xml"),  # lists the deal page again
                site.url("rafidain/not-a-feed.xml"),
                site.url("files/report.pdf"),
            ],
        )
    titles = sorted(a.title for a in report.articles)
    assert len(titles) == 4 and len(set(a.doc_id for a in report.articles)) == 4
    assert report.skipped == [(deal, f"the same page as {deal}")]
    reasons = dict(report.failures)
    assert reasons[site.url("rafidain/not-a-feed.xml")].startswith("an XML document that is neither")
    assert reasons[site.url("files/report.pdf")] == "content type application/pdf is not HTML or XML"
    assert reasons[site.url("sahil/2021/11/11/banks-plan.html")].startswith("paywalled")
    assert len(report.failures) == 6  # + the video page, the 404 item, the item without a link


def test_urls_are_told_from_paths() -> None:
    assert is_url("https://example.org/news.html") and is_url("HTTP://example.org")
    assert not is_url("saved-pages/") and not is_url("seeds/000.txt")
