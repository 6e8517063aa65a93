"""Wire copies: the same story under several outlets, recognised from the normalised text.

Two levels. A sentence copied verbatim (up to diacritics, alef/yaa forms, digits, punctuation and a
leading "و") gets the same `sentence_key`, which phase-2 ingest stores per sentence so an answer can list
every outlet that printed it. Whole articles are compared by MinHash over word shingles of
`retrieval.text.arabic.normalize`d text: a story reprinted with a new intro line, an attribution, a dropped or
added paragraph or a few changed words stays close, while two different stories about the same event
share names and places but few runs of four words. Signatures are small (128 values) and stable across
runs and machines (fixed hash seeds), so they can be stored with each article and compared later.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from retrieval.text.arabic import normalize

SHINGLE_WORDS = 4
NUM_PERM = 128
# 64 bands of 2 rows: a pair with Jaccard 0.2 (an excerpt of a fifth of a long story) becomes a candidate
# with probability 0.93, unrelated texts (Jaccard < 0.02) almost never.
BANDS = 64
# Least `similarity` for two articles to be one story. On the 471 eval paragraphs every pair of versions
# of one text scored >= 0.65 and every other pair <= 0.2 (benchmarks/dedup_precision.py).
THRESHOLD = 0.4
MIN_SENTENCE_WORDS = 6  # shorter sentences ("وأضاف:", "Reporting by ...") say nothing about copying

_WORD = re.compile(r"\w+")
_PRIME = np.uint64((1 << 61) - 1)
_MASK = np.uint64(0xFFFFFFFF)
_rng = np.random.RandomState(20211107)  # fixed: stored signatures must stay comparable
_A = _rng.randint(1, 1 << 61, size=NUM_PERM, dtype=np.uint64)
_B = _rng.randint(0, 1 << 61, size=NUM_PERM, dtype=np.uint64)
_VERSION = "mh1"


def words(text: str) -> list[str]:
    """Normalised word tokens (no stemming or stopword removal: copying is about the exact wording)."""
    return _WORD.findall(normalize(text))


def sentence_key(text: str) -> str | None:
    """A key equal for sentences that are the same after normalisation (punctuation and a leading "و"
    ignored); None for sentences too short to show copying."""
    tokens = words(text)
    if len(tokens) < MIN_SENTENCE_WORDS:
        return None
    if tokens[0].startswith("و") and len(tokens[0]) > 3:
        tokens[0] = tokens[0][1:]
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()[:16]


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Runs of `size` consecutive normalised words (a text shorter than that is one shingle)."""
    tokens = words(text)
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


@dataclass(frozen=True)
class Signature:
    """A MinHash signature of an article's shingles and how many shingles it had (for containment)."""

    values: np.ndarray
    size: int

    def encode(self) -> str:
        """A short string for a metadata field: "mh1:<size>:<base64 of 128 uint32>"."""
        packed = base64.b64encode(self.values.astype("<u4").tobytes()).decode("ascii")
        return f"{_VERSION}:{self.size}:{packed}"

    @classmethod
    def decode(cls, text: str) -> Signature:
        version, size, packed = text.split(":", 2)
        if version != _VERSION:
            raise ValueError(f"unknown signature version {version!r}")
        values = np.frombuffer(base64.b64decode(packed), dtype="<u4").astype(np.uint64)
        return cls(values, int(size))


def signature(text: str, size: int = SHINGLE_WORDS) -> Signature:
    """The MinHash signature of a text's word shingles (compare only signatures made with one `size`)."""
    items = shingles(text, size)
    if not items:
        return Signature(np.full(NUM_PERM, int(_MASK), dtype=np.uint64), 0)
    hashes = np.array(
        [int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=4).digest(), "little") for s in items],
        dtype=np.uint64,
    )
    permuted = ((np.outer(hashes, _A) + _B) % _PRIME) & _MASK  # wraps in uint64 like datasketch; still a hash
    return Signature(permuted.min(axis=0), len(items))


