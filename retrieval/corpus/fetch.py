"""HTTP for news pages and feeds: bounded in time, size and redirects, conditional, and failing in one line.

Every way a fetch can go wrong (bad URL, refused connection, timeout, redirect loop, HTTP error, a body over
the size cap, a content type that is not HTML/XML) becomes a `FetchError` carrying the URL and a one-line
reason, so an ingest of many URLs reports each failure and goes on. Bodies are streamed and reading stops at
the cap: an enormous or endless response never fills memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType

import httpx

from retrieval.corpus.charset import decode_markup


def _user_agent() -> str:
    try:
        number = version("khabar")
    except PackageNotFoundError:  # running from a checkout that was never installed
        number = "dev"
    return f"khabar/{number} (Arabic news question answering; fetches only the pages and feeds it is given)"


USER_AGENT = _user_agent()
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1"
)
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_XML_TYPES = {
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
}


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one fetch; the defaults are the issue's (connect 10 s, read 30 s, 5 redirects, 10 MB)."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # a server that drips one byte every 29 s never trips the read timeout
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """A fetched document (or a 304: `not_modified`, empty body) with what a later conditional GET needs."""

    url: str
    final_url: str
    status: int
    content_type: str
    content: bytes
    text: str
    encoding: str
    etag: str | None
    last_modified: str | None
    seconds: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def is_xml(self) -> bool:
        return self.content_type in _XML_TYPES or self.content_type.endswith("+xml")


class FetchError(Exception):
    """A URL that could not be fetched; `kind` is one of invalid_url, connection, timeout, redirects, status,
    too_large, content_type, empty."""

    def __init__(self, url: str, kind: str, reason: str, status: int | None = None):
        super().__init__(f"{url}: {reason}")
        self.url, self.kind, self.reason, self.status = url, kind, " ".join(reason.split()), status


def media_type(content_type: str | None) -> str:
    """ "text/html; charset=utf-8" -> "text/html"."""
    return (content_type or "").split(";")[0].strip().lower()


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


# Types that say nothing either way: the body decides (markup starts with "<").
_SNIFFED = {"", "application/octet-stream", "text/plain"}


def _declared_markup(kind: str) -> bool:
    return kind in _HTML_TYPES or kind in _XML_TYPES or kind.endswith("+xml")


def _looks_like_markup(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


class Fetcher:
    """One HTTP client for many fetches (connection reuse); use as a context manager or call close()."""

    def __init__(
        self,
        limits: FetchLimits | None = None,
        user_agent: str = USER_AGENT,
        transport: httpx.BaseTransport | None = None,
    ):
        self.limits = limits or FetchLimits()
        timeout = httpx.Timeout(
            connect=self.limits.connect_timeout,
            read=self.limits.read_timeout,
            write=self.limits.read_timeout,
            pool=self.limits.connect_timeout,
        )
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=True,
            max_redirects=self.limits.max_redirects,
            headers={"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Language": "ar,en;q=0.8"},
            transport=transport,
            trust_env=False,  # a stray proxy variable must not reroute a local fetch
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """Fetch an HTML or XML document; with `etag`/`last_modified`, a 304 comes back as `not_modified`."""
        if not url.lower().startswith(("http://", "https://")):
            raise FetchError(url, "invalid_url", "not an http(s) URL")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                return self._read(url, response, started)
        except httpx.TooManyRedirects:
            raise FetchError(
                url, "redirects", f"more than {self.limits.max_redirects} redirects (a redirect loop?)"
            ) from None
        except httpx.TimeoutException as exc:
            raise FetchError(url, "timeout", f"timed out ({_timeout_phase(exc)})") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise FetchError(url, "invalid_url", f"invalid URL ({exc})") from None
        except httpx.ConnectError as exc:
            raise FetchError(url, "connection", f"could not connect ({exc or 'connection failed'})") from None
        except httpx.HTTPError as exc:
            raise FetchError(url, "connection", f"{type(exc).__name__}: {exc}") from None

    def _read(self, url: str, response: httpx.Response, started: float) -> Fetched:
        final_url = str(response.url)
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        kind = media_type(response.headers.get("content-type"))
        if response.status_code == 304:
            return Fetched(url, final_url, 304, kind, b"", "", "", etag, modified, time.monotonic() - started)
        if response.status_code >= 400:
            raise FetchError(
                url, "status", f"HTTP {response.status_code} {response.reason_phrase}", response.status_code
            )
        if not _declared_markup(kind) and kind not in _SNIFFED:
            raise FetchError(url, "content_type", f"content type {kind} is not HTML or XML")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise FetchError(
                url, "too_large", f"body of {int(declared):,} bytes is over the {self._cap()} cap"
            )
        content = self._body(url, response, started)
        if not content.strip():
            raise FetchError(url, "empty", f"empty response (HTTP {response.status_code})")
        if not _declared_markup(kind) and not _looks_like_markup(content[:512]):
            raise FetchError(url, "content_type", f"content type {kind or 'unknown'} is not HTML or XML")
        text, encoding = decode_markup(content, _charset(response.headers.get("content-type")))
        return Fetched(
            url,
            final_url,
            response.status_code,
            kind,
            content,
            text,
            encoding,
            etag,
            modified,
            time.monotonic() - started,
        )

    def _body(self, url: str, response: httpx.Response, started: float) -> bytes:
        """The body, streamed; reading stops as soon as it passes the size cap or the total time limit."""
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise FetchError(url, "too_large", f"body is over the {self._cap()} cap (stopped reading)")
            if time.monotonic() - started > self.limits.total_timeout:
                raise FetchError(url, "timeout", f"took over {self.limits.total_timeout:g} s in total")
            chunks.append(chunk)
        return b"".join(chunks)

    def _cap(self) -> str:
        return megabytes(self.limits.max_bytes)


def megabytes(size: int) -> str:
    """A byte count as the MB (2**20 bytes) that KHABAR_FETCH_MAX_MB counts in: "10 MB"."""
    return f"{size / 1048576:.3g} MB"


def _timeout_phase(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "no connection within the connect timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return "no data within the read timeout"
    return type(exc).__name__
