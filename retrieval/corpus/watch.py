"""Keeping feeds in sync: per-feed state (ETag, Last-Modified, items already taken) and "new items only".

The state is one small JSON file in the data dir, replaced atomically, so a watcher killed mid-write never
leaves a broken file. An item counts as seen only once its page is stored (or has failed `max_attempts`
times): a page that fails for a while is tried again on the next round. The feed's validators (ETag,
Last-Modified) are kept only when nothing is left to retry, since a 304 would otherwise hide the retries.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from retrieval.corpus.article import Article, LoadReport
from retrieval.corpus.feeds import Feed, FeedError, FeedItem, load_items, parse_feed
from retrieval.corpus.fetch import Fetcher, FetchError
from retrieval.corpus.pages import MIN_CHARS

MAX_ATTEMPTS = 3
MAX_SEEN = 5000  # per feed; older keys that the feed no longer lists are forgotten first
_INTERVAL = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class WatchStateError(ValueError):
    """A state file that cannot be read (it is left as it is; nothing is overwritten)."""


@dataclass
class FeedState:
    """What a watcher remembers about one feed."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    seen: dict[str, str] = field(default_factory=dict)  # item key -> when it was taken (ISO 8601, UTC)
    attempts: dict[str, int] = field(default_factory=dict)  # item key -> failed attempts so far
    last_checked: str = ""
    last_error: str = ""


@dataclass(frozen=True)
class FeedCheck:
    """One look at a feed: unchanged (304), or its parsed items and which of them are new."""

    url: str
    not_modified: bool
    feed: Feed | None
    new_items: list[FeedItem]
    etag: str | None = None
    last_modified: str | None = None


class WatchState:
    """Every watched feed's state, loaded from and saved to one JSON file."""

    def __init__(self, path: Path, feeds: dict[str, FeedState] | None = None):
        self.path = path
        self.feeds = feeds or {}

    @classmethod
    def load(cls, path: Path) -> WatchState:
        """The saved state, or an empty one when the file does not exist yet."""
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text("utf-8"))
            feeds = {url: FeedState(**value) for url, value in raw["feeds"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WatchStateError(f"{path}: not a khabar watch state file ({exc})") from None
        return cls(path, feeds)

    def feed(self, url: str) -> FeedState:
        """The state of a feed, created on first use."""
        return self.feeds.setdefault(url, FeedState(url=url))

    def save(self) -> None:
        """Write the state atomically: a temporary file in the same folder, flushed, then renamed over."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"version": 1, "feeds": {url: asdict(s) for url, s in self.feeds.items()}}, ensure_ascii=False
        )
        handle, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def check_feed(fetcher: Fetcher, state: FeedState) -> FeedCheck:
    """Fetch a feed with a conditional GET and list the items not taken yet (raises FetchError, FeedError)."""
    state.last_checked = _now()
    fetched = fetcher.get(state.url, etag=state.etag, last_modified=state.last_modified)
    if fetched.not_modified:
        return FeedCheck(state.url, True, None, [], state.etag, state.last_modified)
    feed = parse_feed(fetched.content, fetched.final_url)
    fresh = [item for item in feed.items if item.key not in state.seen]
    return FeedCheck(state.url, False, feed, fresh, fetched.etag, fetched.last_modified)


def record(
    state: FeedState, check: FeedCheck, failed_links: set[str], max_attempts: int = MAX_ATTEMPTS
) -> list[FeedItem]:
    """Remember what a round did: new items whose page was stored become seen, failed ones are retried
    until `max_attempts`. Returns the items given up on this round."""
    state.last_error = ""
    if check.not_modified or check.feed is None:
        return []
    now, given_up = _now(), []
    for item in check.new_items:
        if item.link in failed_links:
            state.attempts[item.key] = state.attempts.get(item.key, 0) + 1
            if state.attempts[item.key] < max_attempts:
                continue
            given_up.append(item)
        state.attempts.pop(item.key, None)
        state.seen[item.key] = now
    if not state.attempts:
        state.etag, state.last_modified = check.etag, check.last_modified
    else:
        state.etag = state.last_modified = None
    _forget_old(state, {item.key for item in check.feed.items})
    return given_up


@dataclass
class SyncResult:
    """One feed's round: unchanged, or the report of its new items' pages; `error` when the feed failed."""

    url: str
    not_modified: bool = False
    report: LoadReport = field(default_factory=LoadReport)
    given_up: list[FeedItem] = field(default_factory=list)
    error: str = ""


def sync_feed(
    fetcher: Fetcher,
    state: WatchState,
    url: str,
    store: Callable[[list[Article]], object],
    max_attempts: int = MAX_ATTEMPTS,
    min_chars: int = MIN_CHARS,
) -> SyncResult:
    """One round for one feed: conditional GET, fetch the new items' pages, `store` them, remember, save.

    If `store` raises, nothing is recorded and the state is not saved, so the next round takes the same
    items again; a feed that cannot be fetched or parsed is reported in `error` and kept for the next round.
    """
    feed_state = state.feed(url)
    try:
        check = check_feed(fetcher, feed_state)
    except (FetchError, FeedError) as exc:
        feed_state.last_error = exc.reason if isinstance(exc, FetchError) else str(exc)
        state.save()
        return SyncResult(url, error=feed_state.last_error)
    if check.not_modified or check.feed is None:
        record(feed_state, check, set(), max_attempts)
        state.save()
        return SyncResult(url, not_modified=True)
    report = load_items(fetcher, check.feed, check.new_items, min_chars)
    if report.articles:
        store(report.articles)
    given_up = record(feed_state, check, {where for where, _ in report.failures}, max_attempts)
    state.save()
    return SyncResult(url, report=report, given_up=given_up)


def _forget_old(state: FeedState, listed: set[str]) -> None:
    if len(state.seen) <= MAX_SEEN:
        return
    old = sorted((when, key) for key, when in state.seen.items() if key not in listed)
    for _, key in old[: len(state.seen) - MAX_SEEN]:
        del state.seen[key]


def parse_interval(value: str) -> int:
    """Seconds in an interval such as "15m", "1h", "1h30m", "90s" or "1d" (a bare number is minutes)."""
    text = value.strip().lower()
    if text.isdigit():
        return int(text) * 60
    parts = _INTERVAL.findall(text)
    if not parts or _INTERVAL.sub("", text).strip():
        raise ValueError(f"cannot read {value!r} as an interval (use 15m, 1h, 1h30m, 90s or 1d)")
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f"interval {value!r} must be longer than zero")
    return seconds


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
