"""End to end, offline: the real `khabar telegram` process against the fake Bot API server, over a real store.

One bot process serves the whole module (seeds plus two extra articles: one full of `<`, `&` and `>`, one with
a sentence longer than a Telegram message). Every test talks in its own chat, so tests do not share state.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from retrieval.pipeline import Khabar
from tests.conftest import SEEDS, make_settings
from tests.fake_telegram import MAX_CALLBACK_DATA, MAX_TEXT, FakeTelegram, Sent, parse_html
from tests.telegram_process import TOKEN, BotProcess, start_bot

GROUP = -100500  # an allowed group
STRANGER = 666  # a user who is not on the allowlist
STRANGE_GROUP = -100666
CROWD = range(1000, 1050)  # 50 private chats asking at once
ALLOWED = [*range(1, 60), *CROWD, GROUP]

HTML_ARTICLE = """شركة <نور & أولاده> تعلن أرباحاً قياسية

أعلنت شركة <نور & أولاده> للصناعات الغذائية أن أرباحها السنوية تجاوزت > 40 مليون دينار لأول مرة في تاريخها. \
وقال مدير الشركة إن الصادرات إلى أوروبا زادت بنسبة 12% & أن الشركة تخطط لافتتاح مصنع جديد في البصرة. \
ويكتب مهندسو الشركة الرمز &lt; حرفياً في تقاريرهم التقنية لوصف القيم الصغيرة.
"""

AR_QUESTION = "من هو قائد فيلق القدس الإيراني الذي التقى الكاظمي في بغداد؟"
EN_QUESTION = "Who is the commander of Iran's Quds Force who met Kadhimi in Baghdad?"
HTML_QUESTION = "كم بلغت أرباح شركة نور وأولاده السنوية؟"
ENTITY_QUESTION = "ما الرمز الذي يكتبه مهندسو شركة نور وأولاده حرفياً في تقاريرهم التقنية؟"
# (asks what only the long sentence says: the title names "rare varieties" but no village)
LONG_QUESTION = "من أي قرى واحة سيوة جاءت التمور التي عرضها المزارعون في المهرجان؟"


def long_article() -> str:
    """One sentence of ~4500 characters (commas only inside) about the dates shown at a festival in Siwa."""
    varieties = ["الصعيدي", "الفريحي", "العزاوي", "الكعك", "الطكطاكت", "الغزالي", "الحياني", "البرحي"]
    villages = ["أغورمي", "الزيتون", "المراقي", "أبو شروف", "بهي الدين", "الجارة", "خميسة", "شالي"]
    parts = [
        f"تمور {varieties[(i * 7) % len(varieties)]} القادمة من قرية {villages[(i * 3) % len(villages)]} في واحة سيوة"
        for i in range(85)
    ]
    sentence = "وعرض المزارعون في مهرجان سيوة السنوي للتمور " + "، و".join(parts) + "."
    return f"مهرجان سيوة للتمور يعرض أصنافاً نادرة\n\n{sentence}\nوشارك في المهرجان أكثر من مئة مزارع.\n"


@pytest.fixture(scope="module")
def articles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("telegram_articles")
    (folder / "html_chars.txt").write_text(HTML_ARTICLE, encoding="utf-8")
    (folder / "siwa_dates.txt").write_text(long_article(), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def corpus(articles: Path) -> str:
    """All article text, to check that every quote in an answer is verbatim."""
    files = [*SEEDS.glob("*.txt"), *articles.glob("*.txt")]
    return "\n".join(p.read_text("utf-8") for p in files)


@pytest.fixture(scope="module")
def fake() -> FakeTelegram:
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, seeded_dir: Path, articles: Path, tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("telegram_e2e") / "data"
    shutil.copytree(seeded_dir, data_dir)
    Khabar(make_settings(data_dir)).ingest([articles])
    process = start_bot(
        fake,
        data_dir,
        data_dir.parent / "work",
        telegram_allowed_users=",".join(map(str, ALLOWED)),
    )
    yield process
    process.stop()


def ask(fake: FakeTelegram, chat_id: int, text: str, count: int = 1, **kwargs) -> list[Sent]:
    """Send a question and return the bot's first `count` messages in that (fresh) chat."""
    fake.send_text(chat_id, text, **kwargs)
    return fake.wait_messages(chat_id, count, timeout=90)


