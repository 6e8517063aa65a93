"""Does a date in a question help, and does it hurt questions without one? (`KHABAR_DATE_BOOST`)

A question naming a month or a day ("in November 2021", "في تشرين الثاني 2021") adds `date_boost` to the
ranker score of sentences whose article was published then (up to `KHABAR_DATE_SLACK_DAYS` after). Measured
per boost value, with the same store and questions in one run:

1. The public eval sets as they are (XQuAD ar/en, ARCD): their articles have no date, so nothing may move:
   every question naming a month or day is searched with each boost and its article and sentence rankings are
   compared with boost 0; a sample of date-free questions too.
2. The same articles given publication dates, to see what a boost does on a dated corpus:
   - "random": every article gets a random day in 2019-2022 (seeded). Dates then say nothing about content:
     the worst case, what boosting costs when publication dates are unrelated to what a question asks.
   - "aligned": as random, but each dated question's gold article is published inside the month or day the
     question names (as a news report is published when its event happens): what boosting can gain.
   Date-free questions are compared with boost 0 (they must not move); dated questions get doc@1 (first
   ranked article is gold) and evid@1 (first sentence is gold).
3. The test news site (tests/news_site.py) plus the seeds: questions written for it, each asked without a date
   and with the month its gold article was published (Arabic with both month systems, and English).

    python benchmarks/date_boost.py --eval ../shared/eval [--boosts 0,0.5,1,2,3] [--sample 200]

Stores are built once under .khabar/datebench/ (cold: a few minutes per corpus on one thread).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.corpus.web import load_urls  # noqa: E402
from retrieval.evaluation.questions import Question, is_gold_passage, load_questions  # noqa: E402
from retrieval.pipeline import Khabar  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.text.dates import question_range  # noqa: E402
from retrieval.text.lexicon import MONTHS  # noqa: E402

BENCH = ROOT / ".khabar" / "datebench"

# Test-site questions: (gold page slug, Arabic question, English question), each asked as written, with the
# Levantine month, with the Egyptian month, and in English with the month: "{when}" is filled in.
NEWS_QUESTIONS = [
    (
        "rafidain/2021/12/tigris-releases.html",
        "ماذا أعلنت وزارة الموارد المائية عن الإطلاقات في نهر دجلة{when}؟",
        "What did the water ministry announce about the releases into the Tigris{when}?",
    ),
    (
        "rafidain/2021/11/tigris-deal.html",
        "ماذا أعلنت وزارة الموارد المائية عن الإطلاقات في نهر دجلة{when}؟",
        "What did the water ministry announce about the releases into the Tigris{when}?",
    ),
    (
        "rafidain/2021/11/water-committee.html",
        "ماذا قال أعضاء لجنة الزراعة والمياه النيابية عن اتفاق المياه مع تركيا{when}؟",
        "What did members of parliament's agriculture and water committee say about the water deal with Turkey{when}?",
    ),
    (
        "sahil/2021/11/10/tomato-prices.html",
        "كم بلغ سعر كيلوغرام الطماطم في أسواق البصرة{when}؟",
        "How much did a kilogram of tomatoes cost in Basra's markets{when}?",
    ),
    (
        "basra/news.php?id=1188",
        "ما الرصيف الذي افتتح في ميناء أم قصر{when}؟",
        "Which berth was opened at the port of Umm Qasr{when}?",
    ),
]


def build(name: str, paths: list[Path], urls: list[str] | None = None) -> Khabar:
    settings = Settings(_env_file=None, data_dir=BENCH / name, seeds_dir=ROOT / "seeds", embed_threads=1)
    kb = Khabar(settings)
    kb.ingest(paths, urls=urls or [])
    kb.searcher.refresh()
    return kb


def ranking(kb: Khabar, q: str, lang: str, boost: float) -> tuple[list[str], list[str]]:
    kb.searcher.date_boost = boost
    result = kb.searcher.search(q, lang)
    return [d for d, _ in result.docs], [h.sentence_id for h in result.hits]


def first_hits(kb: Khabar, q: Question, boost: float) -> tuple[bool, bool]:
    kb.searcher.date_boost = boost
    result = kb.searcher.search(q.question, q.lang)
    doc1 = bool(result.docs) and result.docs[0][0] in q.gold_docs
    evid1 = bool(result.hits) and is_gold_passage(result.hits[0].doc_id, result.hits[0].text, q.evidence)
    return doc1, evid1


def dated_manifest(kb: Khabar, seed: int, pins: dict[str, date]) -> dict:
    rng = random.Random(seed)
    start = date(2019, 1, 1)
    manifest = {}
    for doc_id, entry in sorted(kb.searcher.manifest.items()):
        day = pins.get(doc_id) or start + timedelta(days=rng.randrange(4 * 365))
        manifest[doc_id] = replace(entry, published=day.isoformat())
    return manifest


def eval_sets(folder: Path, boosts: list[float], sample: int) -> None:
    corpora = {
        "xquad": (folder / "xquad.corpus.jsonl", ["xquad.ar.jsonl", "xquad.en.jsonl"]),
        "arcd": (folder / "arcd-train.corpus.jsonl", ["arcd-train.ar.jsonl"]),
    }
    for name, (corpus, sets) in corpora.items():
        kb = build(name, [corpus])
        original = dict(kb.searcher.manifest)
        for set_name in sets:
            questions = [q for q in load_questions(folder / set_name).questions if q.answerable]
            dated = [q for q in questions if question_range(q.question, years=False)]
            free = [q for q in questions if not question_range(q.question, years=False)]
            free_sample = random.Random(0).sample(free, min(sample, len(free)))
            print(f"\n{set_name}: {len(questions)} answerable questions, {len(dated)} name a month or day")
            # 1. undated articles: nothing may move
            moved = sum(
                ranking(kb, q.question, q.lang, b) != ranking(kb, q.question, q.lang, 0.0)
                for q in dated + free_sample[:50]
                for b in boosts
                if b
            )
            print(f"  articles undated (as published): rankings changed by a boost: {moved}")
            # 2. dated articles
            pins = {}
            for q in dated:
                window = question_range(q.question, years=False)
                for doc in q.gold_docs:
                    pins[doc] = window.start
            for label, manifest in (
                ("random", dated_manifest(kb, 7, {})),
                ("aligned", dated_manifest(kb, 7, pins)),
            ):
                kb.searcher.manifest = manifest
                changed = sum(
                    ranking(kb, q.question, q.lang, b) != ranking(kb, q.question, q.lang, 0.0)
                    for q in free_sample
                    for b in boosts
                    if b
                )
                row = []
                for b in boosts:
                    hits = [first_hits(kb, q, b) for q in dated]
                    row.append(
                        f"boost {b:g}: doc@1 {sum(h[0] for h in hits)}/{len(hits)}, "
                        f"evid@1 {sum(h[1] for h in hits)}/{len(hits)}"
                    )
                print(
                    f"  dates {label}: date-free questions changed {changed} (of {len(free_sample)} x boosts)"
                )
                print("    dated questions: " + "; ".join(row))
            kb.searcher.manifest = original


def news_site(boosts: list[float], args_verbose: bool = False) -> None:
    from retrieval.corpus.fetch import Fetcher
    from retrieval.corpus.pages import doc_id_for_url
    from tests.news_site import NewsSite, render

    saved = BENCH / "news-saved"
    saved.mkdir(parents=True, exist_ok=True)
    with NewsSite() as site:
        page = saved / "tigris-releases.html"
        page.write_text(
            render(site.story("rafidain/2021/12/tigris-releases.html"), "https://alrafidain.example"), "utf-8"
        )
        with Fetcher() as fetcher:
            report = load_urls(
                fetcher, [site.url(p) for p in ("rafidain/rss.xml", "sahil/atom.xml", "basra/rss.php")]
            )
        base = site.base
        # The site's port changes from run to run and ids and links come from it: a fresh store each run.
        folder = Path(tempfile.mkdtemp(prefix="datebench-news-"))
        settings = Settings(_env_file=None, data_dir=folder, seeds_dir=ROOT / "seeds", embed_threads=1)
        kb = Khabar(settings)
        kb.indexer.ingest(report.articles)
        kb.ingest([ROOT / "seeds", saved])
        kb.searcher.refresh()
    gold_ids = {slug: {doc_id_for_url(f"{base}/{slug}")} for slug, _, _ in NEWS_QUESTIONS}
    gold_ids["rafidain/2021/12/tigris-releases.html"] = {"tigris-releases"}
    # the deal's wire copy in the other outlet answers its question as well
    gold_ids["rafidain/2021/11/tigris-deal.html"].add(
        doc_id_for_url(f"{base}/sahil/2021/11/08/tigris-water.html")
    )
    for variant in ("ar-levantine", "ar-egyptian", "en"):
        for b in boosts:
            kb.searcher.date_boost = b
            undated = dated = 0
            for slug, arabic, english in NEWS_QUESTIONS:
                month = int(slug.split("/2021/")[1][:2]) if "/2021/" in slug else 11
                english_name, egyptian, levantine = MONTHS[month][:3]  # the lexicon's order
                template = english if variant == "en" else arabic
                when = (
                    f" in {english_name.title()} 2021"
                    if variant == "en"
                    else f" في {levantine if variant == 'ar-levantine' else egyptian} 2021"
                )
                lang = "en" if variant == "en" else "ar"
                for text, is_dated in ((template.format(when=""), False), (template.format(when=when), True)):
                    docs = [d for d, _ in kb.searcher.search(text, lang).docs]
                    ok = bool(docs) and docs[0] in gold_ids[slug]
                    if args_verbose:
                        print(f"    {b:g} {'+' if ok else '-'} {text} -> {docs[:2]}")
                    dated += ok and is_dated
                    undated += ok and not is_dated
            n = len(NEWS_QUESTIONS)
            print(
                f"news site {variant}, boost {b:g}: doc@1 without a date {undated}/{n}, with the month {dated}/{n}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, help="the folder of ../shared/eval")
    parser.add_argument("--boosts", default="0,0.5,1,2,3")
    parser.add_argument("--sample", type=int, default=200, help="date-free questions compared per set")
    parser.add_argument("--verbose", action="store_true", help="each test-site question and its top articles")
    args = parser.parse_args()
    boosts = [float(b) for b in args.boosts.split(",")]
    news_site(boosts, args.verbose)
    if args.eval:
        eval_sets(args.eval, boosts, args.sample)


if __name__ == "__main__":
    main()
