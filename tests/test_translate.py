"""An English question searched through its Arabic rewrite, against the in-repo fake OpenAI server."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.pipeline import Khabar
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI, Reply, last_user_message, source_number

QUESTION = "How many drones were used in the attack on Kadhimi's house?"
ARABIC = "كم طائرة مسيرة استخدمت في الهجوم على منزل الكاظمي؟"
DRONES_AR = "بثلاث طائرات مسيرة"


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server
        assert not server.errors, server.errors


def khabar(fake: FakeOpenAI, data_dir: Path) -> Khabar:
    settings = make_settings(
        data_dir,
        llm_base_url=fake.url,
        llm_model="fake-model",
        llm_max_retries=0,
        llm_timeout=3.0,
        llm_translate_query=True,
    )
    return Khabar(settings)


def test_english_question_is_searched_in_arabic_and_answered_in_english(fake: FakeOpenAI, seeded_dir: Path):
    kb = khabar(fake, seeded_dir)
    answer_reply = lambda body: f"Three drones were used [{source_number(body, DRONES_AR)}]."  # noqa: E731
    fake.script(ARABIC, answer_reply)
    turn = kb.run(QUESTION)
    translate, answer = fake.requests
    assert "<question_to_translate>" in last_user_message(translate) and QUESTION in last_user_message(
        translate
    )
    assert turn.retrieval_query == ARABIC  # searched through the rewrite, with the Arabic ranker
    assert f"<question>\n{QUESTION}\n</question>" in last_user_message(answer)  # answered for the original
    assert turn.answer.lang == "en" and "translate_ms" in turn.answer.timings_ms
    # the same question again: the rewrite comes from the cache, only the answer is asked for
    fake.script(answer_reply)
    again = kb.run(QUESTION)
    assert again.retrieval_query == ARABIC and len(fake.requests) == 3


def test_a_failed_or_unusable_rewrite_searches_the_original(fake: FakeOpenAI, seeded_dir: Path) -> None:
    kb = khabar(fake, seeded_dir)
    answer_reply = lambda body: f"Three drones were used [{source_number(body, DRONES_AR)}]."  # noqa: E731
    for failure in (Reply("model crashed", status=500), "only English here, no Arabic"):
        fake.script(failure, answer_reply)
        turn = kb.run(QUESTION)
        assert turn.retrieval_query == QUESTION and turn.answer.lang == "en"
    requests = len(fake.requests)
    fake.script(answer_reply)
    assert kb.run(ARABIC).retrieval_query == ARABIC  # an Arabic question is never rewritten
    assert all("<question_to_translate>" not in last_user_message(r) for r in fake.requests[requests:])
