"""Telegram rendering and the bot's small pure parts: escaping, splitting under 4096, ids, redaction, bounds."""

from __future__ import annotations

import logging
import random
import sys

import pytest
from telegram import Message

from bot.telegram import (
    ANSWERS_KEPT,
    CALLBACK_PREFIX,
    CHAT_STATE_CHARS,
    HISTORY_ANSWER_CHARS,
    KhabarBot,
    RedactingFormatter,
    parse_ids,
    question_text,
)
from bot.telegram_render import (
    MAX_CHARS,
    Block,
    render_answer,
    render_sources,
    shorten_quote,
    split_messages,
    telegram_len,
)
from retrieval.answer.extractive import Answer, Citation
from tests.fake_telegram import FakeTelegram, parse_html

TOKEN = "7000000001:AAHfakeTokenForKhabarTests-0123456789x"


def squash(text: str) -> str:
    return " ".join(text.split())


def shown(parts: list[str]) -> str:
    """What a reader sees across all parts, whitespace-normalised (parse_html also validates each part)."""
    return squash(" ".join(parse_html(p) for p in parts))


def citation(n: int, text: str, title: str = "عنوان <المقال> & مصدره") -> Citation:
    return Citation(n=n, doc_id="doc", sentence_id=f"doc:{n}", title=title, text=text, score=1.0)


def answer_with(*sentences: str, lang: str = "ar") -> Answer:
    citations = [citation(i, s) for i, s in enumerate(sentences, start=1)]
    body = "\n".join(f"«{c.text}» [{c.n}]" for c in citations)
    return Answer(
        question="?", lang=lang, answer=f"بحسب المقالات:\n{body}", abstained=False, citations=citations
    )


def test_a_short_answer_is_one_message_with_every_piece_of_text_escaped() -> None:
    sentence = "قالت شركة <نور & أولاده> إن الأرباح > 40 مليوناً، وكتبت &lt; حرفياً."
    [message] = render_answer(answer_with(sentence))
    assert "&lt;نور &amp; أولاده&gt;" in message and "&amp;lt;" in message
    assert sentence in parse_html(message)
    assert "<b>المصادر</b>" in message
    assert "[1] عنوان <المقال> & مصدره" in parse_html(message)


def test_an_abstention_has_no_sources_block() -> None:
    answer = Answer(question="?", lang="en", answer="I could not find this in the articles.", abstained=True)
    assert render_answer(answer) == ["I could not find this in the articles."]


def test_paragraphs_are_packed_whole_when_they_fit() -> None:
    paragraphs = [f"{n} " + "كلمة " * 300 for n in range(6)]  # ~1500 characters each
    parts = split_messages([Block(p) for p in paragraphs])
    assert len(parts) == 3
    for paragraph in paragraphs:
        assert sum(squash(paragraph) in squash(parse_html(p)) for p in parts) == 1


def test_a_long_paragraph_is_cut_at_sentence_ends() -> None:
    text = " ".join(f"This is sentence number {n} of a very long paragraph." for n in range(200))
    parts = split_messages([Block(text)])
    assert len(parts) >= 3
    assert all(telegram_len(p) <= MAX_CHARS for p in parts)
    assert all(parse_html(p).endswith(".") for p in parts)
    assert shown(parts) == squash(text)


def test_escaping_is_counted_before_cutting() -> None:
    text = "a & b < c > d " * 1000  # 14000 characters that grow to ~26000 once escaped
    parts = split_messages([Block(text, "quote")])
    assert all(telegram_len(p) <= MAX_CHARS for p in parts)
    assert all(p.startswith("<blockquote>") and p.endswith("</blockquote>") for p in parts)
    assert shown(parts) == squash(text)


def test_a_word_longer_than_a_message_is_cut_and_nothing_is_lost() -> None:
    word = "x" * 10_000
    parts = split_messages([Block("before"), Block(word, "code"), Block("after")])
    assert all(telegram_len(p) <= MAX_CHARS for p in parts)
    assert "".join(parse_html(p) for p in parts).replace("\n", "") == "before" + word + "after"