def quotes(text: str) -> list[str]:
    """The quoted sentences of an answer: «…» [n] in Arabic, “…” [n] in English."""
    return [a or b for a, b in re.findall(r"«(.+?)» \[\d\]|“(.+?)” \[\d\]", text, flags=re.DOTALL)]


def squash(text: str) -> str:
    return " ".join(text.split())


def test_commands_menu_in_both_languages(bot: BotProcess, fake: FakeTelegram) -> None:
    commands = fake.commands()
    assert set(commands) == {"", "ar"}
    for lang in ("", "ar"):
        assert [c["command"] for c in commands[lang]] == ["start", "help", "sources", "reset"]
    assert commands[""][0]["description"] != commands["ar"][0]["description"]


@pytest.mark.parametrize(("language_code", "first_word"), [("ar", "أهلاً"), ("en", "Hello")])
def test_start_greets_in_both_languages_users_own_first(
    bot: BotProcess, fake: FakeTelegram, language_code: str, first_word: str
) -> None:
    chat = 1 if language_code == "ar" else 2
    [reply] = ask(fake, chat, "/start", language_code=language_code)
    assert reply.text.startswith(first_word)
    assert "أهلاً" in reply.text and "Hello" in reply.text
    assert "/sources" in reply.text and "/reset" in reply.text
    assert f"@{fake.username}" in reply.text


@pytest.mark.parametrize(
    ("chat", "question", "opening", "sources", "quoted"),
    [
        (3, AR_QUESTION, "بحسب المقالات", "المصادر", "قاآني"),
        (4, EN_QUESTION, "The articles say", "Sources", ""),
    ],
    ids=["arabic", "english"],
)
def test_question_answered_with_citations_in_its_language(
    bot: BotProcess,
    fake: FakeTelegram,
    corpus: str,
    chat: int,
    question: str,
    opening: str,
    sources: str,
    quoted: str,
) -> None:
    [reply] = ask(fake, chat, question)
    assert reply.text.startswith(opening)
    assert "[1]" in reply.text and sources in reply.text
    found = quotes(reply.text)
    assert found and all(q in corpus for q in found)
    assert quoted in " ".join(found)
    [button] = reply.buttons
    assert button["text"] == sources
    assert len(button["callback_data"].encode()) <= MAX_CALLBACK_DATA
    typing = [c for c in fake.calls("sendChatAction") if c.params["chat_id"] == str(chat)]
    assert typing and typing[0].params["action"] == "typing" and typing[0].at <= reply.at


def test_sources_button_shows_the_full_quoted_sentences(
    bot: BotProcess, fake: FakeTelegram, corpus: str
) -> None:
    [answer] = ask(fake, 5, AR_QUESTION)
    fake.press_button(answer, answer.buttons[0]["callback_data"])
    sources = fake.wait_messages(5, 2, timeout=60)[1]
    assert sources.reply_to == answer.message_id
    assert "<blockquote>" in sources.html
    for quote in quotes(answer.text):
        assert quote in sources.text
    assert re.search(r"\w+:\d+", sources.text)  # the sentence ids
    assert any(c.params.get("callback_query_id") for c in fake.calls("answerCallbackQuery"))


def test_sources_and_reset_commands(bot: BotProcess, fake: FakeTelegram) -> None:
    [answer] = ask(fake, 6, EN_QUESTION)
    fake.send_text(6, "/sources")
    sources = fake.wait_messages(6, 2)[1]
    assert all(q in sources.text for q in quotes(answer.text))
    fake.send_text(6, "/reset")
    assert fake.wait_messages(6, 3)[2].text == "This chat's history is cleared."
    fake.send_text(6, "/sources")
    assert fake.wait_messages(6, 4)[3].text == "No sources yet. Ask a question first."


def test_html_special_characters_in_articles_are_escaped(bot: BotProcess, fake: FakeTelegram) -> None:
    [reply] = ask(fake, 7, HTML_QUESTION)
    sentence = "أعلنت شركة <نور & أولاده> للصناعات الغذائية أن أرباحها السنوية تجاوزت > 40 مليون دينار"
    assert sentence in reply.text  # what the user sees is the article, verbatim
    assert "&lt;نور &amp; أولاده&gt;" in reply.html
    assert "شركة <نور & أولاده> تعلن أرباحاً قياسية" in reply.text  # the title, in the sources block
    # An article that contains an entity's spelling shows it as written, not as the character.
    [reply] = ask(fake, 8, ENTITY_QUESTION)
    assert "الرمز &lt; حرفياً" in reply.text
    assert "&amp;lt;" in reply.html


