"""How well `retrieval.corpus.dedup` tells wire copies from different stories: prints the figures in the README.

Negatives (must NOT be grouped): every pair of distinct paragraphs of the XQuAD and ARCD corpora in
../shared/eval (paragraphs of one Wikipedia article are different texts on one subject, the hard case),
the two seed articles (two outlets' stories on one event), and the test site's two stories on one event.
Positives (must be grouped): the test site's wire copy (new intro, attribution, an edited and a dropped
paragraph, a closing line of its own), and simulated reprints of every corpus paragraph of 4+ sentences:
a new first sentence, the last sentence dropped, an attribution, and k words replaced.

    python benchmarks/dedup_precision.py [--eval ../shared/eval]
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import itertools
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.corpus import dedup  # noqa: E402
from retrieval.corpus.files import load_articles  # noqa: E402
from retrieval.corpus.pages import ExtractionError, extract_page  # noqa: E402
from retrieval.text.arabic import split_sentences  # noqa: E402
from tests.news_site import render, stories  # noqa: E402


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def reprint(text: str, rng: random.Random, pool: list[str], rate: float) -> str:
    """A simulated wire reprint: another intro, an attribution, the last sentence dropped, a share of the
    remaining words replaced."""
    parts = sentences(text)
    tokens = " ".join(parts[1:-1]).split()
    for i in rng.sample(range(len(tokens)), round(rate * len(tokens))):
        tokens[i] = rng.choice(["كما", "أيضا", "حيث", "وقد", "الذي", "بعد", "خلال", "جديد"])
    return f"(وكالات) - {rng.choice(pool)}\n" + " ".join(tokens) + "\nولم يصدر تعليق فوري على ذلك."


def long_sentence_keys(text: str) -> set[str]:
    """Keys of a text's sentences of 10+ words: two texts sharing one print a sentence identically."""
    return {k for s in sentences(text) if len(dedup.words(s)) >= 10 and (k := dedup.sentence_key(s))}


