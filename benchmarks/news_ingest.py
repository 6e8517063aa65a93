"""Ingest of the test news site (tests/news_site.py): time per page beyond embedding, and wire copies found.

The seeds and every page the site's feeds list (plus the December page that is in no feed) are ingested into
a fresh embedded store, as `khabar ingest URL...` does. Time is split into fetching and extracting the pages
(local HTTP), the per-article work of ingest (splitting, planted-text check, MinHash, wire-copy keys: timed
around `Indexer._plan`), embedding (timed around the embedder), and the rest (Chroma writes, manifest).
Then `Khabar.stats()` counts duplicate article groups and sentences printed in two or more articles.

    python benchmarks/news_ingest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.pipeline import Khabar  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from tests.news_site import NewsSite  # noqa: E402

FEEDS = ("rafidain/rss.xml", "sahil/atom.xml", "basra/rss.php", "rafidain/2021/12/tigris-releases.html")


class Timer:
    """Wraps a callable and adds up the seconds spent in it."""

    def __init__(self, target: object, name: str):
        self.seconds = 0.0
        original = getattr(target, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        target.__dict__[name] = timed  # an instance attribute (pydantic models refuse setattr)


def run_once(site: NewsSite) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder), seeds_dir=ROOT / "seeds", embed_threads=1)
        kb = Khabar(settings)
        embed = Timer(kb.embedder, "passage_vectors")
        plan = Timer(kb.indexer, "_plan")
        started = time.perf_counter()
        report = kb.fetch([site.url(path) for path in FEEDS])
        fetched = time.perf_counter()
        stats = kb.indexer.ingest(report.articles)
        done = time.perf_counter()
        embed_seconds, plan_seconds = embed.seconds, plan.seconds  # before the seeds add to them
        pages = len(report.articles)
        seeds = kb.ingest([ROOT / "seeds"])
        store = kb.stats()
        return {
            "pages": pages,
            "failed": len(report.failures),
            "fetch_extract_ms": (fetched - started) * 1000 / pages,
            "plan_ms": plan_seconds * 1000 / pages,
            "embed_ms": embed_seconds * 1000 / pages,
            "write_ms": (done - fetched - plan_seconds - embed_seconds) * 1000 / pages,
            "beyond_embedding_ms": (done - started - embed_seconds) * 1000 / pages,
            "sentences": stats.sentences + seeds.sentences,
            "groups": len(store.duplicate_groups),
            "shared": store.shared_sentences,
            "copies": len(stats.copies),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with NewsSite() as site:
        runs = [run_once(site) for _ in range(args.repeat)]
    first = runs[0]
    print(
        f"{first['pages']} pages stored ({first['failed']} refused or failed), seeds + pages: {first['sentences']} "
        f"sentences, {first['groups']} near-duplicate article group(s), {first['shared']} sentence(s) printed in "
        f"two or more articles"
    )
    for key in ("fetch_extract_ms", "plan_ms", "write_ms", "beyond_embedding_ms", "embed_ms"):
        values = [r[key] for r in runs]
        print(
            f"{key}: median {statistics.median(values):.1f} ms/page (runs: {', '.join(f'{v:.1f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
