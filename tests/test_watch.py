"""Feed sync state: new items only, conditional GET, retries of failed pages, an atomic state file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.corpus.fetch import Fetcher
from retrieval.corpus.watch import WatchState, WatchStateError, check_feed, parse_interval, sync_feed
from tests.news_site import NewsSite


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite() as running:
        yield running


def _round(
    fetcher: Fetcher, state: WatchState, url: str, stored: list | None = None
) -> tuple[bool, list[str], list[str]]:
    result = sync_feed(fetcher, state, url, (stored if stored is not None else []).extend, max_attempts=2)
    assert result.error == ""
    return result.not_modified, [a.title for a in result.report.articles], [i.link for i in result.given_up]


def test_new_items_only_then_not_modified(site: NewsSite, tmp_path: Path) -> None:
    path, url = tmp_path / "watch_state.json", site.url("sahil/atom.xml")
    with Fetcher() as fetcher:
        unchanged, titles, given_up = _round(fetcher, WatchState.load(path), url)
        assert not unchanged and len(titles) == 2 and given_up == []
        state = WatchState.load(path)  # as a new process would
        assert len(state.feed(url).seen) == 2 and state.feed(url).attempts == {
            "tag:alsahel.example,2021:banks-plan": 1
        }
        assert state.feed(url).etag is None  # a retry is pending: the next round must get the whole feed
        unchanged, titles, given_up = _round(fetcher, state, url)
        assert titles == [] and given_up == [site.url("sahil/2021/11/11/banks-plan.html")]
        assert (
            site.hits["/sahil/2021/11/10/tomato-prices.html"] == 1
        )  # a page taken once is not fetched again
        state = WatchState.load(path)
        assert len(state.feed(url).seen) == 3 and state.feed(url).etag
        unchanged, titles, _ = _round(fetcher, state, url)
        assert unchanged and titles == []
        assert site.hits["/sahil/2021/11/11/banks-plan.html"] == 2


def test_last_modified_alone_is_enough(site: NewsSite, tmp_path: Path) -> None:
    state, url = WatchState.load(tmp_path / "w.json"), site.url("basra/rss.php")
    with Fetcher() as fetcher:
        assert _round(fetcher, state, url)[1] != []
        assert state.feed(url).last_modified and state.feed(url).etag is None
        assert _round(fetcher, state, url)[0]  # 304


def test_a_new_item_appears_in_the_feed(site: NewsSite, tmp_path: Path) -> None:
    url = site.url("rafidain/rss.xml")
    feed = site.routes["/rafidain/rss.xml"]
    original = feed.body
    feed.body = re.sub(rb"<item>.*?</item>", b"", original, count=1, flags=re.S)  # the video item not out yet
    feed.headers["ETag"] = '"older"'
    state = WatchState.load(tmp_path / "w.json")
    with Fetcher() as fetcher:
        _round(fetcher, state, url)
        feed.body, feed.headers["ETag"] = original, '"newer"'
        check = check_feed(fetcher, state.feed(url))
        # the new video item, and the deleted page (404) that waits for its second attempt
        assert [i.key for i in check.new_items] == ["rafidain-58122", "rafidain-58100"]


def test_a_failed_store_records_nothing_and_a_dead_feed_is_reported(site: NewsSite, tmp_path: Path) -> None:
    path, url = tmp_path / "w.json", site.url("sahil/atom.xml")

    def crash(articles: list) -> None:
        raise OSError("disk full")

    with Fetcher() as fetcher:
        with pytest.raises(OSError):
            sync_feed(fetcher, WatchState.load(path), url, crash)
        assert not path.exists()  # nothing was taken, so nothing is remembered
        stored: list = []
        assert len(_round(fetcher, WatchState.load(path), url, stored)[1]) == 2 and len(stored) == 2
        dead = sync_feed(fetcher, WatchState.load(path), site.url("gone.xml"), stored.extend)
        assert dead.error == "HTTP 404 Not Found"
        assert WatchState.load(path).feed(site.url("gone.xml")).last_error == "HTTP 404 Not Found"


def test_a_broken_state_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "watch_state.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(WatchStateError, match="not a khabar watch state file"):
        WatchState.load(path)
    assert path.read_text("utf-8") == "{not json"


def test_the_state_file_is_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "data" / "watch_state.json"
    state = WatchState.load(path)
    state.feed("http://a/feed").seen["x"] = "2021-11-08T00:00:00+00:00"
    state.save()
    state.save()
    assert json.loads(path.read_text("utf-8"))["feeds"]["http://a/feed"]["seen"] == {
        "x": "2021-11-08T00:00:00+00:00"
    }
    assert [p.name for p in path.parent.iterdir()] == ["watch_state.json"]  # no temporary files left


@pytest.mark.parametrize(
    ("value", "seconds"), [("15m", 900), ("1h", 3600), ("1h30m", 5400), ("90s", 90), ("10", 600)]
)
def test_intervals(value: str, seconds: int) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize("value", ["", "0m", "soon", "15 minutes"])
def test_bad_intervals(value: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_interval(value)