def test_length_is_counted_in_utf16_units() -> None:
    text = "😀" * 3000  # 3000 characters, 6000 UTF-16 units
    parts = split_messages([Block(text)])
    assert len(parts) == 2
    assert all(telegram_len(p) <= MAX_CHARS for p in parts)


def test_a_cut_never_separates_a_letter_from_its_diacritics() -> None:
    word = "بِسْمِ" * 40
    parts = split_messages([Block(word)], limit=25)
    assert "".join(parse_html(p) for p in parts) == word
    assert not any(parse_html(p)[0] in "\u0650\u0652" for p in parts)


@pytest.mark.parametrize("limit", [40, 300, MAX_CHARS])
def test_random_text_always_splits_into_valid_messages_within_the_limit(limit: int) -> None:
    rng = random.Random(limit)
    pieces = [
        "خبر",
        "عاجل",
        "news",
        "<",
        ">",
        "&",
        "&amp;",
        "<b>",
        ".",
        "،",
        "\n",
        "\n\n",
        " ",
        "😀",
        "x" * 60,
    ]
    for _ in range(60):
        blocks = [
            Block(
                "".join(rng.choice(pieces) for _ in range(rng.randint(1, 400))),
                rng.choice(["plain", "quote"]),
            )
            for _ in range(rng.randint(1, 6))
        ]
        parts = split_messages(blocks, limit)
        assert all(telegram_len(p) <= limit for p in parts)
        # Cuts may fall inside a word, so compare without whitespace: no character lost, added or moved.
        assert "".join(shown(parts).split()) == "".join("".join(b.text for b in blocks).split())


def test_full_sources_quote_every_sentence_verbatim_with_its_id() -> None:
    sentences = ["الجملة الأولى <مع> رموز & غيرها.", "The second sentence."]
    parts = render_sources("ar", [citation(1, sentences[0]), citation(2, sentences[1])])
    text = "\n".join(parse_html(p) for p in parts)
    assert all(s in text for s in sentences)
    assert "doc:1" in text and "doc:2" in text
    assert parts[0].startswith("<b>المصادر</b>")


def test_allowed_ids_are_parsed_and_nonsense_is_refused() -> None:
    assert parse_ids("") == frozenset()
    assert parse_ids(" 12, -100345 ,7 ") == {12, -100345, 7}
    with pytest.raises(ValueError, match="@someone"):
        parse_ids("12,@someone")


def test_the_formatter_redacts_the_token_even_inside_tracebacks() -> None:
    formatter = RedactingFormatter([TOKEN])
    try:
        raise RuntimeError(f"GET https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", (TOKEN,), sys.exc_info())
    text = formatter.format(record)
    assert TOKEN not in text and "Traceback" in text and text.count("[redacted]") >= 2
    # Any other token-shaped string is redacted as well (say, an old token in an error message).
    other = "123456789:AAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    assert other not in RedactingFormatter([]).redact(f"token {other} and 2021:10 stays")
    assert "2021:10 stays" in RedactingFormatter([]).redact("2021:10 stays")


def test_in_groups_only_mentions_and_replies_are_questions() -> None:
    with FakeTelegram(TOKEN) as fake:  # only its update builder is used here
        check_group_questions(fake)


def check_group_questions(fake: FakeTelegram) -> None:
    bot_id, name = fake.bot_user["id"], fake.username

    def parsed(**kwargs) -> Message:
        return Message.de_json(
            fake.message(-1001, "who is Qaani?", chat_type="supergroup", **kwargs)["message"], None
        )

    assert question_text(parsed(), name, bot_id) is None
    assert question_text(parsed(mention=True), name, bot_id) == "who is Qaani?"
    private = Message.de_json(fake.message(5, "who is Qaani?")["message"], None)
    assert question_text(private, name, bot_id) == "who is Qaani?"


