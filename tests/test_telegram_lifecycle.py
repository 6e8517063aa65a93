"""The bot process over its life: clean exits on SIGTERM and SIGINT, state kept across a restart, a rejected
token reported without being shown, and webhook mode behind a (simulated) reverse proxy."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, Reply
from tests.fake_telegram import FakeTelegram
from tests.telegram_process import TOKEN, start_bot

QUESTION = "Who is the commander of Iran's Quds Force who met Kadhimi in Baghdad?"


@pytest.fixture
def data_dir(seeded_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(seeded_dir, target)
    return target


@pytest.fixture
def fake() -> FakeTelegram:
    with FakeTelegram(TOKEN) as server:
        yield server


def test_sigterm_and_sigint_stop_cleanly_and_chat_state_survives_a_restart(
    fake: FakeTelegram, data_dir: Path, tmp_path: Path
) -> None:
    bot = start_bot(fake, data_dir, tmp_path / "work")
    fake.send_text(1, QUESTION)
    [answer] = fake.wait_messages(1, 1)
    assert answer.buttons
    started = time.monotonic()
    assert bot.stop(signal.SIGTERM) == 0
    print(f"\nexit after SIGTERM in {time.monotonic() - started:.2f}s")
    assert (data_dir / "telegram_state.pickle").is_file()

    bot = start_bot(fake, data_dir, tmp_path / "work")
    # The Sources button of an answer given before the restart still works, and so does /sources.
    fake.press_button(answer, answer.buttons[0]["callback_data"])
    fake.send_text(1, "/sources")
    sources = fake.wait_messages(1, 3)[1:]
    for message in sources:
        assert "<blockquote>" in message.html and "Sources" in message.text
    started = time.monotonic()
    assert bot.stop(signal.SIGINT) == 0
    print(f"exit after SIGINT in {time.monotonic() - started:.2f}s")
    assert "Traceback" not in bot.output()


def test_rejected_token_is_reported_without_showing_it(
    fake: FakeTelegram, data_dir: Path, tmp_path: Path
) -> None:
    wrong = "7000000002:AAHanotherTokenThatTheServerDoesNotKnow1"  # the fake answers 401, as Telegram does
    bot = start_bot(fake, data_dir, tmp_path / "work", wait=False, telegram_token=wrong)
    assert bot.proc.wait(90) == 1
    output = bot.output()
    assert "rejected the token" in output
    assert wrong not in output and wrong.split(":")[1] not in output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict, secret: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_webhook_mode_answers_updates_posted_with_the_secret(
    fake: FakeTelegram, data_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/khabar-hook"
    bot = start_bot(
        fake,
        data_dir,
        tmp_path / "work",
        wait=False,
        telegram_webhook_url=url,
        telegram_webhook_port=str(port),
    )
    fake.wait_for(lambda: fake.webhook.get("url") == url, 90, "setWebhook")
    secret = fake.webhook["secret_token"]
    assert secret and len(secret) >= 32  # none was configured: a random one per start

    def accepts_connections() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    fake.wait_for(accepts_connections, 30, "the webhook server")
    update = fake.message(21, QUESTION)
    assert post(url, {"update_id": 1, **update}, "not-the-secret") == 403
    assert post(url, {"update_id": 2, **update}, secret) == 200
    [answer] = fake.wait_messages(21, 1)
    assert answer.text.startswith("The articles say")
    assert bot.stop(signal.SIGTERM) == 0
    assert not fake.calls("getUpdates")  # no polling in webhook mode
    assert secret not in bot.output() and TOKEN not in bot.output()


def test_sigterm_cuts_a_slow_llm_answer_to_an_extractive_one_within_the_grace(
    fake: FakeTelegram, data_dir: Path, tmp_path: Path
) -> None:
    """No completion at start-up; on SIGTERM an answer stuck in the LLM becomes extractive after the grace."""
    with FakeOpenAI() as llm:
        llm.script(Reply("Kadhimi's house was attacked with three drones [1].", delay=40))  # a stalled model
        bot = start_bot(
            fake,
            data_dir,
            tmp_path / "work",
            llm_base_url=llm.url,
            llm_timeout="60",
            llm_max_retries="0",
            telegram_shutdown_grace="1",
        )
        assert llm.requests == []  # warming up asked the embedder, not the model
        fake.send_text(31, "How many drones were used in the attack on Kadhimi's house?")
        fake.wait_for(lambda: llm.requests, 60, "the LLM request")
        started = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        [answer] = fake.wait_messages(31, 1, timeout=30)
        assert bot.wait(timeout=30) == 0
        elapsed = time.monotonic() - started
    assert "shutting down" in answer.text and "The articles say" in answer.text
    assert elapsed < 15, elapsed  # 1 s of grace, then the extractive answer and a clean exit
    print(f"\nSIGTERM with an answer in progress: answered and exited in {elapsed:.2f}s")
