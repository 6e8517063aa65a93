"""Chroma, embedded (PersistentClient in the data dir) or a server (HttpClient); the source of truth.

Every call khabar makes on a collection goes through `GuardedCollection`, which turns the ways a store fails
at run time (a server that stops answering or goes away, an embedded store changed by another process, a
read-only database) into one `StoreUnavailable` whose message is the line a user sees. Calls to a server are
bounded by a timeout: chromadb 1.5 creates its httpx session with `timeout=None`, so the session's timeout is
set after the client is made (and the server is probed with a bounded request before that).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, InternalError
from filelock import FileLock
from filelock import Timeout as LockTimeout

DEFAULT_TIMEOUT = 30.0
# held while a process opens (creates) the embedded store, and while compacting it
OPEN_LOCK = "khabar-open.lock"
SQLITE_FILE = "chroma.sqlite3"
FULL_TEXT_TABLE = "embedding_fulltext_search"  # Chroma's FTS5 index of documents (empty in store format 4)
_INCREMENTAL = 2  # PRAGMA auto_vacuum value


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message is one line that says what to do."""


class StoreUnavailable(StoreError):
    """A call on an open store failed for a reason outside khabar (server gone or frozen, store changed by
    another process); asking again later may work, after `Khabar.reopen`."""


@dataclass
class Store:
    """The collections: sentences and chunks (embedded), a manifest of articles, and a change marker.

    `read_only`: the data dir cannot be written, and these collections are a temporary copy of it (`notice`
    says so); nothing may be ingested.
    """

    client: ClientAPI
    sentences: GuardedCollection
    chunks: GuardedCollection
    articles: GuardedCollection
    state: GuardedCollection
    location: str
    server: bool = False
    read_only: bool = False
    notice: str = ""


class GuardedCollection:
    """A Chroma collection whose calls raise `StoreUnavailable` (one clear line) when the store fails."""

    def __init__(self, collection: Any, location: str, server: bool, timeout: float):
        self._collection = collection
        self._location = location
        self._server = server
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except Exception as exc:
                message = describe_failure(exc, self._location, self._server, self._timeout)
                if message is None:
                    raise
                raise StoreUnavailable(message) from exc

        return guarded


def describe_failure(exc: BaseException, location: str, server: bool, timeout: float) -> str | None:
    """The line to show for a store failure that is not khabar's bug, or None for anything else."""
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"The Chroma server at {location} did not answer within {timeout:g} s (KHABAR_STORE_TIMEOUT): "
            "it is stopped, frozen or overloaded."
        )
    if isinstance(exc, httpx.TransportError):
        return (
            f"Lost the Chroma server at {location} ({type(exc).__name__}). Start it again "
            "(`chroma run --path DIR --port PORT`); khabar reconnects on the next question."
        )
    if isinstance(exc, ChromaError):
        detail = " ".join(str(exc).split())[:200]
        if "readonly" in detail.replace(" ", "").lower():
            return f"The store at {location} is read-only ({detail})."
        if not isinstance(exc, InternalError):  # a bad request or a missing collection is a bug: let it show
            return None
        if server:
            return f"The Chroma server at {location} failed: {detail}"
        return (
            f"The store at {location} was changed by another process while this one read it ({detail}). "
            "Ask again; to read while ingesting, share the store through a Chroma server (KHABAR_CHROMA_URL)."
        )
    return None


def read_only_error(location: str) -> StoreError:
    """What an ingest into a read-only store is told."""
    return StoreError(
        f"The store at {location} is read-only: cannot write to it. "
        "Make it writable, or set KHABAR_DATA_DIR to a writable folder."
    )


