"""URLs -> articles: a web page becomes one article, a feed becomes the articles of its items' pages.

This is what `khabar ingest URL...` (and a Telegram admin's link) needs: one call that returns the same
`LoadReport` as files do, with each URL (or feed item) that failed and why, so the caller ingests what
loaded and reports the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from retrieval.corpus.article import LoadReport
from retrieval.corpus.feeds import FeedError, is_feed, load_items, parse_feed
from retrieval.corpus.fetch import Fetcher, FetchError
from retrieval.corpus.pages import MIN_CHARS, ExtractionError, extract_page


def is_url(value: str) -> bool:
    """Whether a command-line argument is a web address rather than a path."""
    return value.lower().startswith(("http://", "https://"))


def load_urls(fetcher: Fetcher, urls: Iterable[str], min_chars: int = MIN_CHARS) -> LoadReport:
    """The articles behind pages and feeds; a page reached twice (directly and through a feed) counts once."""
    report = LoadReport()
    seen: dict[str, str] = {}
    for url in urls:
        try:
            fetched = fetcher.get(url)
        except FetchError as exc:
            report.failures.append((url, exc.reason))
            continue
        if is_feed(fetched):
            try:
                feed = parse_feed(fetched.content, fetched.final_url)
            except FeedError as exc:
                report.failures.append((url, str(exc)))
                continue
            part = load_items(fetcher, feed, min_chars=min_chars)
            report.failures.extend(part.failures)
            report.skipped.extend(part.skipped)
            loaded = [(a.url, a) for a in part.articles]
        elif fetched.is_xml:
            report.failures.append(
                (url, "an XML document that is neither a web page nor an RSS or Atom feed")
            )
            continue
        else:
            try:
                loaded = [(url, extract_page(fetched.text, fetched.final_url, min_chars=min_chars).article)]
            except ExtractionError as exc:
                report.failures.append((url, str(exc)))
                continue
        for where, article in loaded:
            if article.doc_id in seen:
                report.skipped.append((where, f"the same page as {seen[article.doc_id]}"))
                continue
            seen[article.doc_id] = where
            report.articles.append(article)
    return report
