"""News web pages -> `Article`: main text and metadata with trafilatura, or a clear reason why not.

What a journalist cites must be what the outlet published, so the page's navigation, "most read" lists,
related-article teasers, share buttons, cookie banners and footers must stay out, and a page that has no
article (a video page, a section front) or only a paywall stub is refused rather than stored as a few stray
lines. Paragraphs stay on separate lines so the sentence splitter keeps working. Dates come only from
metadata, <time> elements, the URL or a full date printed on the page (htmldate without its "extensive"
guessing, which turns a footer's "© 2019" into 2019-01-01: an invented date is worse than none).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import courlan
import trafilatura
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from retrieval.corpus.article import Article
from retrieval.corpus.charset import decode_markup
from retrieval.corpus.fetch import FetchLimits
from retrieval.text.arabic import normalize

PAGE_SUFFIXES = (".html", ".htm")
MIN_CHARS = 150  # least article text (outside lists) for a page to count as an article
MAX_PAGE_BYTES = FetchLimits().max_bytes  # a saved page is held to the same cap as a fetched one
_PAYWALL_MARKERS = tuple(
    normalize(marker)
    for marker in (
        "للمشتركين فقط",
        "حصري للمشتركين",
        "اشترك الآن للوصول",
        "اشترك لمتابعة القراءة",
        "سجل الدخول لمتابعة القراءة",
        "لقراءة المقال كاملا",
        "لمواصلة القراءة",
        "subscribers only",
        "subscribe to continue",
        "subscribe to read",
        "to continue reading",
        "already a subscriber",
        "this article is for subscribers",
        "sign in to read",
    )
)
_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?false', re.I)
_TITLE_SEPARATOR = re.compile(r"\s+(?:\||::|-|–|—|«|»|/)\s+")


class ExtractionError(ValueError):
    """A page that holds no article khabar can store; `kind` is "no_text" or "paywall"."""

    def __init__(self, reason: str, kind: str = "no_text"):
        super().__init__(reason)
        self.kind = kind


@dataclass(frozen=True)
class Page:
    """An extracted page: the article to store, plus what `Article` has no field for (yet)."""

    article: Article
    author: str
    canonical_url: str


def normalize_url(url: str) -> str:
    """A URL in one spelling: lower-case host, no fragment, no tracking parameters (utm_*, fbclid ...)."""
    try:
        return courlan.normalize_url(url.strip(), strict=True)
    except (ValueError, AttributeError):
        return url.strip()


def site_host(url: str) -> str:
    """The host of a URL without "www." ("" when there is none)."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def doc_id_for_url(url: str) -> str:
    """A stable article id for a page: its host and a hash of its normalised URL (no ":" in it)."""
    host = re.sub(r"[^\w.-]", "_", site_host(url)) or "page"
    return f"{host}-{hashlib.sha256(normalize_url(url).encode('utf-8')).hexdigest()[:12]}"


