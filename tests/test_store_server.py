"""The same pipeline against a real Chroma server started with `chroma run` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.pipeline import Khabar
from retrieval.store import StoreError, open_store
from tests.conftest import SEEDS, make_settings

CHROMA = str(Path(sys.executable).with_name("chroma"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    proc = subprocess.Popen(
        [CHROMA, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            open_store(path, url, "probe")
            break
        except StoreError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(
                    f"chroma server did not start: {(path / 'server.log').read_text()}"
                ) from None
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_server_mode_ingests_and_answers_like_embedded(
    chroma_url: str, tmp_path: Path, seeded_kb: Khabar
) -> None:
    kb = Khabar(make_settings(tmp_path, chroma_url=chroma_url))
    stats = kb.ingest([SEEDS])
    assert (stats.added, stats.failures) == (2, [])
    assert kb.stats().location == chroma_url
    assert kb.stats().sentences == seeded_kb.stats().sentences
    again = kb.ingest([SEEDS])
    assert (again.added, again.skipped, again.sentences) == (0, 2, 0)

    question = "How many drones were used in the attack on Kadhimi's house?"
    remote, local = kb.ask(question), seeded_kb.ask(question)
    assert [c.sentence_id for c in remote.citations] == [c.sentence_id for c in local.citations]
    assert remote.answer == local.answer


def test_unreachable_server_gives_one_clear_line(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(StoreError) as info:
        open_store(tmp_path, f"http://127.0.0.1:{port}")
    message = str(info.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "chroma run" in message and "KHABAR_CHROMA_URL" in message
    assert "\n" not in message
