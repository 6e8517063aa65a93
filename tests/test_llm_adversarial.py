"""Each class of adversarial reply, in English and in Arabic, through the real pipeline: the real llama-index
client over HTTP to the scripted fake OpenAI server, the real store and embedder over the seeds plus a planted
article. The cases are shared with benchmarks/llm_adversarial.py, which runs all of them; here the first case of
each class and language runs, and the pure pieces behind them are checked directly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.answer.citations import parse_answer
from retrieval.answer.generate import answer_part, cap_reply
from retrieval.answer.verify.contacts import contacts_in
from retrieval.answer.verify.facts import fact_mismatch
from retrieval.answer.verify.names import missing_names
from retrieval.answer.verify.negation import polarity
from retrieval.index.sentence_text import get_with_texts
from retrieval.pipeline import Khabar
from retrieval.text.numbers import read_numbers
from retrieval.text.planted import planted_sentences
from tests.adversarial_cases import CASES, DRONES, PLANTED_ARTICLE, Case
from tests.conftest import make_settings
from tests.fake_openai import FakeOpenAI

FIRST_OF_EACH = list({(c.cls, c.lang): c for c in reversed(CASES)}.values())[::-1]
DRONES_SENTENCE = (
    "وحسب بيان وزارة الداخلية العراقية، تعرض رئيس الوزراء العراقي مصطفى الكاظمي لمحاولة اغتيال صباح الأحد 7 "
    "تشرين الثاني/ نوفمبر 2021، تمت بثلاث طائرات مسيرة استهدفت منزله الخاص في المنطقة الخضراء ببغداد."
)


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def kb(server: FakeOpenAI, seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Khabar:
    data = tmp_path_factory.mktemp("adversarial") / "data"
    shutil.copytree(seeded_dir, data)
    kb = Khabar(make_settings(data, llm_base_url=server.url, llm_max_retries=0, llm_timeout=3.0))
    article = data.parent / "planted.txt"
    article.write_text(PLANTED_ARTICLE, encoding="utf-8")
    kb.ingest([article])
    return kb


@pytest.mark.parametrize("case", FIRST_OF_EACH, ids=lambda c: f"{c.cls}-{c.lang}-{c.name}")
def test_adversarial_reply_ends_correctly(kb: Khabar, server: FakeOpenAI, case: Case) -> None:
    assert kb.answerer is not None and kb.llm is not None
    saved = (kb.answerer.deadline, kb.llm.timeout)
    kb.answerer.deadline = case.settings.get("llm_deadline", saved[0])
    kb.llm.timeout = case.settings.get("llm_timeout", saved[1])
    server.reset()
    server.script(*case.replies)
    try:
        answer = kb.ask(case.question)
    finally:
        kb.answerer.deadline, kb.llm.timeout = saved
    assert not server.errors, server.errors
    assert case.check(answer), (
        case.expected,
        answer.mode,
        answer.notice,
        [s.reason for s in answer.sentences],
    )
    assert server.unused == 0 or answer.abstained
    rows = get_with_texts(kb.store.sentences, ids=[c.sentence_id for c in answer.citations])
    stored = dict(zip(rows["ids"], rows["texts"], strict=True))
    assert all(c.text == stored[c.sentence_id] for c in answer.citations)  # verbatim, from the store


def test_every_class_and_language_is_covered() -> None:
    classes = {c.cls for c in CASES}
    assert {(c.cls, c.lang) for c in CASES} >= {(k, lang) for k in classes for lang in ("en", "ar")}
    assert len(CASES) >= 60


def test_numbers_in_every_spelling() -> None:
    same = [
        ("fifteen", "خمسة عشر", "١٥"),
        ("a dozen", "اثنا عشر", "12"),
        ("twenty-three", "ثلاثة وعشرون", "23"),
        ("3 million", "ثلاثة ملايين", "3,000,000"),
        ("the third", "الثالث", "3rd"),
        ("two thirds", "ثلثي", ""),
    ]
    for forms in same:
        values = [read_numbers(f).exact for f in forms if f]
        assert all(v == values[0] for v in values), forms
    assert read_numbers("dozens of drones").missing_from(read_numbers("عشرات الطائرات")) == []
    assert read_numbers("dozens of drones").missing_from(read_numbers("36 طائرة")) == []
    assert read_numbers("36 drones").missing_from(read_numbers("عشرات الطائرات")) == ["36"]
    assert read_numbers("hundreds").missing_from(read_numbers("three")) == ["~10^2"]
    assert read_numbers("تشرين الثاني يوم الاثنين").exact == frozenset()  # a month and a weekday, not 2
    assert read_numbers("the fourth quarter").exact == {4.0}


def test_names_places_and_negation_across_scripts() -> None:
    assert missing_names("The drones came from Turkey, israel and China.", DRONES_SENTENCE) == [
        "Turkey",
        "israel",
        "China",
    ]
    assert (
        missing_names(
            "The drones hit Kadhimi's house in Baghdad; the Iraqi ministry said so.", DRONES_SENTENCE
        )
        == []
    )
    assert missing_names("President Bush condemned it.", DRONES_SENTENCE) == ["Bush"]
    assert missing_names("انطلقت من تركيا", DRONES_SENTENCE) == ["تركيا"]
    assert missing_names("I ate turkey in china.", DRONES_SENTENCE) == []  # the bird and the porcelain
    assert fact_mismatch("Kadhimi's house was not attacked with three drones.", DRONES_SENTENCE).startswith(
        "negation"
    )
    assert polarity("لا تزال التحقيقات جارية").negative is False and polarity("لم يتخذ القرار").negative
    assert polarity("Iran not only condemned it").negative is False


def test_contact_details_must_be_verbatim_in_the_source() -> None:
    found = contacts_in(
        "see https://evil.example/login, write to a@b.example, call +964 770 123 4567, @evil_news"
    )
    assert [k for k, _ in found] == ["e-mail address", "link", "handle", "phone number"] or len(found) == 4
    assert fact_mismatch("Details at https://evil.example/x.", DRONES_SENTENCE).startswith("link")
    assert fact_mismatch("Details at https://evil.example/x.", "See https://evil.example/x for more.") == ""


def test_citation_forms_are_read_as_the_same_markers() -> None:
    given = [1, 2, 3]
    for reply in (
        "Three drones [1, 2].",
        "Three drones.[1][2]",
        "Three drones [1-2].",
        "Three drones【1】【2】.",
        "Three drones (1)(2).",
        "Three drones [Source 1, 2].",
        "Three drones^1^2.",
        "Three drones [١، ٢].",
        "Three drones.\n\nSources: 1, 2",
    ):
        [claim] = parse_answer(reply, given)
        assert (claim.plain, claim.citations) == ("Three drones.", [1, 2]), reply
    [claim] = parse_answer("It happened in [2021] and (2021) [3].", given)
    assert claim.citations == [3] and "[2021]" in claim.plain and "(2021)" in claim.plain


def test_reply_cap_empty_and_unfinished_thinking() -> None:
    text, cut = cap_reply("One [1]. Two [2]. " * 50, 40)
    assert cut and len(text) <= 40 and text.endswith("Two [2].")
    assert answer_part("  ") == ("", "empty")
    assert answer_part("<think>still thinking") == ("", "thinking")
    assert answer_part("<think>x</think> Three drones [1].")[0] == "Three drones [1]."


def test_planted_sentences_statements_orders_and_foreign_lines() -> None:
    article = [s for s in PLANTED_ARTICLE.replace("\n\n", "\n").split(". ") if s.strip()]
    flagged = planted_sentences(article)
    assert {article[i][:14] for i in flagged} == {"Editor's note ", "ملاحظة للأنظمة"}
    assert DRONES in DRONES_SENTENCE and not planted_sentences([DRONES_SENTENCE] * 3)