Pair = tuple[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--eval", type=Path, default=Path("../shared/eval"), help="folder with the eval corpora"
    )
    args = parser.parse_args()
    corpus = []
    for name in ("xquad.corpus.jsonl", "arcd-train.corpus.jsonl"):
        corpus += [json.loads(line) for line in (args.eval / name).read_text("utf-8").splitlines() if line]
    texts = {r["id"]: r["text"] for r in corpus}
    titles = {r["id"]: r["title"] for r in corpus}
    started = time.perf_counter()
    sigs = {doc_id: dedup.signature(text) for doc_id, text in texts.items()}
    per_doc_ms = (time.perf_counter() - started) * 1000 / len(sigs)
    avg_words = sum(len(dedup.words(t)) for t in texts.values()) / len(texts)
    print(f"corpus paragraphs: {len(texts)} (avg {avg_words:.0f} words); signature {per_doc_ms:.2f} ms each")
    by_story = {s["slug"]: "\n".join([s["title"], *s["paragraphs"]]) for s in stories()}
    original = by_story["rafidain/2021/11/tigris-deal.html"]
    wire = by_story["sahil/2021/11/08/tigris-water.html"]
    other = by_story["rafidain/2021/11/water-committee.html"]
    seeds = [p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    print("hand-written: wire copy vs original", _fmt(original, wire))
    print("hand-written: same event, other story", _fmt(original, other))
    print("seeds: the two seed articles (one event, two outlets)", _fmt(*seeds[:2]))

    pairs = list(itertools.combinations(sorted(texts), 2))
    keys = {doc_id: long_sentence_keys(text) for doc_id, text in texts.items()}
    copies = {(a, b) for a, b in pairs if keys[a] & keys[b]}
    print(
        f"corpus pairs: {len(pairs)}, of which {len(copies)} print a 10+ word sentence identically (copies)"
    )
    sweep(texts, titles, pairs, copies)
    nearest_pairs(texts, sigs, pairs, copies)
    lsh_and_minhash(texts, sigs, pairs, copies)
    sentence_level(original, wire, other)
    seeds_and_pages()


def sweep(texts: dict[str, str], titles: dict[str, str], pairs: list[Pair], copies: set[Pair]) -> None:
    """Shingle size x threshold: pairs grouped without a shared sentence, copies grouped, reprints found."""
    pool = [s for t in texts.values() for s in sentences(t) if len(s) > 60]
    long_docs = [d for d, t in texts.items() if len(sentences(t)) >= 4]
    same_title = [(a, b) for a, b in pairs if titles[a] == titles[b] and (a, b) not in copies]
    for size in (3, 4, 5):
        sized = {doc_id: dedup.signature(text, size) for doc_id, text in texts.items()}
        reprints = {
            (doc_id, rate): dedup.signature(
                reprint(texts[doc_id], random.Random(f"{doc_id}-{rate}"), pool, rate), size
            )
            for doc_id in long_docs
            for rate in (0.0, 0.05, 0.1)
        }
        for threshold in (0.3, 0.4, 0.5, 0.6):
            grouped = {(a, b) for a, b in pairs if dedup.similarity(sized[a], sized[b]) >= threshold}
            line = [
                f"{size}-word shingles, threshold {threshold:.1f}: grouped without a shared sentence {len(grouped - copies)}"
            ]
            line.append(f"of {len(pairs) - len(copies)} other pairs ({sum(p in grouped for p in same_title)}")
            line.append(
                f"of {len(same_title)} same-subject); copies grouped {len(grouped & copies)}/{len(copies)}"
            )
            for rate in (0.0, 0.05, 0.1):
                hits = sum(dedup.similarity(sized[d], reprints[(d, rate)]) >= threshold for d in long_docs)
                line.append(f"reprints ({rate:.0%} words changed) {hits}/{len(long_docs)}")
            print(" ".join(line[:3]) + "; " + "; ".join(line[3:]))


def nearest_pairs(texts: dict[str, str], sigs: dict[str, Any], pairs: list[Pair], copies: set[Pair]) -> None:
    ranked = sorted(((dedup.similarity(sigs[a], sigs[b]), a, b) for a, b in pairs), reverse=True)
    print("the 20 most similar pairs that share no 10+ word sentence (similarity, ids, share of the shorter")
    print("text's characters found in order in the longer one: a version of one text when high):")
    for score, a, b in [r for r in ranked if (r[1], r[2]) not in copies][:20]:
        short, long_ = sorted((texts[a], texts[b]), key=len)
        blocks = difflib.SequenceMatcher(None, short, long_, autojunk=False).get_matching_blocks()
        print(f"  {score:.3f} {a} {b} {sum(b.size for b in blocks) / len(short):.2f}")


def lsh_and_minhash(
    texts: dict[str, str], sigs: dict[str, Any], pairs: list[Pair], copies: set[Pair]
) -> None:
    """The LSH index finds what brute force finds; MinHash estimates Jaccard closely."""
    index = dedup.DuplicateIndex()
    started = time.perf_counter()
    for doc_id, sig in sigs.items():
        index.add(doc_id, sig)
    groups = index.groups()
    elapsed = (time.perf_counter() - started) * 1000
    found = {tuple(sorted((a, b))) for g in groups for a, b in itertools.combinations(g, 2)}
    brute = {(a, b) for a, b in pairs if dedup.similarity(sigs[a], sigs[b]) >= dedup.THRESHOLD}
    print(f"DuplicateIndex (LSH) over the corpus: {len(groups)} groups in {elapsed:.0f} ms; pairs above the")
    print(
        f"threshold {dedup.THRESHOLD} by brute force: {len(brute)}, of which in one LSH group: {len(brute & found)}"
    )
    errors = []
    for a, b in random.Random(7).sample(sorted(copies), min(200, len(copies))):
        exact = len(dedup.shingles(texts[a]) & dedup.shingles(texts[b])) / len(
            dedup.shingles(texts[a]) | dedup.shingles(texts[b])
        )
        errors.append(abs(exact - dedup.jaccard(sigs[a], sigs[b])))
    print(
        f"MinHash vs exact Jaccard on {len(errors)} overlapping pairs: mean abs error {sum(errors) / len(errors):.4f}"
    )


def sentence_level(original: str, wire: str, other: str) -> None:
    keyed = [
        (f"{i}:{n}", s) for i, t in enumerate([original, wire, other]) for n, s in enumerate(sentences(t))
    ]
    groups_s = dedup.sentence_groups(keyed)
    print(f"hand-written stories: {len(groups_s)} sentences shared verbatim after normalisation")
    near = dedup.similar_sentences(sentences(original), sentences(wire))
    print(f"wire copy vs original: {len(near)} near-identical sentence pairs: {near}")
    near_other = dedup.similar_sentences(sentences(original), sentences(other))
    print(f"other story vs original: {len(near_other)} near-identical sentence pairs: {near_other}")


def seeds_and_pages() -> None:
    """What the issue asks to report: duplicate sentences in the seeds plus the test site's article pages."""
    articles = load_articles([ROOT / "seeds"]).articles
    base = "http://127.0.0.1:8000"
    for story in stories():
        with contextlib.suppress(ExtractionError):  # the video page and the paywall stub are refused
            articles.append(extract_page(render(story, base), f"{base}/{story['slug']}").article)
    keyed = [(s.id, s.text) for a in articles for s in a.sentences()]
    groups = dedup.sentence_groups(keyed)
    print(
        f"seeds + test pages: {len(articles)} articles, {len(keyed)} sentences; {len(groups)} sentences printed "
        f"in 2+ articles ({sum(len(ids) - 1 for ids in groups.values())} duplicate copies); near-duplicate "
        f"article groups: {dedup.duplicate_groups({a.doc_id: a.text for a in articles})}"
    )


def _fmt(a: str, b: str) -> str:
    sa, sb = dedup.signature(a), dedup.signature(b)
    return f"similarity {dedup.similarity(sa, sb):.3f} (Jaccard {dedup.jaccard(sa, sb):.3f})"


if __name__ == "__main__":
    main()
