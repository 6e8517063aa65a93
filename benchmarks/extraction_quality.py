"""Extraction quality and time of `retrieval.corpus.pages` (prints the figures in the README).

1. The test site's pages (tests/pages, invented outlets): for each article page, the share of boilerplate
   sentences (menus, "most read", related teasers, footer, banners) that got into the extracted text and
   the share of article sentences lost; extraction time per page, and fetch + extraction time per page
   over local HTTP (no embedding).
2. With --trafilatura-eval DIR (a folder holding trafilatura's tests/evaldata.json, tests/eval/ and tests/cache/, e.g.
   from a checkout of that project; not part of this repository): its 990 annotated real pages, each
   with snippets that must be in the main text ("with") and snippets that must not ("without"). khabar's
   settings are compared with trafilatura's own canonical settings on the same pages.

    python benchmarks/extraction_quality.py [--trafilatura-eval DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from retrieval.corpus.charset import decode_markup  # noqa: E402
from retrieval.corpus.fetch import Fetcher  # noqa: E402
from retrieval.corpus.pages import ExtractionError, extract_page  # noqa: E402
from retrieval.text.arabic import normalize, split_sentences  # noqa: E402
from tests.news_site import NewsSite, article_sentences, boilerplate_sentences, render, stories  # noqa: E402


def test_site() -> None:
    base = "http://127.0.0.1:8000"
    total_bp = total_in = total_art = total_lost = 0
    times = []
    for story in stories():
        html = render(story, base)
        url = f"{base}/{story['slug']}"
        runs = []
        for _ in range(20):
            started = time.perf_counter()
            try:
                page = extract_page(html, url)
            except ExtractionError as exc:
                page, reason = None, str(exc)
            runs.append(time.perf_counter() - started)
        times.append(statistics.median(runs))
        if page is None:
            print(f"  {story['slug']}: refused ({reason})")
            continue
        text = page.article.text
        got = {normalize(text[s.start : s.end]) for s in split_sentences(text)}
        boilerplate, article = boilerplate_sentences(story, base), article_sentences(story)
        total_bp += len(boilerplate)
        total_in += len(got & boilerplate)
        total_art += len(article)
        total_lost += len(article - got)
        print(
            f"  {story['slug']}: boilerplate in {len(got & boilerplate)}/{len(boilerplate)}, "
            f"article sentences lost {len(article - got)}/{len(article)}"
        )
    print(
        f"test site: boilerplate sentences in {total_in}/{total_bp}, article sentences lost "
        f"{total_lost}/{total_art}; extraction median {statistics.median(times) * 1000:.1f} ms/page"
    )
    with NewsSite() as site, Fetcher() as fetcher:
        fetch_times = []
        for story in stories():
            started = time.perf_counter()
            fetched = fetcher.get(site.url(story["slug"]))
            with contextlib.suppress(ExtractionError):  # refused pages cost their time too
                extract_page(fetched.text, fetched.final_url)
            fetch_times.append(time.perf_counter() - started)
    print(f"fetch + extraction over local HTTP: median {statistics.median(fetch_times) * 1000:.1f} ms/page")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _score(found: str, item: dict[str, Any], s: dict[str, float]) -> None:
    """Add one page's snippet counts (main text found, boilerplate kept) to a method's tally."""
    for snippet in item.get("with", [])[:6]:
        s["with_total"] += 1
        s["with"] += _norm(snippet) in found
    for snippet in item.get("without", [])[:6]:
        s["without_total"] += 1
        s["without"] += _norm(snippet) in found


def _page_path(folder: Path, item: dict[str, Any]) -> Path | None:
    return next(
        (folder / sub / item["file"] for sub in ("eval", "cache") if (folder / sub / item["file"]).exists()),
        None,
    )


def trafilatura_eval(folder: Path, limit: int | None) -> None:
    data = json.loads((folder / "evaldata.json").read_text("utf-8"))
    items = list(data.items())[:limit]
    keys = ("with", "with_total", "without", "without_total", "refused", "time")
    scores: dict[str, dict[str, float]] = {name: dict.fromkeys(keys, 0) for name in ("khabar", "trafilatura")}
    refusals: dict[str, int] = {}
    arabic = []
    n = 0
    for url, item in items:
        path = _page_path(folder, item)
        if path is None:
            continue
        n += 1
        html, _ = decode_markup(path.read_bytes())
        started = time.perf_counter()
        try:
            ours = extract_page(html, url).article.text
        except ExtractionError as exc:
            ours = ""
            key = str(exc).split(" (")[0].split(":")[0]
            refusals[key] = refusals.get(key, 0) + 1
        scores["khabar"]["time"] += time.perf_counter() - started
        started = time.perf_counter()
        theirs = trafilatura.extract(html, url=url, include_comments=False, include_tables=True) or ""
        scores["trafilatura"]["time"] += time.perf_counter() - started
        for name, text in (("khabar", ours), ("trafilatura", theirs)):
            scores[name]["refused"] += not text
            _score(_norm(text), item, scores[name])
        if re.search("[\u0600-\u06ff]", " ".join(item.get("with", []))):
            arabic.append((url, item, ours))
    for name, s in scores.items():
        print(
            f"{name} settings on {n} annotated pages: main-text snippets found {s['with']}/{s['with_total']} "
            f"({s['with'] / s['with_total']:.3f}), boilerplate snippets in {s['without']}/{s['without_total']} "
            f"({s['without'] / s['without_total']:.3f}), pages with no text {s['refused']}, "
            f"{s['time'] / n * 1000:.0f} ms/page"
        )
    print(f"khabar's refusals by reason: {refusals}")
    for _url, item, text in arabic:
        found = _norm(text)
        print(
            f"Arabic page {item['file']}: with {sum(_norm(w) in found for w in item['with'])}/{len(item['with'])}, "
            f"without {sum(_norm(w) in found for w in item['without'])}/{len(item['without'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trafilatura-eval", type=Path, help="folder with evaldata.json, eval/ and cache/")
    parser.add_argument("--limit", type=int, help="only the first N annotated pages")
    args = parser.parse_args()
    test_site()
    if args.trafilatura_eval:
        trafilatura_eval(args.trafilatura_eval, args.limit)


if __name__ == "__main__":
    main()
