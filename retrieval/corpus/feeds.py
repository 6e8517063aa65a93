"""RSS and Atom feeds -> items -> articles: each item's page is fetched and extracted like any page.

A feed item is only a pointer: its page holds the article. The page's own date and outlet win; the item's
date and the feed's title are the fallbacks. A broken item (no link) or an item whose page fails is
reported and the rest go on.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from email.utils import parsedate_to_datetime

import feedparser

from retrieval.corpus.article import LoadReport
from retrieval.corpus.fetch import Fetched, Fetcher, FetchError
from retrieval.corpus.pages import MIN_CHARS, ExtractionError, extract_page, normalize_url
from retrieval.text.dates import parse_published

_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml"}
_ROOT = re.compile(r"<(?!\?|!)([\w:-]+)")


class FeedError(ValueError):
    """A document that is not an RSS or Atom feed."""


@dataclass(frozen=True)
class FeedItem:
    """One item: `key` identifies it across fetches (its guid, else its normalised link)."""

    key: str
    link: str
    title: str
    published: str


@dataclass
class Feed:
    """A parsed feed: its title (the outlet fallback), its items, and each broken item with the reason."""

    url: str
    title: str
    items: list[FeedItem] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def is_feed(fetched: Fetched) -> bool:
    """Whether a fetched document is a feed: by its content type, else by its root element (rss, feed, RDF)."""
    if fetched.content_type in _FEED_TYPES:
        return True
    if not fetched.is_xml:
        return False
    text = re.sub(r"<!--.*?-->", "", fetched.text[:4096], flags=re.S)
    root = _ROOT.search(text)
    return bool(root) and root.group(1).lower() in ("rss", "feed", "rdf:rdf")


def parse_feed(content: bytes | str, url: str) -> Feed:
    """Items of an RSS 2.0 / RSS 1.0 / Atom document, with links made absolute against `url`."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    # A stream, never a string: feedparser would fetch a string that looks like a URL, or open a file path.
    parsed = feedparser.parse(io.BytesIO(data), response_headers={"content-location": url})
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no channel or feed element"
        raise FeedError(f"not an RSS or Atom feed ({' '.join(str(reason).split())})")
    feed = Feed(url=url, title=" ".join(str(parsed.feed.get("title", "")).split()))
    seen: set[str] = set()
    for number, entry in enumerate(parsed.entries, start=1):
        title = " ".join(str(entry.get("title", "")).split())
        where = f"item {number}" + (f" ({title})" if title else "")
        link = str(entry.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            feed.problems.append(
                (where, "no link to an article page" if not link else f"unusable link {link!r}")
            )
            continue
        key = str(entry.get("id") or "").strip() or normalize_url(link)
        if key in seen:
            feed.problems.append((where, "the same item twice in the feed"))
            continue
        seen.add(key)
        feed.items.append(FeedItem(key=key, link=link, title=title, published=item_date(entry)))
    return feed


def item_date(entry: dict) -> str:
    """The item's publication day (ISO 8601) as the feed writes it, in the feed's own time zone; "" if none.

    feedparser's *_parsed values are converted to UTC, which moves an item published at 01:00 +03:00 to
    the day before; the raw string keeps the outlet's day.
    """
    for key in ("published", "updated", "created"):
        raw = str(entry.get(key) or "").strip()
        if not raw:
            continue
        day = parse_published(raw)
        if day is None:
            try:
                day = parsedate_to_datetime(raw).date()
            except (TypeError, ValueError, IndexError):
                day = None
        if day is None and entry.get(f"{key}_parsed"):
            day = date(*entry[f"{key}_parsed"][:3])
        if day is not None:
            return day.isoformat()
    return ""


def load_items(
    fetcher: Fetcher, feed: Feed, items: list[FeedItem] | None = None, min_chars: int = MIN_CHARS
) -> LoadReport:
    """Fetch and extract the pages of a feed's items (all, or `items`); each failure names the link and why."""
    report = LoadReport()
    report.failures.extend((f"{feed.url} {where}", reason) for where, reason in feed.problems)
    seen_ids: set[str] = set()
    for item in feed.items if items is None else items:
        try:
            fetched = fetcher.get(item.link)
            page = extract_page(
                fetched.text,
                fetched.final_url,
                fallback_source=feed.title,
                fallback_published=item.published,
                min_chars=min_chars,
            )
        except FetchError as exc:
            report.failures.append((item.link, exc.reason))
            continue
        except ExtractionError as exc:
            report.failures.append((item.link, str(exc)))
            continue
        if page.article.doc_id in seen_ids:
            report.skipped.append((item.link, "the same page as an earlier item"))
            continue
        seen_ids.add(page.article.doc_id)
        report.articles.append(page.article)
    return report
