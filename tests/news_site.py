"""A local news site for tests: invented Arabic outlets (pages written for these tests), feeds and failure cases.

`tests/pages/` holds three outlet templates (a modern site with og: metadata, a JSON-LD site without
og:site_name, an old table-layout forum served in windows-1256 that declares another charset), the stories
(`stories.json`, all invented), an RSS and an Atom feed. `NewsSite` renders them and serves them on
127.0.0.1 at a random port, with the failure cases the issue lists (404, redirect loop, slow response,
enormous body, wrong content type) and conditional GET (ETag / Last-Modified) on the feeds.
It also knows, per page, which sentences are the article and which are boilerplate, for extraction tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from string import Template

from lxml import html as lxml_html

from retrieval.text.arabic import normalize, split_sentences
from tests.local_server import LocalServer

PAGES = Path(__file__).resolve().parent / "pages"
FEED_MODIFIED = "Wed, 10 Nov 2021 08:00:00 GMT"
PAYWALL_NOTICE = "هذا المقال متاح للمشتركين فقط. اشترك الآن للوصول إلى جميع مقالات صحيفة الساحل بدءا من خمسة دولارات شهريا."


@dataclass
class Response:
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def stories() -> list[dict]:
    return json.loads((PAGES / "stories.json").read_text("utf-8"))


def _body(story: dict) -> str:
    """The article's markup: paragraphs, an inline "read also" link, a paywall or a video instead of text."""
    paragraphs = [f"<p>{html.escape(p)}</p>" for p in story["paragraphs"]]
    if story.get("read_also") and len(paragraphs) > 2:
        paragraphs.insert(
            2,
            '<div class="read-also"><strong>اقرأ أيضا:</strong> '
            f'<a href="/rafidain/related.html">{html.escape(story["read_also"])}</a></div>',
        )
    if story.get("kind") == "paywall":
        paragraphs.append(
            f'<div class="paywall"><p>{PAYWALL_NOTICE}</p><a class="btn" href="/subscribe">اشترك الآن</a> '
            '<a href="/login">لديك حساب؟ سجل الدخول</a></div>'
        )
    if story.get("kind") == "video":
        paragraphs.append(
            '<div class="video"><iframe src="/player/58122" width="640" height="360"></iframe></div>'
        )
    return "\n".join(paragraphs)


def render(story: dict, base: str, declared_charset: str = "utf-8") -> str:
    """One story inside its outlet's template, with absolute URLs under `base`."""
    published = story["published"]
    jsonld_date = "" if story.get("meta_date") is False else f'"datePublished": "{published}",'
    values = {
        "title": html.escape(story["title"]),
        "description": html.escape(story.get("description", "")),
        "author": html.escape(story["author"]),
        "published": published,
        "visible_date": story["visible_date"],
        "url": f"{base}/{story['slug']}",
        "base": base,
        "body": _body(story),
        "jsonld_date": jsonld_date,
        "declared_charset": declared_charset,
    }
    return Template((PAGES / f"{story['outlet']}.html").read_text("utf-8")).substitute(values)


def _sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def article_sentences(story: dict) -> set[str]:
    """Normalised sentences of what the article says (its paragraphs)."""
    return {normalize(s) for p in story["paragraphs"] for s in _sentences(p)}


def boilerplate_sentences(story: dict, base: str) -> set[str]:
    """Normalised sentences of every visible text of the page that is not the article, the title or its date."""
    tree = lxml_html.fromstring(render(story, base))
    for bad in tree.xpath("//script|//style|//head"):
        bad.getparent().remove(bad)
    texts = [t.strip() for t in tree.xpath("//text()") if t.strip()]
    keep = article_sentences(story) | {normalize(story["title"])}
    found = set()
    for text in texts:
        for sentence in _sentences(text):
            key = normalize(sentence)
            if key not in keep and not any(key in k for k in keep) and not any(k in key for k in keep):
                found.add(key)
    return found


class NewsSite(LocalServer):
    """The site on a local port; `with NewsSite() as site:` starts and stops it. `hits` counts requests."""

    def __init__(self, slow_seconds: float = 1.0, huge_bytes: int = 11 * 1024 * 1024):
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.hits: dict[str, int] = {}
        self.routes: dict[str, Response] = {}
        super().__init__(self._handler())
        self.base = f"http://127.0.0.1:{self.port}"
        self._build()

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def story(self, slug: str) -> dict:
        return next(s for s in stories() if s["slug"] == slug)

    def _build(self) -> None:
        for story in stories():
            if story["outlet"] == "basra_forum":
                # The old forum: windows-1256 bytes, declared as UTF-8 in the page and Latin-1 by the server.
                body = render(story, self.base, "utf-8").encode("cp1256")
                self.routes["/" + story["slug"]] = Response(
                    body=body, content_type="text/html; charset=iso-8859-1"
                )
            else:
                self.routes["/" + story["slug"]] = Response(body=render(story, self.base).encode("utf-8"))
        for name, path, kind, encoding in (
            ("rafidain_rss.xml", "/rafidain/rss.xml", "application/rss+xml; charset=utf-8", "utf-8"),
            ("sahil_atom.xml", "/sahil/atom.xml", "application/atom+xml", "utf-8"),
            ("basra_rss.xml", "/basra/rss.php", "text/xml", "cp1256"),  # validated by date only
        ):
            body = Template((PAGES / name).read_text("utf-8")).substitute(base=self.base).encode(encoding)
            headers = {"Last-Modified": FEED_MODIFIED}
            if encoding == "utf-8":
                headers["ETag"] = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            self.routes[path] = Response(content_type=kind, body=body, headers=headers)
        self.routes["/rafidain/not-a-feed.xml"] = Response(
            content_type="application/xml", body=b"<?xml version='1.0'?><config><item>x</item></config>"
        )
        self.routes["/files/report.pdf"] = Response(
            content_type="application/pdf", body=b"%PDF-1.4 " + b"0" * 500
        )
        self.routes["/loop/a"] = Response(status=302, headers={"Location": "/loop/b"})
        self.routes["/loop/b"] = Response(status=302, headers={"Location": "/loop/a"})
        self.routes["/moved"] = Response(
            status=301, headers={"Location": "/rafidain/2021/11/tigris-deal.html"}
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in separate writes would wait for delayed ACKs

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                path = self.path
                site.hits[path] = site.hits.get(path, 0) + 1
                site.hits["user-agent"] = self.headers.get("User-Agent", "")
                if path == "/slow":
                    time.sleep(site.slow_seconds)
                    return self._send(Response(body=b"<html><body><p>late</p></body></html>"))
                if path == "/huge":
                    return self._huge()
                response = site.routes.get(path) or site.routes.get(path.split("?")[0])
                if response is None:
                    return self._send(Response(status=404, body="<h1>الصفحة غير موجودة</h1>".encode()))
                etag = response.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    return self._send(Response(status=304, headers=response.headers))
                modified = response.headers.get("Last-Modified")
                if modified and self.headers.get("If-Modified-Since") == modified and not etag:
                    return self._send(Response(status=304, headers=response.headers))
                self._send(response)

            def _send(self, response: Response) -> None:
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                if response.status != 304:
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if response.status != 304:
                    # the client may have given up (a test of its read timeout)
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(response.body)

            def _huge(self) -> None:
                """An endless-looking page sent without Content-Length, so only the streamed cap can stop it."""
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = ("<p>" + "نص طويل جدا " * 500 + "</p>\n").encode()
                sent = 0
                try:
                    while sent < site.huge_bytes:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        return Handler