def test_a_very_long_source_is_shortened_in_the_answer_and_whole_behind_sources(
    bot: BotProcess, fake: FakeTelegram, corpus: str
) -> None:
    fake.send_text(9, LONG_QUESTION)
    parts = fake.wait_for(lambda: last_part_sent(fake, 9), timeout=90, what="the answer with its button")
    assert all(len(p.html) <= MAX_TEXT for p in parts)
    assert parts[0].text.startswith("بحسب المقالات")
    sentences = [s.strip() for s in corpus.splitlines() if s.startswith("وعرض المزارعون")]
    assert all(len(s) > MAX_TEXT for s in sentences)
    shown = squash(" ".join(p.text for p in parts))
    assert "…" in shown and not any(squash(s) in shown for s in sentences)  # shortened in the answer
    assert len(shown) < 2000
    # The Sources button shows the whole sentence, longer than one message, split and complete.
    fake.press_button(parts[-1], parts[-1].buttons[0]["callback_data"])

    def sources_complete() -> bool:
        full = squash(" ".join(m.text for m in fake.messages(9)[len(parts) :]))
        return any(squash(s) in full for s in sentences)

    fake.wait_for(sources_complete, timeout=60, what="the full sources")
    assert len(fake.messages(9)) - len(parts) >= 2
    assert all(len(m.html) <= MAX_TEXT for m in fake.messages(9))


def last_part_sent(fake: FakeTelegram, chat_id: int) -> list[Sent] | None:
    sent = fake.messages(chat_id)
    return sent if sent and sent[-1].buttons else None


def test_group_answers_only_when_mentioned_or_replied_to(bot: BotProcess, fake: FakeTelegram) -> None:
    fake.send_text(GROUP, AR_QUESTION, user_id=10, chat_type="group")  # neither mention nor reply
    mentioned = fake.send_text(GROUP, EN_QUESTION, user_id=10, chat_type="group", mention=True)
    [answer] = fake.wait_messages(GROUP, 1)
    assert answer.text.startswith("The articles say")
    assert answer.reply_to == mentioned["message"]["message_id"]
    follow_up = fake.send_text(GROUP, "And who denied it?", user_id=11, chat_type="group", reply_to=answer)
    replies = fake.wait_messages(GROUP, 2)
    assert replies[1].reply_to == follow_up["message"]["message_id"]
    assert replies[1].text.startswith(("The articles say", "I could not find"))
    # The message that neither mentioned nor replied to the bot got nothing: two questions, two answers.
    time.sleep(0.5)
    assert len(fake.messages(GROUP)) == 2


def test_stranger_is_refused_once_politely_and_never_answered(bot: BotProcess, fake: FakeTelegram) -> None:
    fake.send_text(STRANGER, AR_QUESTION, language_code="ar")
    [refusal] = fake.wait_messages(STRANGER, 1)
    assert str(STRANGER) in refusal.text and "عذراً" in refusal.text and "Sorry" in refusal.text
    assert refusal.text.startswith("عذراً") and not refusal.buttons
    fake.send_text(STRANGER, EN_QUESTION)
    fake.send_text(STRANGER, "/help")
    # In a group, a command for another bot is not addressed to this one; a mention is.
    fake.send_text(STRANGE_GROUP, "/help@another_bot", user_id=STRANGER, chat_type="group")
    mention = fake.send_text(STRANGE_GROUP, EN_QUESTION, user_id=STRANGER, chat_type="group", mention=True)
    [group_refusal] = fake.wait_messages(STRANGE_GROUP, 1)
    assert str(STRANGE_GROUP) in group_refusal.text
    assert group_refusal.reply_to == mention["message"]["message_id"]
    # An allowed user asking after the stranger is answered, while the stranger still has one message.
    ask(fake, 12, EN_QUESTION)
    time.sleep(0.5)
    assert len(fake.messages(STRANGER)) == 1
    assert not any(c.params.get("chat_id") == str(STRANGER) for c in fake.calls("sendChatAction"))