def open_store(
    data_dir: Path,
    chroma_url: str | None = None,
    prefix: str = "khabar",
    timeout: float = DEFAULT_TIMEOUT,
    writable: bool = False,
) -> Store:
    """Open (creating if needed) khabar's collections, in cosine space, with no Chroma embedding function.

    `timeout` bounds every request to a server. An embedded store in a read-only data dir is opened from a
    temporary copy, unless `writable` is asked for (ingest), which is then refused with one line.
    """
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    read_only, notice = False, ""
    opening: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    if chroma_url:
        client, location = _server_client(chroma_url, chroma_settings, timeout)
    else:
        path = Path(data_dir) / "chroma"
        location = str(path.resolve())
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot open the store at {location}: {exc.strerror or exc}. "
                "Set KHABAR_DATA_DIR to a writable folder."
            ) from None
        open_path = path
        if not _writable(path):
            if writable:
                raise read_only_error(location)
            open_path, notice = _temporary_copy(path, location)
            read_only = True
        else:
            # Chroma creates its tables on first open without a lock of its own: processes that open a new
            # store at once ("table collections already exists") take turns here.
            opening = FileLock(str(path / OPEN_LOCK), timeout=max(timeout, 60.0))
        try:
            with opening:
                client, collections = _open_embedded(open_path, location, chroma_settings, prefix, timeout)
        except LockTimeout:
            raise StoreError(
                f"Another process kept the store at {location} locked while opening it."
            ) from None
    if chroma_url:
        collections = _collections(client, location, True, prefix, timeout)
    guarded = [GuardedCollection(c, location, bool(chroma_url), timeout) for c in collections]
    return Store(
        client, *guarded, location=location, server=bool(chroma_url), read_only=read_only, notice=notice
    )


def _open_embedded(
    path: Path, location: str, chroma_settings: ChromaSettings, prefix: str, timeout: float
) -> tuple[Any, list[Any]]:
    try:
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"Cannot open the store at {location}: {exc}. Set KHABAR_DATA_DIR to a writable folder."
        ) from None
    return client, _collections(client, location, False, prefix, timeout)


def _collections(client: Any, location: str, server: bool, prefix: str, timeout: float) -> list[Any]:
    """khabar's collections, created if missing, in cosine space and with no Chroma embedding function."""
    space = {"hnsw:space": "cosine"}
    try:
        return [
            client.get_or_create_collection(f"{prefix}_{name}", metadata=space, embedding_function=None)
            for name in ("sentences", "chunks", "articles", "state")
        ]
    except Exception as exc:
        message = describe_failure(exc, location, server, timeout)
        raise StoreError(message or f"Cannot open collections in the store at {location}: {exc}") from None


def _server_client(chroma_url: str, chroma_settings: ChromaSettings, timeout: float) -> tuple[Any, str]:
    """An HttpClient whose every request is bounded by `timeout` seconds."""
    parsed = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 8000
    location = f"{parsed.scheme}://{host}:{port}"
    bounds = httpx.Timeout(timeout, connect=min(timeout, 10.0))
    try:
        # chromadb's own client sends its first requests with no timeout: probe with a bounded one first.
        httpx.get(f"{location}/api/v2/heartbeat", timeout=bounds).raise_for_status()
        client = chromadb.HttpClient(
            host=host, port=port, ssl=parsed.scheme == "https", settings=chroma_settings
        )
        client._server._session.timeout = bounds  # chromadb 1.5 hardcodes timeout=None and exposes no setting
        client.heartbeat()
    except httpx.TimeoutException:
        raise StoreError(describe_failure(httpx.TimeoutException(""), location, True, timeout)) from None
    except Exception as exc:
        raise StoreError(
            f"Cannot reach the Chroma server at {location} ({type(exc).__name__}). "
            "Start it (`chroma run --path DIR --port PORT`) or unset KHABAR_CHROMA_URL to use the embedded store."
        ) from None
    return client, location


def _writable(path: Path) -> bool:
    """Whether the store folder (and its database) can be written: tried, since root ignores permissions
    but not a read-only mount."""
    probe = path / f".write-probe-{os.getpid()}"
    try:
        probe.touch()
        probe.unlink()
    except OSError:
        return False
    database = path / "chroma.sqlite3"
    return not database.exists() or os.access(database, os.W_OK)


