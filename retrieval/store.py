"""Chroma, embedded (PersistentClient in the data dir) or a server (HttpClient); the source of truth."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb
from chromadb.config import Settings as ChromaSettings


class StoreError(RuntimeError):
    """The store cannot be opened; the message says what to do."""


@dataclass
class Store:
    """The collections: sentences and chunks (embedded), a manifest of articles, and a change marker."""

    client: Any
    sentences: Any
    chunks: Any
    articles: Any
    state: Any
    location: str


def open_store(data_dir: Path, chroma_url: str | None = None, prefix: str = "khabar") -> Store:
    """Open (creating if needed) khabar's collections, in cosine space, with no Chroma embedding function."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        parsed = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 8000
        location = f"{parsed.scheme}://{host}:{port}"
        try:
            client = chromadb.HttpClient(
                host=host, port=port, ssl=parsed.scheme == "https", settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {location} ({type(exc).__name__}). "
                "Start it (`chroma run --path DIR --port PORT`) or unset KHABAR_CHROMA_URL to use the embedded store."
            ) from None
    else:
        path = Path(data_dir) / "chroma"
        location = str(path.resolve())
        try:
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:
            raise StoreError(
                f"Cannot open the store at {location}: {exc}. Set KHABAR_DATA_DIR to a writable folder."
            ) from None
    space = {"hnsw:space": "cosine"}
    try:
        collections = [
            client.get_or_create_collection(f"{prefix}_{name}", metadata=space, embedding_function=None)
            for name in ("sentences", "chunks", "articles", "state")
        ]
    except Exception as exc:
        raise StoreError(f"Cannot open collections in the store at {location}: {exc}") from None
    return Store(client, *collections, location=location)