def extract_page(
    html: str,
    url: str = "",
    *,
    doc_id: str | None = None,
    fallback_source: str = "",
    fallback_published: str = "",
    path: str = "",
    min_chars: int = MIN_CHARS,
) -> Page:
    """The article of an HTML page; raises ExtractionError when there is none (or only a paywall stub).

    `fallback_source` (a feed's title) is the outlet when the page names none (og:site_name, then the site
    name in its JSON-LD or meta tags); `fallback_published` (a feed item's date) when the page has no date.
    Without `doc_id`, the id derives from the canonical URL (so a page keeps its id across fetches).
    """
    tree = load_html(html)
    if tree is None:
        raise ExtractionError("not an HTML page")
    og_site = _meta(tree, "og:site_name")
    canonical = _canonical(tree, url)
    heads = {normalize(t) for t in tree.xpath("//h1//text()|//h2//text()|//b//text()|//strong//text()")}
    doc = trafilatura.bare_extraction(
        tree,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        # Old Arabic sites lay pages out with tables: with tables on, their menus and footers come along
        # (measured on the test site's forum page); real data tables in news are rarer.
        include_tables=False,
        include_images=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None or not (doc.text or "").strip():
        raise ExtractionError("no main text found on the page")
    host = site_host(canonical or url)
    source = og_site or _declared_site(doc.sitename or "", host) or fallback_source.strip() or host
    title = _clean_title(doc.title or "", heads, source)
    lines = [line.strip() for line in doc.text.splitlines() if line.strip()]
    paywalled = bool(_NOT_FREE.search(html)) or any(_is_paywall(line) for line in lines)
    lines = [line for line in lines if not _is_paywall(line)]
    prose = _prose_chars(doc.body)
    if prose < (3 * min_chars if paywalled else min_chars):
        if paywalled:
            raise ExtractionError(f"paywalled: only {prose} characters of the article are free", "paywall")
        raise ExtractionError(f"no main text (only {prose} characters of article text)")
    if not title:
        title = lines[0]
    if lines and normalize(lines[0]) == normalize(title):
        lines = lines[1:]
    article = Article(
        doc_id=doc_id or doc_id_for_url(canonical or url),
        title=title,
        text="\n".join([title, *lines]),
        url=canonical or url,
        published=doc.date or fallback_published,
        source=source,
        path=path,
    )
    return Page(article=article, author=(doc.author or "").strip(), canonical_url=canonical)


def read_page_file(path: Path, min_chars: int = MIN_CHARS) -> Page:
    """A saved .html/.htm page as an article whose id is the file name, as for .txt files.

    The bytes are decoded like fetched pages (a wrong declared charset is detected); the page's own
    canonical URL, if any, becomes the article's link.
    """
    data = path.read_bytes()
    if not data.strip():
        raise ExtractionError("empty file")
    text, _ = decode_markup(data)
    return extract_page(text, "", doc_id=path.stem, path=str(path), min_chars=min_chars)


def _meta(tree: HtmlElement, prop: str) -> str:
    values = tree.xpath(f'//meta[@property="{prop}" or @name="{prop}"]/@content')
    return " ".join(str(values[0]).split()) if values else ""


def _canonical(tree: HtmlElement, url: str) -> str:
    """The page's canonical URL when it is on the same site as `url`, else `url`, normalised.

    Syndicated copies often point their canonical link at the original outlet; taking it would give the
    copy the original's id and overwrite it.
    """
    declared = [
        str(v).strip()
        for v in tree.xpath('//link[@rel="canonical"]/@href|//meta[@property="og:url"]/@content')
    ]
    for candidate in (urljoin(url, d) if url else d for d in declared):
        if candidate.startswith(("http://", "https://")) and (
            not url or site_host(candidate) == site_host(url)
        ):
            return normalize_url(candidate)
    return normalize_url(url) if url else ""


def _declared_site(sitename: str, host: str) -> str:
    """trafilatura's site name when the page declares it (JSON-LD publisher, meta), not a URL or host guess."""
    name = " ".join(sitename.split())
    if not name or "/" in name or name.lower().removeprefix("www.").split(":")[0] == host:
        return ""
    return name


def _clean_title(title: str, heads: set[str], source: str) -> str:
    """The headline without the outlet's name that <title> tags append ("Headline | Outlet")."""
    title = " ".join(title.split())
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    for part in parts:
        if normalize(part) in heads and len(part) > 10:
            return part
    kept = [p for p in parts if normalize(p) != normalize(source)]
    return " - ".join(kept) if kept and len(kept) < len(parts) else title


def _is_paywall(line: str) -> bool:
    key = normalize(line)
    return len(key) < 400 and any(marker in key for marker in _PAYWALL_MARKERS)


def _prose_chars(body: HtmlElement | None) -> int:
    """Characters of paragraph text outside lists and tables: a page of teaser lists has almost none."""
    if body is None:
        return 0
    total = 0
    for element in body.iter("p", "quote"):
        if any(a.tag in ("list", "table") for a in element.iterancestors()):
            continue
        text = " ".join("".join(element.itertext()).split())
        if not _is_paywall(text):
            total += len(text)
    return total
