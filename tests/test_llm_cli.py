"""`khabar ask` and `khabar chat` as subprocesses against the fake OpenAI server: tokens reach the terminal while
the model is still generating, a half-received citation marker is held back, the verified sources come last,
and chat condenses follow-ups from its history until /reset."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from prompts import phrases
from tests.conftest import SEEDS
from tests.fake_openai import FakeOpenAI, Reply, kind, last_user_message, source_number, sources

DRONES_AR = "بثلاث طائرات مسيرة"
# the installed console script, as a user runs it (python -m bot.cli where it is not installed)
_SCRIPT = Path(sys.executable).with_name("khabar")
KHABAR = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bot.cli"]


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server
        assert not server.errors, server.errors


def env_for(data_dir: Path, fake: FakeOpenAI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHABAR_")}
    env.update(
        KHABAR_DATA_DIR=str(data_dir),
        KHABAR_SEEDS_DIR=str(SEEDS),
        KHABAR_LLM_BASE_URL=fake.url,
        KHABAR_LLM_MODEL="fake-model",
        KHABAR_LLM_API_KEY="sk-test-secret-never-printed",
        KHABAR_LLM_MAX_RETRIES="0",
        KHABAR_LLM_TIMEOUT="30",
        COLUMNS="200",
    )
    return env


class Reader:
    """Collects a subprocess's stdout as it arrives, so a test can look at it before the process ends."""

    def __init__(self, proc: subprocess.Popen[bytes]):
        self.data = b""
        self._proc = proc
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._proc.stdout is not None
        while chunk := os.read(self._proc.stdout.fileno(), 4096):
            self.data += chunk

    def wait_for(self, text: str, limit: float = 120.0) -> str:
        """The output once it contains `text` (the limit only stops a hung test; no speed is asserted)."""
        end = time.monotonic() + limit
        while text not in self.text and time.monotonic() < end and self._proc.poll() is None:
            time.sleep(0.05)
        return self.text

    def finish(self) -> str:
        self._thread.join(timeout=30)
        return self.text

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def test_ask_streams_tokens_and_holds_back_partial_markers(
    seeded_copy: Path, tmp_path: Path, fake: FakeOpenAI
):
    gate = threading.Event()
    draft = "Kadhimi's house was attacked with three drones [{n}]."
    cut = draft.index("[") + 1  # the stream pauses right after "[": the marker is half-received

    def reply(body: dict) -> Reply:
        return Reply(draft.format(n=source_number(body, DRONES_AR)), chunk_chars=3, gate=gate, gate_at=cut)

    fake.script(reply)
    with open(tmp_path / "stderr.txt", "wb") as errors:
        proc = subprocess.Popen(
            [*KHABAR, "ask", "How many drones were used in the attack on Kadhimi's house?"],
            cwd=tmp_path,
            env=env_for(seeded_copy, fake),
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        out = Reader(proc)
        try:
            during = out.wait_for("three drones")
            assert "three drones" in during, during  # shown while the model is still "generating"
            assert "[" not in during  # the half-received "[" is held back
            assert proc.poll() is None
        finally:
            gate.set()
            proc.wait(timeout=120)
    text = out.finish()
    stderr = (tmp_path / "stderr.txt").read_bytes()
    assert proc.returncode == 0, stderr.decode()
    n = source_number(fake.requests[0], DRONES_AR)
    assert f"Kadhimi's house was attacked with three drones [{n}]." in text
    assert "Sources" in text and "تمت بثلاث طائرات مسيرة استهدفت منزله الخاص" in text  # verbatim source last
    assert text.index("Sources") > text.index("three drones [")
    assert fake.requests[0]["stream"] is True
    assert "sk-test-secret" not in text + stderr.decode()


def test_chat_condenses_follow_ups_and_reset_forgets(seeded_copy: Path, tmp_path: Path, fake: FakeOpenAI):
    standalone = "How many drones were used in the attack on Kadhimi's house?"

    def reply(body: dict) -> str:
        if kind(body) == "condense":
            return standalone
        if not any(DRONES_AR in text for text in sources(body).values()):
            return phrases("en")["abstain"]  # "And how many were used?" with no history names nothing
        return f"Kadhimi's house was attacked with three drones on 7 November 2021 [{source_number(body, DRONES_AR)}]."

    fake.script(*[reply] * 4)
    lines = [
        "When was Kadhimi's house attacked?",
        "And how many were used?",
        "/reset",
        "And how many were used?",
        "/exit",
    ]
    result = subprocess.run(
        [*KHABAR, "chat"],
        cwd=tmp_path,
        env=env_for(seeded_copy, fake),
        input="\n".join(lines).encode(),
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert [kind(r) for r in fake.requests] == ["answer", "condense", "answer"]
    condense = last_user_message(fake.requests[1])
    assert "When was Kadhimi's house attacked?" in condense and "And how many were used?" in condense
    assert standalone in last_user_message(fake.requests[2])
    assert "Conversation cleared." in result.stdout.decode()
    # after /reset the follow-up has nothing to refer to: khabar asks, without calling the model
    assert " ".join(phrases("en")["followup_subject"].split()[:4]) in " ".join(result.stdout.decode().split())