def jaccard(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets (standard error about 0.04 at 128 values)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    return float(np.mean(a.values == b.values))


def similarity(a: Signature, b: Signature) -> float:
    """How much of the shorter text the longer one contains (estimated from Jaccard and the set sizes).

    Containment rather than plain Jaccard: an outlet that prints only the first half of a wire story,
    or adds two paragraphs of its own, has a low Jaccard with the original but still copies it.
    """
    j = jaccard(a, b)
    if j == 0.0:
        return 0.0
    shared = j * (a.size + b.size) / (1 + j)
    return min(1.0, shared / min(a.size, b.size))


def _bands(sig: Signature) -> list[bytes]:
    rows = NUM_PERM // BANDS
    return [sig.values[i * rows : (i + 1) * rows].tobytes() for i in range(BANDS)]


class DuplicateIndex:
    """Articles' signatures with locality-sensitive hashing: near-duplicates of a new article in about
    constant time, and duplicate groups over the whole corpus for `khabar stats`."""

    def __init__(self, threshold: float = THRESHOLD, min_shingles: int = 20):
        self.threshold = threshold
        self.min_shingles = min_shingles  # a few lines of text are too short to call copies
        self.signatures: dict[str, Signature] = {}
        self._buckets: dict[tuple[int, bytes], set[str]] = {}

    def add(self, doc_id: str, sig: Signature) -> None:
        self.remove(doc_id)
        self.signatures[doc_id] = sig
        for band, key in enumerate(_bands(sig)):
            self._buckets.setdefault((band, key), set()).add(doc_id)

    def remove(self, doc_id: str) -> None:
        sig = self.signatures.pop(doc_id, None)
        if sig is None:
            return
        for band, key in enumerate(_bands(sig)):
            bucket = self._buckets.get((band, key))
            if bucket:
                bucket.discard(doc_id)

    def matches(self, sig: Signature, exclude: str = "") -> list[tuple[str, float]]:
        """Stored articles that are copies of (or copied by) an article with this signature, best first."""
        if sig.size < self.min_shingles:
            return []
        candidates: set[str] = set()
        for band, key in enumerate(_bands(sig)):
            candidates |= self._buckets.get((band, key), set())
        candidates.discard(exclude)
        scored = [
            (doc_id, similarity(sig, self.signatures[doc_id]))
            for doc_id in candidates
            if self.signatures[doc_id].size >= self.min_shingles
        ]
        return sorted(((d, s) for d, s in scored if s >= self.threshold), key=lambda p: (-p[1], p[0]))

    def groups(self) -> list[list[str]]:
        """Groups of two or more articles linked by copying (connected components), largest first."""
        parent = {doc_id: doc_id for doc_id in self.signatures}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for doc_id, sig in self.signatures.items():
            for other, _ in self.matches(sig, exclude=doc_id):
                parent[find(other)] = find(doc_id)
        members: dict[str, list[str]] = {}
        for doc_id in self.signatures:
            members.setdefault(find(doc_id), []).append(doc_id)
        return sorted((sorted(m) for m in members.values() if len(m) > 1), key=lambda g: (-len(g), g[0]))


def duplicate_groups(texts: Mapping[str, str], threshold: float = THRESHOLD) -> list[list[str]]:
    """Near-duplicate groups among articles given as doc_id -> text."""
    index = DuplicateIndex(threshold)
    for doc_id, text in texts.items():
        index.add(doc_id, signature(text))
    return index.groups()


def sentence_groups(sentences: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Sentences (id, text) that are the same after normalisation: key -> ids, for keys with 2+ sentences."""
    by_key: dict[str, list[str]] = {}
    for sentence_id, text in sentences:
        key = sentence_key(text)
        if key is not None:
            by_key.setdefault(key, []).append(sentence_id)
    return {key: ids for key, ids in by_key.items() if len(ids) > 1}


_NEGATIONS = {normalize(w) for w in "لا لم لن ليس ليست غير not no never without".split()}


def _facts(tokens: set[str]) -> set[str]:
    """Words whose change changes what a sentence says: numbers and negations."""
    return {t for t in tokens if t.isdigit() or t in _NEGATIONS}


def similar_sentences(
    left: list[str], right: list[str], threshold: float = 0.7
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, score) of near-identical sentences of two articles (a word or two changed), by the
    Jaccard similarity of their normalised word sets; each sentence pairs with at most one other.

    Sentences whose numbers or negations differ never pair: "500 m3/s" and "600 m3/s" are not the same
    report, however similar the rest.
    """
    left_sets = [set(words(s)) for s in left]
    right_sets = [set(words(s)) for s in right]
    scored = []
    for i, a in enumerate(left_sets):
        if len(a) < MIN_SENTENCE_WORDS:
            continue
        for j, b in enumerate(right_sets):
            if len(b) < MIN_SENTENCE_WORDS or _facts(a) != _facts(b):
                continue
            score = len(a & b) / len(a | b)
            if score >= threshold:
                scored.append((score, i, j))
    pairs, used_left, used_right = [], set(), set()
    for score, i, j in sorted(scored, reverse=True):
        if i not in used_left and j not in used_right:
            pairs.append((i, j, round(score, 3)))
            used_left.add(i)
            used_right.add(j)
    return sorted(pairs)
