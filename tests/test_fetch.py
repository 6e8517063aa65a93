"""HTTP against a local news site: limits, conditional GET, charsets, and every failure as one typed line."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from retrieval.corpus.charset import decode_markup
from retrieval.corpus.fetch import Fetcher, FetchError, FetchLimits
from tests.news_site import NewsSite


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with NewsSite(slow_seconds=1.5) as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchLimits(read_timeout=0.5)) as client:
        yield client


def _failure(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.get(url)
    error = caught.value
    assert error.url == url and "\n" not in str(error) and str(error).startswith(url)
    return error


def test_a_page_is_fetched_with_a_real_user_agent(site: NewsSite, fetcher: Fetcher) -> None:
    page = fetcher.get(site.url("rafidain/2021/11/tigris-deal.html"))
    assert page.status == 200 and page.content_type == "text/html" and page.encoding == "utf-8"
    assert "العراق وتركيا يتفقان" in page.text
    assert site.hits["user-agent"].startswith("khabar/")


def test_redirects_are_followed_and_the_final_url_kept(site: NewsSite, fetcher: Fetcher) -> None:
    page = fetcher.get(site.url("moved"))
    assert page.final_url == site.url("rafidain/2021/11/tigris-deal.html")


@pytest.mark.parametrize(
    ("path", "kind", "reason"),
    [
        ("rafidain/2021/11/deleted.html", "status", "HTTP 404 Not Found"),
        ("loop/a", "redirects", "more than 5 redirects (a redirect loop?)"),
        ("files/report.pdf", "content_type", "content type application/pdf is not HTML or XML"),
        ("slow", "timeout", "timed out (no data within the read timeout)"),
    ],
)
def test_failures_are_typed_one_line_reasons(
    site: NewsSite, fetcher: Fetcher, path: str, kind: str, reason: str
) -> None:
    started = time.monotonic()
    error = _failure(fetcher, site.url(path))
    assert (error.kind, error.reason) == (kind, reason)
    assert time.monotonic() - started < 1.4  # the slow page is abandoned at the read timeout


def test_an_enormous_body_is_cut_off_at_the_cap(site: NewsSite) -> None:
    with Fetcher(FetchLimits(max_bytes=2 * 1048576)) as small:
        error = _failure(small, site.url("huge"))
    assert error.kind == "too_large" and "over the 2 MB cap (stopped reading)" in error.reason
    with Fetcher() as default:  # the 10 MB cap; the site sends 11 MB without a Content-Length
        assert _failure(default, site.url("huge")).kind == "too_large"


def test_refused_connections_and_bad_urls(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = _failure(fetcher, f"http://127.0.0.1:{port}/news.html")
    assert error.kind == "connection" and error.reason.startswith("could not connect")
    assert _failure(fetcher, "ftp://127.0.0.1/news.html").kind == "invalid_url"
    assert _failure(fetcher, "not a url").kind == "invalid_url"


def test_conditional_get_returns_not_modified(site: NewsSite, fetcher: Fetcher) -> None:
    first = fetcher.get(site.url("rafidain/rss.xml"))
    assert first.etag and first.last_modified and first.is_xml
    again = fetcher.get(site.url("rafidain/rss.xml"), etag=first.etag)
    assert again.not_modified and again.content == b""
    by_date = fetcher.get(site.url("basra/rss.php"), last_modified=first.last_modified)
    assert by_date.not_modified


def test_a_windows_1256_page_declared_as_something_else_is_read_as_arabic(
    site: NewsSite, fetcher: Fetcher
) -> None:
    page = fetcher.get(site.url("basra/news.php?id=1188"))
    assert page.encoding == "cp1256"  # the server said ISO-8859-1, the page said UTF-8
    assert "افتتاح رصيف جديد في ميناء أم قصر" in page.text


def test_charset_order_of_trust() -> None:
    arabic = "<html><head><meta charset='windows-1256'></head><body><p>نهر دجلة والفرات</p></body></html>"
    assert decode_markup(arabic.encode("utf-8"), "windows-1256") == (arabic, "utf-8")  # valid UTF-8 wins
    assert decode_markup(arabic.encode("cp1256")) == (arabic, "cp1256")  # a true declaration is used
    assert decode_markup(b"<p>plain</p>") == ("<p>plain</p>", "ascii")
    assert decode_markup("\ufeff<p>نص</p>".encode())[0] == "<p>نص</p>"
