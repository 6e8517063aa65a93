"""The bot's PTB application run in-process against the fake Bot API server, for what a subprocess cannot show:
a store failing mid-answer, one chat held up while another is answered, typing refreshed, bounded history."""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.error import BadRequest, InvalidToken
from telegram.ext import Application

from bot.telegram import ALLOWED_UPDATES, build_application, keep_typing
from retrieval.answer.extractive import Answer
from retrieval.pipeline import History, Khabar
from tests.conftest import make_settings
from tests.fake_telegram import FakeTelegram
from tests.telegram_process import TOKEN

QUESTION = "Who is the commander of Iran's Quds Force who met Kadhimi in Baghdad?"


@pytest.fixture
def fake() -> FakeTelegram:
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def data_dir(seeded_copy: Path) -> Path:
    """A private copy of the seeded store (conftest's seeded_copy), named for these tests."""
    return seeded_copy


def settings_for(fake: FakeTelegram, data_dir: Path, **overrides: Any):
    return make_settings(data_dir, telegram_token=TOKEN, telegram_base_url=fake.base_url, **overrides)


@asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Initialise, poll and process updates, then stop and flush persistence, like run_polling does."""
    async with app:
        await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=1)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def run(coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(coroutine(), timeout=120))


async def wait_messages(fake: FakeTelegram, chat_id: int, count: int = 1) -> list:
    return await asyncio.to_thread(fake.wait_messages, chat_id, count, 60)


def test_a_failure_while_answering_gets_an_apology_and_a_logged_traceback(
    fake: FakeTelegram, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kb = Khabar(make_settings(data_dir))
    kb.store.client.delete_collection(kb.store.sentences.name)  # the store breaks under the running bot

    async def scenario() -> None:
        async with running(build_application(settings_for(fake, data_dir), kb)):
            fake.send_text(1, QUESTION)
            fake.send_text(2, "من هو قاآني؟")
            [english] = await wait_messages(fake, 1)
            [arabic] = await wait_messages(fake, 2)
            assert english.text.startswith("Sorry, something went wrong")
            assert arabic.text.startswith("عذراً، حدث خطأ")
            assert not english.buttons

    with caplog.at_level(logging.ERROR, logger="khabar.telegram"):
        run(scenario)
    failures = [r for r in caplog.records if r.name == "khabar.telegram" and r.exc_info]
    assert len(failures) == 2
    assert "NotFoundError" in failures[0].exc_info[0].__name__
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


class HeldAnswerer:
    """The real pipeline, except that questions starting with "slow" wait until the test releases them."""

    def __init__(self, kb: Khabar):
        self.kb = kb
        self.release = threading.Event()
        self.histories: list[History | None] = []

    def ask(self, question: str, history: History | None = None) -> Answer:
        self.histories.append(history)
        if question.startswith("slow"):
            assert self.release.wait(60), "never released"
        return self.kb.ask(question, history)


def test_a_slow_answer_in_one_chat_does_not_hold_up_another(fake: FakeTelegram, data_dir: Path) -> None:
    answerer = HeldAnswerer(Khabar(make_settings(data_dir)))

    async def scenario() -> None:
        async with running(build_application(settings_for(fake, data_dir), answerer)):
            fake.send_text(1, "slow: " + QUESTION)
            await asyncio.to_thread(
                fake.wait_for, lambda: fake.calls("sendChatAction"), 30, "typing in the slow chat"
            )
            fake.send_text(2, QUESTION)
            [fast] = await wait_messages(fake, 2)  # answered while chat 1 is still waiting
            assert fast.text.startswith("The articles say")
            assert fake.messages(1) == []
            answerer.release.set()
            [slow] = await wait_messages(fake, 1)
            assert slow.at > fast.at

    run(scenario)


def test_typing_is_refreshed_until_the_answer_is_ready(fake: FakeTelegram) -> None:
    fake.chat(5)

    async def scenario() -> None:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            async with keep_typing(bot, 5, every=0.1):
                await asyncio.sleep(0.55)
            count = len(fake.calls("sendChatAction"))
            await asyncio.sleep(0.3)
        assert count >= 4
        assert len(fake.calls("sendChatAction")) == count  # stopped with the answer

    run(scenario)


def test_history_is_passed_to_follow_ups_bounded_and_persisted(fake: FakeTelegram, data_dir: Path) -> None:
    answerer = HeldAnswerer(Khabar(make_settings(data_dir)))
    answerer.release.set()
    settings = settings_for(fake, data_dir, telegram_history_turns=2)
    questions = [QUESTION, "And when was he in Baghdad?", "What did he tell him?", "Who else condemned it?"]

    async def scenario() -> None:
        async with running(build_application(settings, answerer)):
            for n, question in enumerate(questions, start=1):
                fake.send_text(7, question)
                await wait_messages(fake, 7, n)

    run(scenario)
    assert answerer.histories[0] is None
    assert [q for q, _ in answerer.histories[1]] == [QUESTION]
    assert [q for q, _ in answerer.histories[3]] == questions[1:3]  # only the last two turns
    state = pickle.loads((data_dir / "telegram_state.pickle").read_bytes())
    history = state["chat_data"][7]["history"]
    assert [q for q, _ in history] == questions[2:]


def test_fake_server_rejects_what_telegram_rejects(fake: FakeTelegram) -> None:
    """The end-to-end checks mean something only if the fake refuses what Telegram refuses."""
    fake.chat(9)

    async def scenario() -> None:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                await bot.send_message(9, "a <b> and <c>", parse_mode="HTML")
            with pytest.raises(BadRequest, match=r"(?i)too long"):
                await bot.send_message(9, "x" * 4097)
            sent = await bot.send_message(9, "&lt;" * 4096, parse_mode="HTML")  # 4096 once parsed
            assert sent.text == "<" * 4096
            with pytest.raises(BadRequest, match=r"(?i)too long"):
                await bot.edit_message_text("y" * 4097, chat_id=9, message_id=sent.message_id)
            edited = await bot.edit_message_text("<b>short</b>", 9, sent.message_id, parse_mode="HTML")
            assert edited.text == "short"
        with pytest.raises(InvalidToken):
            async with Bot("7000000003:AAHwrongTokenWrongTokenWrongToken00", base_url=fake.base_url):
                pass

    run(scenario)


def test_refused_chats_leave_nothing_in_the_state_file(fake: FakeTelegram, data_dir: Path) -> None:
    answerer = HeldAnswerer(Khabar(make_settings(data_dir)))
    answerer.release.set()
    settings = settings_for(fake, data_dir, telegram_allowed_users="7")

    async def scenario() -> None:
        async with running(build_application(settings, answerer)):
            fake.send_text(666, QUESTION)  # a stranger, privately
            fake.send_text(
                -100666, QUESTION, user_id=7, chat_type="group", mention=True
            )  # allowed user, other group
            fake.send_text(7, QUESTION)
            await wait_messages(fake, 666)
            await wait_messages(fake, -100666)
            await wait_messages(fake, 7)

    run(scenario)
    state = pickle.loads((data_dir / "telegram_state.pickle").read_bytes())
    assert set(state["chat_data"]) == {7}
    assert "refused" not in state["bot_data"]
