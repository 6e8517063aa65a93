"""The article manifest: one record per article in the store's `articles` collection, its status (pending while
its sentences are written, complete after), its metadata and the store format that wrote it. Every reader and
writer of that collection goes through here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from retrieval.corpus.article import Article, day_number
from retrieval.corpus.dedup import THRESHOLD, DuplicateIndex, Signature
from retrieval.index.store import Store, StoreError

COMPLETE, PENDING = "complete", "pending"
FORMAT = 4
"""4: sentence texts in their metadata, not in Chroma's documents (`retrieval.index.sentence_text`); 3: records
written directly (only the metadata khabar reads); 2: through llama-index, with the news metadata (url,
published_day, source, skey, planted, minhash); 1 (no `format`): without it. Older formats answer as before and
are rewritten in place by the next ingest (`Indexer.upgrade`); a newer one is refused (`check_format`)."""
DAY_ON_CHUNKS = 2  # the first format whose chunks carry `published_day`
DIRECT_RECORDS = 3  # the first format written without llama-index (its MinHash is kept by an upgrade)


@dataclass(frozen=True)
class ManifestEntry:
    doc_id: str
    title: str
    content_hash: str
    status: str
    sentences: int
    chunks: int
    path: str = ""  # the file it was ingested from (absolute; older stores may hold a relative path)
    url: str = ""
    published: str = ""
    source: str = ""
    minhash: str = ""  # dedup.Signature.encode() of the article's text ("" in records of older versions)
    format: int = 1

    @property
    def published_day(self) -> int:
        """YYYYMMDD, 0 when the article has no date."""
        return day_number(self.published)

    @property
    def from_web(self) -> bool:
        """Fetched from a URL (no file behind it): never taken for a file that is gone."""
        return bool(self.url) and not self.path


def article_record(
    article: Article, status: str, sentences: int, chunks: int, minhash: str
) -> dict[str, str | int]:
    """An article's manifest record: what the store knows of it besides its sentences."""
    return {
        "title": article.title,
        "content_hash": article.content_hash,
        "status": status,
        "sentences": sentences,
        "chunks": chunks,
        "path": article.path,
        "url": article.url,
        "published": article.published,
        "published_day": article.published_day,
        "source": article.source,
        "minhash": minhash,
        "format": FORMAT,
    }


_GENERATION_ID = "generation"


def read_generation(store: Store) -> str:
    """A token that changes whenever any article is written or removed ("" for a store never written)."""
    rows = store.state.get(ids=[_GENERATION_ID], include=["metadatas"])
    return str(rows["metadatas"][0].get("token", "")) if rows["ids"] else ""


def bump_generation(store: Store) -> None:
    """Tell readers (in this or another process) that the manifest changed, so they reload it.

    Reading the whole manifest costs ~0.6 s at 10k articles, far too much per question; this one record is
    what a searcher checks instead.
    """
    store.state.upsert(ids=[_GENERATION_ID], embeddings=[[1.0]], metadatas=[{"token": uuid.uuid4().hex}])


def read_manifest(store: Store) -> dict[str, ManifestEntry]:
    """Every article record in the store, complete or pending."""
    result = store.articles.get(include=["metadatas"])
    entries = {}
    for doc_id, meta in zip(result["ids"], result["metadatas"] or [], strict=False):
        entries[doc_id] = ManifestEntry(
            doc_id=doc_id,
            title=str(meta.get("title", "")),
            content_hash=str(meta.get("content_hash", "")),
            status=str(meta.get("status", PENDING)),
            sentences=int(meta.get("sentences", 0)),
            chunks=int(meta.get("chunks", 0)),
            path=str(meta.get("path", "")),
            url=str(meta.get("url", "")),
            published=str(meta.get("published", "")),
            source=str(meta.get("source", "")),
            minhash=str(meta.get("minhash", "")),
            format=int(meta.get("format", 1)),
        )
    return entries


def complete_entries(store: Store) -> dict[str, ManifestEntry]:
    """The articles search may see: complete ones (a pending one is an ingest in progress or interrupted)."""
    return {k: e for k, e in read_manifest(store).items() if e.status == COMPLETE}


def corpus_fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """Content hash of a corpus: sha256 over sorted (doc id, article content hash); the same for a file and a
    store, so caches keyed by it (BM25, evaluation stores) can never disagree with what they index."""
    payload = "\n".join(f"{doc_id}\t{content}" for doc_id, content in sorted(pairs))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def duplicate_index(manifest: dict[str, ManifestEntry], threshold: float = THRESHOLD) -> DuplicateIndex:
    """The complete articles' MinHash signatures, ready to find copies of an article or every copy group."""
    index = DuplicateIndex(threshold)
    for doc_id, entry in manifest.items():
        if entry.status == COMPLETE and entry.minhash:
            try:
                index.add(doc_id, Signature.decode(entry.minhash))
            except ValueError:
                continue  # a signature of another version cannot be compared
    return index


def check_format(newest: int, location: str) -> None:
    """Refuse a store written by a newer khabar (`newest`: the highest record format in it): its records may
    mean what this version cannot read."""
    if newest > FORMAT:
        raise StoreError(
            f"The store at {location} was written by a newer khabar (store format {newest}; this one reads "
            f"up to {FORMAT}). Upgrade khabar, or rebuild into an empty store: "
            "KHABAR_DATA_DIR=<new folder> khabar ingest <your articles>."
        )


def store_format_notice(store: Store) -> str:
    """One line about a store written by another version of khabar ("" for this version's): a newer format is
    refused (raises StoreError); an older one answers as before and is rewritten by the next ingest.

    Two one-record reads, not the manifest: records of format 1 have no `format` key (the filter misses
    them; they answer and are upgraded like format 2)."""
    newer = store.articles.get(where={"format": {"$gt": FORMAT}}, limit=1, include=["metadatas"])
    if newer["ids"]:
        check_format(int(newer["metadatas"][0]["format"]), store.location)
    older = store.articles.get(where={"format": {"$lt": FORMAT}}, limit=1, include=["metadatas"])
    if not older["ids"] or store.read_only:
        return ""
    return (
        f"The store at {store.location} was written by an older khabar (store format "
        f"{older['metadatas'][0]['format']}, now {FORMAT}): it answers as before; the next "
        "`khabar ingest PATH` rewrites its records in place (nothing is re-embedded)."
    )


def has_complete_article(store: Store) -> bool:
    """Whether search has anything to see: one filtered record, not the manifest."""
    return bool(store.articles.get(where={"status": COMPLETE}, limit=1)["ids"])
