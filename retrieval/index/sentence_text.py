"""Where a sentence record keeps its text, and the one way to read it back.

Since store format 4 a sentence's text is a metadata value (`TEXT_KEY`), not a Chroma document: Chroma writes
every document into a full-text (FTS5 trigram) index as well, which khabar never queries (it never filters by
document text) and which took 1.1 KB per sentence at 60 XQuAD articles, while a metadata string costs what a
document's own row costs (README, "Ingest speed and store size"). Stores of older formats keep their texts in
`documents` until the next ingest moves them (`Indexer.upgrade`); `get_with_texts` reads both, so an older
store answers as before.
"""

from __future__ import annotations

from typing import Any

TEXT_KEY = "text"


def record_text(meta: dict[str, Any] | None, document: str | None) -> str:
    """A sentence record's text, whichever format wrote it (metadata first: a record moved by an interrupted
    upgrade has its text there and an emptied document)."""
    text = (meta or {}).get(TEXT_KEY)
    return str(text) if text else document or ""


def get_with_texts(collection: Any, **kwargs: Any) -> dict[str, Any]:
    """`collection.get(**kwargs)` with each record's text under "texts" (and its metadata included)."""
    if "ids" in kwargs and not kwargs["ids"]:
        return {"ids": [], "metadatas": [], "documents": [], "embeddings": [], "texts": []}
    include = list(kwargs.pop("include", []))
    include += [field for field in ("metadatas", "documents") if field not in include]
    rows = collection.get(include=include, **kwargs)
    documents = rows.get("documents") or [None] * len(rows["ids"])
    rows["texts"] = [record_text(m, d) for m, d in zip(rows["metadatas"], documents, strict=True)]
    return rows
