"""The same pipeline against a real Chroma server started with `chroma run` on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.index.store import StoreError, open_store
from retrieval.pipeline import Khabar
from tests.chat_process import KHABAR, ChatProcess
from tests.conftest import SEEDS, as_format_3, make_settings
from tests.test_store_format import QUESTION, assert_upgraded_in_place, full_text

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


# ---- a server that freezes or vanishes -------------------------------------------------------------


class ServerProcess:
    """A `chroma run` of the test's own, which the test may freeze (SIGSTOP), kill and start again."""

    def __init__(self, path: Path):
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.path / "server.log").open("a")
        self.proc = subprocess.Popen(
            [CHROMA, "run", "--path", str(self.path / "db"), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                open_store(self.path, self.url, "probe", timeout=2)
                return
            except StoreError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError((self.path / "server.log").read_text()) from None
                time.sleep(0.3)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def own_server(tmp_path: Path, seeded_kb: Khabar) -> Iterator[ServerProcess]:
    """A server holding the seeds, copied record by record from the embedded test store (nothing re-embedded)."""
    server = ServerProcess(tmp_path)
    server.start()
    target = open_store(tmp_path, server.url)
    for name in ("sentences", "chunks", "articles", "state"):
        rows = getattr(seeded_kb.store, name).get(include=["metadatas", "embeddings"])
        getattr(target, name).add(ids=rows["ids"], metadatas=rows["metadatas"], embeddings=rows["embeddings"])
    yield server
    if server.proc and server.proc.poll() is None:
        server.signal(signal.SIGCONT)
        server.kill()


def test_frozen_server_gives_one_line_within_the_timeout_and_chat_survives_it_and_a_restart(
    own_server: ServerProcess, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "KHABAR_DATA_DIR": str(tmp_path / "data"),
        "KHABAR_SEEDS_DIR": str(SEEDS),
        "KHABAR_CHROMA_URL": own_server.url,
        "KHABAR_STORE_TIMEOUT": "2",
    }
    frozen = f"error: The Chroma server at {own_server.url} did not answer within 2 s (KHABAR_STORE_TIMEOUT)"
    own_server.signal(signal.SIGSTOP)
    try:
        asked = subprocess.run(
            [KHABAR, "ask", "Who met Kadhimi in Baghdad?"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    finally:
        own_server.signal(signal.SIGCONT)
    assert asked.returncode == 1
    assert asked.stderr.startswith(frozen) and asked.stderr.count("\n") == 1, asked.stderr

    with ChatProcess(env) as chat:
        assert "[1]" in chat.say("من هو قاآني؟", "[1]")
        own_server.signal(signal.SIGSTOP)  # frozen mid-conversation: the question times out
        assert frozen in chat.say("ومتى وصل إلى بغداد؟", "The conversation is kept")
        own_server.signal(signal.SIGCONT)
        question = "كم عدد الطائرات المسيرة التي استهدفت منزل رئيس الوزراء العراقي مصطفى الكاظمي في بغداد؟"
        assert "بثلاث طائرات مسيرة" in chat.say(question, "[1]")
        own_server.kill()  # gone: the connection is refused
        lost = chat.say("من هو قاآني؟", "The conversation is kept")
        assert f"error: Lost the Chroma server at {own_server.url} (ConnectError)" in lost
        own_server.start()  # back on the same port and folder: the next question reconnects
        kept = chat.say("/sources", "بثلاث طائرات مسيرة")
        assert "بثلاث طائرات مسيرة" in kept  # the sources of the last answer were kept through it all
        assert "قاآني" in chat.say("من هو قاآني؟", "[1]")
        assert chat.close().count("The conversation is kept") == 2


def test_a_server_store_of_format_3_answers_and_is_moved_in_place(
    own_server: ServerProcess, tmp_path: Path, seeded_kb: Khabar
) -> None:
    settings = make_settings(tmp_path / "data", chroma_url=own_server.url)
    kb = Khabar(settings)
    fresh = kb.store.sentences.get(include=["metadatas", "embeddings"])
    as_format_3(kb)
    assert full_text(own_server.path / "db")[0] > 1000
    assert_upgraded_in_place(Khabar(settings), fresh, seeded_kb.ask(QUESTION).citations[0].sentence_id)
    assert full_text(own_server.path / "db")[0] == 0