def test_fifty_chats_asking_at_once_are_all_answered(bot: BotProcess, fake: FakeTelegram) -> None:
    questions = [AR_QUESTION, EN_QUESTION, HTML_QUESTION, "What did Shamkhani say about the attack?"]
    start = time.monotonic()
    for i, chat in enumerate(CROWD):
        fake.send_text(chat, questions[i % len(questions)])
    answered = fake.wait_for(
        lambda: len({m.chat_id for m in fake.messages() if m.chat_id in CROWD}) == len(CROWD) or None,
        timeout=180,
        what="50 answers",
    )
    elapsed = time.monotonic() - start
    assert answered
    for i, chat in enumerate(CROWD):
        first = fake.messages(chat)[0]
        assert first.text.startswith(("بحسب المقالات", "The articles say", "I could not find", "لم أجد")), (
            i,
            first.text[:80],
        )
    print(f"\n50 chats asking at once: all answered in {elapsed:.2f}s")


def test_flood_control_retry_after_is_honoured(bot: BotProcess, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", retry_after=2, chat_id=13)
    [reply] = ask(fake, 13, EN_QUESTION)
    assert reply.text.startswith("The articles say")
    calls = [c for c in fake.calls("sendMessage") if c.params.get("chat_id") == "13"]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 2.0  # the bot waited retry_after before sending again


def test_a_5xx_or_a_lost_connection_on_send_is_retried(bot: BotProcess, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", chat_id=14, status=502)
    fake.fail_next("sendMessage", chat_id=14, status=0)  # the connection closes without an answer
    [reply] = ask(fake, 14, EN_QUESTION)
    assert reply.text.startswith("The articles say")
    calls = [c for c in fake.calls("sendMessage") if c.params.get("chat_id") == "14"]
    assert [c.status for c in calls] == [502, 0, 200]
    assert calls[2].at - calls[1].at >= 0.9  # backoff: 0.5 s, then 1 s


def test_an_answer_never_delivered_is_not_remembered(bot: BotProcess, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", chat_id=15, status=500, times=4)  # the first try and all 3 retries
    fake.send_text(15, EN_QUESTION)
    fake.wait_for(
        lambda: len([c for c in fake.calls("sendMessage") if c.params.get("chat_id") == "15"]) >= 4,
        timeout=90,
        what="four failed sends",
    )
    [apology] = fake.wait_messages(15, 1)  # once the API answers again, the user hears something went wrong
    assert apology.text.startswith("Sorry, something went wrong")
    fake.send_text(15, "/sources")  # the failed answer left no sources and no history behind
    assert fake.wait_messages(15, 2)[1].text == "No sources yet. Ask a question first."


def test_a_photo_caption_is_a_question_and_a_bare_photo_gets_a_hint(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    fake.send_photo(16, caption=EN_QUESTION)
    [answer] = fake.wait_messages(16, 1, timeout=90)
    assert answer.text.startswith("The articles say") and answer.buttons
    fake.send_photo(16)
    hint = fake.wait_messages(16, 2)[1]
    assert hint.text.startswith("I read text only") and "\n" not in hint.text
    # in a group, a caption that mentions the bot is a question too
    mentioned = fake.send_photo(GROUP, caption=EN_QUESTION, user_id=17, chat_type="group", mention=True)
    fake.wait_for(
        lambda: any(m.reply_to == mentioned["message"]["message_id"] for m in fake.messages(GROUP)),
        timeout=90,
        what="the group caption answered",
    )


def test_an_allowed_user_in_a_group_that_is_not_allowed_is_refused(
    bot: BotProcess, fake: FakeTelegram
) -> None:
    other_group = -100777
    fake.send_text(other_group, EN_QUESTION, user_id=18, chat_type="group", mention=True)
    [refusal] = fake.wait_messages(other_group, 1)
    assert str(other_group) in refusal.text and refusal.text.startswith("Sorry")


def test_the_token_never_appears_in_the_output(bot: BotProcess, fake: FakeTelegram) -> None:
    """Runs last in this module: everything above was logged at DEBUG, where PTB prints URLs with the token."""
    output = bot.output()
    assert "[redacted]" in output  # the lines that would have carried it
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output


def test_fake_server_is_as_strict_as_telegram() -> None:
    """The checks above mean something only if the fake rejects what Telegram rejects."""
    assert parse_html("a &lt; b &amp; c > d & e") == "a < b & c > d & e"
    for bad in ("<نور>", "a < b", "<b>x", "x</b>", "<b>x</i>"):
        with pytest.raises(Exception, match="can't parse entities"):
            parse_html(bad)