def _temporary_copy(path: Path, location: str) -> tuple[Path, str]:
    """A private copy of a read-only store (Chroma writes even to read), removed when the process ends."""
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    scratch = Path(tempfile.gettempdir())
    free = shutil.disk_usage(scratch).free
    if size * 1.2 > free:
        raise StoreError(
            f"The store at {location} is read-only, and a temporary copy ({size / 1e6:,.0f} MB) does not fit "
            f"in {scratch} ({free / 1e6:,.0f} MB free). Make it writable, or set TMPDIR to a larger folder."
        )
    folder = Path(tempfile.mkdtemp(prefix="khabar-readonly-"))
    atexit.register(shutil.rmtree, folder, True)
    try:
        shutil.copytree(path, folder / "chroma", ignore=shutil.ignore_patterns(".write-probe-*"))
    except OSError as exc:
        raise StoreError(f"Cannot read the store at {location}: {exc.strerror or exc}.") from None
    notice = (
        f"The store at {location} is read-only: answering from a temporary copy ({size / 1e6:,.1f} MB); "
        "`khabar ingest` needs a writable KHABAR_DATA_DIR."
    )
    return folder / "chroma", notice


@dataclass
class Compaction:
    """What compacting an embedded store did: bytes given back to the file system, how long it took, and, when
    it could not run, the one line that says why (the store is then exactly as it was, and still usable)."""

    reclaimed: int = 0
    seconds: float = 0.0
    full: bool = False  # the one-time full VACUUM that switches a store to incremental vacuuming
    error: str = ""


def compact(store: Store, timeout: float = 5.0, rebuild: bool = False) -> Compaction:
    """Give the pages of deleted rows back to the file system: Chroma's SQLite file never shrinks by itself
    (rows of replaced or removed articles and write-ahead queue rows that Chroma prunes become free pages).

    The first compaction of a store switches its database to `auto_vacuum = INCREMENTAL` with one full VACUUM
    (time grows with the file); every later one runs `PRAGMA incremental_vacuum` (time grows with the pages
    freed). Both are SQLite transactions: they change no row and no id, so another process reading the store
    keeps working, and one that fails (a process in the middle of a write, a full disk) leaves the file as it
    was. The store's open lock is held meanwhile, so no process creates Chroma's tables at the same time.
    HNSW files are Chroma's and untouched. A server store is the server's business: nothing is done.

    `rebuild` (after an upgrade rewrote every record in place): merge Chroma's full-text index (FTS5
    'optimize': the same rows, its deleted entries dropped; an emptied document otherwise keeps its old
    text's entries) and run a full VACUUM, which packs the pages the rewrite left half full (incremental
    vacuuming only gives back whole free pages).
    """
    if store.server or store.read_only:
        return Compaction()
    folder = Path(store.location)
    database = folder / SQLITE_FILE
    start = time.perf_counter()
    before = _file_size(database)
    result = Compaction()
    try:
        with FileLock(str(folder / OPEN_LOCK), timeout=timeout):
            db = sqlite3.connect(database, timeout=timeout, isolation_level=None)
            try:
                if (
                    rebuild
                    and db.execute(
                        "SELECT 1 FROM sqlite_master WHERE name = ?", (FULL_TEXT_TABLE,)
                    ).fetchone()
                ):
                    db.execute(f"INSERT INTO {FULL_TEXT_TABLE}({FULL_TEXT_TABLE}) VALUES ('optimize')")
                if rebuild or db.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
                    db.execute(f"PRAGMA auto_vacuum = {_INCREMENTAL}")
                    db.execute("VACUUM")
                    result.full = True
                else:
                    db.executescript("PRAGMA incremental_vacuum;")  # run to the end: one step frees one page
            finally:
                db.close()
    except LockTimeout:
        result.error = f"Did not compact the store at {store.location}: another process kept it locked."
    except (sqlite3.Error, OSError) as exc:
        detail = " ".join(str(exc).split())[:200]
        result.error = (
            f"Did not compact the store at {store.location} ({detail}); it is unchanged and usable, and the "
            "next ingest tries again."
        )
    result.reclaimed = max(0, before - _file_size(database))
    result.seconds = time.perf_counter() - start
    return result


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