def test_per_chat_state_is_bounded() -> None:
    bot = KhabarBot(answerer=None, allowed=frozenset(), history_turns=3)  # type: ignore[arg-type]
    chat_data: dict = {}
    keys = [f"{n:08x}" for n in range(ANSWERS_KEPT + 5)]
    for n, key in enumerate(keys):
        bot._remember(chat_data, answer_with(f"جملة {n}."), key)
    assert len(chat_data["history"]) == 3
    assert len(chat_data["answers"]) == ANSWERS_KEPT
    assert chat_data["last"] == keys[-1] and keys[-1] in chat_data["answers"]
    assert keys[0] not in chat_data["answers"]
    assert all(len((CALLBACK_PREFIX + k).encode()) <= 64 for k in keys)
    # long sources: the stored size is capped too (the newest answer is always kept), and so is history
    huge = "كلمة " * 5000
    for n in range(5):
        bot._remember(chat_data, answer_with(huge + str(n)), f"big{n}")
    stored = sum(len(c["text"]) for e in chat_data["answers"].values() for c in e["citations"])
    assert "big4" in chat_data["answers"] and stored <= CHAT_STATE_CHARS + len(huge) + 10
    assert all(len(answer) <= HISTORY_ANSWER_CHARS for _, answer in chat_data["history"])


def test_a_long_quote_is_shortened_around_its_best_part() -> None:
    filler = "وقال المتحدث إن الاجتماع تناول قضايا عامة كثيرة، "
    sentence = filler * 30 + "وأكد أن الطائرات المسيرة انطلقت من شمال شرقي بغداد، " + filler * 30
    answer = answer_with(sentence)
    answer.question = "من أين انطلقت الطائرات المسيرة؟"
    text = shown(render_answer(answer))
    assert "انطلقت من شمال شرقي بغداد" in text and "…" in text
    assert len(text) < len(sentence) / 2
    assert squash(sentence) in squash(" ".join(parse_html(p) for p in render_sources("ar", answer.citations)))
    assert shorten_quote("short sentence.", "anything") == "short sentence."


def test_sources_link_titles_to_their_article_and_name_the_other_outlets() -> None:
    copy = {
        "doc_id": "b",
        "sentence_id": "b:2",
        "source": "صحيفة الساحل",
        "url": "https://s.example/x",
        "published": "2021-11-08",
    }
    linked = Citation(
        n=1,
        doc_id="a",
        sentence_id="a:2",
        title="اتفاق <المياه> & دجلة",
        text="قال المتحدث إن الاتفاق جاء بعد ثلاث جولات.",
        score=0.9,
        url='https://r.example/deal?id=1&x="2"',
        published="2021-11-08T09:30:00+03:00",
        source="الرافدين نيوز",
        also_in=[copy],
    )
    plain = Citation(
        n=2, doc_id="c", sentence_id="c:0", title="بلا رابط", text="نص.", score=0.5, url="javascript:alert(1)"
    )
    answer = Answer(
        question="?",
        lang="ar",
        answer="بحسب المقالات:\n«x» [1]\n«نص.» [2]",
        abstained=False,
        citations=[linked, plain],
    )
    [message] = render_answer(answer)
    assert (
        '<a href="https://r.example/deal?id=1&amp;x=&quot;2&quot;">اتفاق &lt;المياه&gt; &amp; دجلة</a>'
        in message
    )
    assert "javascript" not in message and "[2] بلا رابط" in message
    assert "ورد أيضاً في: صحيفة الساحل (2021-11-08)" in shown([message])
    [full] = render_sources("en", [linked, plain])
    text = shown([full])
    assert "2021-11-08 · الرافدين نيوز" in text and "also reported by: صحيفة الساحل (2021-11-08)" in text
    assert full.count("<a href=") == 1
