"""Where else a quoted sentence was printed: the other outlets of a wire story, for a citation's `also_in`.

Two ways, both decided from what ingest stored. The same sentence (up to diacritics, letter forms, digits and
punctuation: `retrieval.corpus.dedup.sentence_key`) in another article is found by its key, anywhere in the store. A
near-identical sentence (a word or two changed, the same numbers and negations: `dedup.similar_sentences`) is
looked for only in the articles that copy the cited one as a whole (MinHash, `dedup.DuplicateIndex`): across
unrelated articles a sentence that is merely similar is not a copy, and "also reported by" must never be false.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from retrieval.corpus.dedup import THRESHOLD, DuplicateIndex, Signature, sentence_key, similar_sentences
from retrieval.index.manifest import ManifestEntry, duplicate_index
from retrieval.index.sentence_text import get_with_texts
from retrieval.index.store import Store


@dataclass(frozen=True)
class Copy:
    """Another article printing the sentence: which one, its outlet, link and date ("" when unknown)."""

    doc_id: str
    sentence_id: str
    source: str
    url: str
    published: str

    def to_dict(self) -> dict[str, str | None]:
        """As `--json` shows it: unknown values are null."""
        return {key: value or None for key, value in asdict(self).items()}


class WireCopies:
    """Finds the copies of a sentence in a store; the near-duplicate index is rebuilt when the manifest is."""

    def __init__(self, store: Store, threshold: float = THRESHOLD):
        self.store = store
        self.threshold = threshold
        self._manifest: dict[str, ManifestEntry] | None = None
        self._index = DuplicateIndex(threshold)

    def find(self, manifest: dict[str, ManifestEntry], doc_id: str, text: str, skey: str = "") -> list[Copy]:
        """The other complete articles that print `text` (a sentence of `doc_id`), earliest published first."""
        key = skey or sentence_key(text) or ""
        found: dict[str, Copy] = {}
        if key:
            rows = self.store.sentences.get(where={"skey": key}, include=["metadatas"])
            for sid, meta in zip(rows["ids"], rows["metadatas"] or [], strict=False):
                other = str(meta.get("doc_id", ""))
                if other != doc_id and other in manifest and other not in found:
                    found[other] = _copy(manifest[other], sid)
        for other, sid in self._near_identical(manifest, doc_id, text, set(found)):
            found[other] = _copy(manifest[other], sid)
        return sorted(found.values(), key=lambda c: (not c.published, c.published, c.doc_id))

    def _near_identical(
        self, manifest: dict[str, ManifestEntry], doc_id: str, text: str, known: set[str]
    ) -> list[tuple[str, str]]:
        entry = manifest.get(doc_id)
        if entry is None or not entry.minhash:
            return []
        if manifest is not self._manifest:
            self._manifest, self._index = manifest, duplicate_index(manifest, self.threshold)
        try:
            own = Signature.decode(entry.minhash)
        except ValueError:
            return []
        others = [d for d, _ in self._index.matches(own, exclude=doc_id) if d not in known and d in manifest]
        pairs = []
        for other in others:
            ids = [f"{other}:{n}" for n in range(manifest[other].sentences)]
            rows = get_with_texts(self.store.sentences, ids=ids)
            texts = rows["texts"]
            for _, j, _ in similar_sentences([text], texts):
                pairs.append((other, rows["ids"][j]))
        return pairs


def _copy(entry: ManifestEntry, sentence_id: str) -> Copy:
    return Copy(entry.doc_id, sentence_id, entry.source, entry.url, entry.published)
