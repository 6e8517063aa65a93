"""Metric code and gold matching on tiny hand-made cases; every expected number is worked out in the comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.evaluation.metrics import METRIC_KEYS, Record, by_group, compute, doc_hit_at, passage_hit_at
from retrieval.evaluation.questions import (
    Evidence,
    Question,
    contains_answer,
    hide_gold,
    is_gold_passage,
    is_gold_sentence,
    load_questions,
    with_copies,
)

# Five records of one method:
# r1 ar, answerable, gold D1 ranked 1st; citations [gold, not gold]; 100 chars; right language; contains gold.
# r2 en over Arabic articles (cross-lingual), answerable, gold D3 ranked 2nd; citations [not gold, gold]; 60 chars.
# r3 ar, unanswerable, abstained (no citations).
# r4 en, unanswerable, answered anyway with one (wrong) citation of 50 chars, in Arabic (wrong language).
# r5 ar, answerable, raised an exception.
R1 = Record("q1", "ar", True, frozenset({"D1"}), ("D1", "D2"), (True, False), 100, False, "ar", True, 10.0, 1)
R2 = Record("q2", "en", True, frozenset({"D3"}), ("D2", "D3"), (False, True), 60, False, "en", False, 30.0, 2)
R3 = Record("q3", "ar", False, frozenset(), ("D1",), (), 0, True, "ar", False, 20.0)
R4 = Record("q4", "en", False, frozenset(), ("D2",), (False,), 50, False, "ar", False, 40.0)
R5 = Record("q5", "ar", True, frozenset({"D4"}), error="RuntimeError: boom")
RECORDS = [R1, R2, R3, R4, R5]


def test_overall_metrics_by_hand() -> None:
    m = compute(RECORDS)
    assert tuple(m) == METRIC_KEYS
    assert m["n"] == 5
    # answerable: r1, r2, r5. Gold article rank: r1 -> 1, r2 -> 2, r5 -> none (error).
    assert m["doc_hit@1"] == pytest.approx(1 / 3)
    assert m["doc_hit@5"] == pytest.approx(2 / 3)
    assert m["doc_hit@10"] == pytest.approx(2 / 3)
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 0) / 3)  # 0.5
    # first citation gold: r1 only; within the first three: r1 and r2.
    assert m["evidence_hit@1"] == pytest.approx(1 / 3)
    assert m["evidence_hit@3"] == pytest.approx(2 / 3)
    # all citations: r1 (T, F), r2 (F, T), r4 (F) -> 2 gold of 5; the one on unanswerable r4 counts as wrong.
    assert m["citation_precision"] == pytest.approx(2 / 5)
    # some citation gold (a hit rate, not a recall): r1 and r2 of r1, r2, r5.
    assert m["evidence_hit@all"] == pytest.approx(2 / 3)
    # answers with citations: r1 100, r2 60, r4 50 -> 70 (abstaining r3 and erroring r5 are not answers).
    assert m["cited_chars_mean"] == pytest.approx(70)
    assert m["answer_contains_gold"] == pytest.approx(1 / 3)
    # language right: r1, r2, r3; wrong: r4 (Arabic answer to an English question), r5 (error) -> 3/5.
    assert m["language_accuracy"] == pytest.approx(3 / 5)
    # abstention right: r1, r2 answered; r3 abstained. Wrong: r4 answered an unanswerable one; r5 error -> 3/5.
    assert m["abstention_accuracy"] == pytest.approx(3 / 5)
    # answerable r1, r2 answered, r5 raised (no answer: refused) -> 1/3; unanswerable r3 abstained, r4 not -> 1/2.
    assert m["answerable_refused"] == pytest.approx(1 / 3)
    assert m["unanswerable_abstained"] == pytest.approx(1 / 2)
    # latencies without the error: 10, 20, 30, 40 -> p50 = 25; p95 at index 0.95*3 = 2.85 -> 30 + 0.85*10.
    assert m["latency_p50_ms"] == pytest.approx(25)
    assert m["latency_p95_ms"] == pytest.approx(38.5)
    assert m["errors"] == 1


def test_groups_by_language_and_answerability() -> None:
    groups = by_group(RECORDS)
    assert list(groups) == ["overall", "ar", "en", "answerable", "unanswerable", "hidden"]
    assert groups["hidden"]["n"] == 0 and groups["hidden"]["unanswerable_abstained"] is None
    ar, en, unans = groups["ar"], groups["en"], groups["unanswerable"]
    # ar: r1, r3, r5; answerable r1 (hit at 1) and r5 (error).
    assert ar["n"] == 3
    assert ar["doc_hit@1"] == pytest.approx(1 / 2)
    assert ar["citation_precision"] == pytest.approx(1 / 2)  # r1's two citations, one gold
    assert ar["language_accuracy"] == pytest.approx(2 / 3)  # r5 is wrong
    assert ar["latency_p50_ms"] == pytest.approx(15)  # 10 and 20
    # en (the cross-lingual pair): r2 finds its article second and cites gold second; r4 should have abstained.
    assert en["n"] == 2
    assert en["doc_hit@1"] == 0.0
    assert en["doc_hit@5"] == 1.0
    assert en["mrr"] == pytest.approx(0.5)
    assert en["evidence_hit@1"] == 0.0
    assert en["evidence_hit@3"] == 1.0
    assert en["citation_precision"] == pytest.approx(1 / 3)
    assert en["cited_chars_mean"] == pytest.approx(55)  # (60 + 50) / 2
    assert en["abstention_accuracy"] == pytest.approx(1 / 2)
    assert en["errors"] == 0
    # unanswerable: no answerable question, so answerable-only rates are undefined, not 0.
    assert unans["n"] == 2
    assert unans["doc_hit@1"] is None
    assert unans["mrr"] is None
    assert unans["evidence_hit@all"] is None
    assert unans["answerable_refused"] is None
    assert unans["citation_precision"] == 0.0  # r4's single citation, wrong
    assert unans["abstention_accuracy"] == pytest.approx(1 / 2)


def test_abstention_only_case() -> None:
    # One unanswerable question abstained on and one answerable question wrongly abstained on.
    right = Record("u", "ar", False, abstained=True, answer_lang="ar", latency_ms=5.0)
    wrong = Record(
        "a", "ar", True, frozenset({"D1"}), ("D1",), abstained=True, answer_lang="ar", latency_ms=7.0
    )
    m = compute([right, wrong])
    assert m["abstention_accuracy"] == pytest.approx(1 / 2)
    assert m["answerable_refused"] == 1.0 and m["unanswerable_abstained"] == 1.0
    assert m["doc_hit@1"] == 1.0  # the article was found even though the answer abstained
    assert m["evidence_hit@1"] == 0.0
    assert m["citation_precision"] is None  # no citations at all
    assert m["cited_chars_mean"] is None
    assert m["language_accuracy"] == 1.0


def test_empty_group_is_all_null_but_counts() -> None:
    m = compute([])
    assert m["n"] == 0 and m["errors"] == 0
    assert all(m[k] is None for k in METRIC_KEYS if k not in ("n", "errors"))


def test_hit_at_k_curves() -> None:
    # doc ranks 1 and 2 and none; passage ranks 1 and 2 and none.
    assert [doc_hit_at(RECORDS, k) for k in (1, 2, 10)] == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert [passage_hit_at(RECORDS, k) for k in (1, 2)] == pytest.approx([1 / 3, 2 / 3])


# ---- gold matching -------------------------------------------------------------------------------

EVIDENCE = (Evidence("D1", "308"),)


def test_duplicated_span_every_sentence_with_it_is_gold() -> None:
    # "308" occurs in two sentences of D1: citing either is right (accepted noise); in D2 it is not gold.
    first = "سمح دفاع الفريق بـ 308 نقطة فقط."
    second = "وكان الرقم 308 قياسياً في الدوري."
    assert is_gold_sentence("D1", first, EVIDENCE)
    assert is_gold_sentence("D1", second, EVIDENCE)
    assert not is_gold_sentence("D2", first, EVIDENCE)
    # Both citations of one answer are then gold: precision 2/2 for that answer.
    flags = tuple(is_gold_sentence("D1", s, EVIDENCE) for s in (first, second))
    record = Record(
        "q", "ar", True, frozenset({"D1"}), ("D1",), flags, len(first) + len(second), answer_lang="ar"
    )
    assert compute([record])["citation_precision"] == 1.0


def test_gold_sentence_matching_normalises_both_ways() -> None:
    evidence = (Evidence("D1", "صباح الأحد ٧ تشرين الثاني"),)
    # diacritics and Arabic-Indic digits in the article; plain letters and ASCII digits in the gold span.
    sentence = "تعرّض الكاظمي لمحاولة اغتيال صَباح الأحد 7 تشرين الثاني في بغداد."
    assert is_gold_sentence("D1", sentence, evidence)
    # A sentence shorter than a long gold span, and inside it, is gold too.
    long_span = (Evidence("D1", "قال الوزير إن الهجوم فشل. وأضاف أن التحقيق مستمر."),)
    assert is_gold_sentence("D1", "وأضاف أن التحقيق مستمر.", long_span)
    assert not is_gold_sentence("D1", "التحقيق انتهى.", long_span)


def test_copies_of_evidence_sentences_count_only_when_long_enough_to_be_copies() -> None:
    q = Question("q", "?", "ar", True, evidence=EVIDENCE)
    long, short = "سمح دفاع الفريق بـ 308 نقطة فقط في الموسم.", "308 نقطة."
    asked = with_copies(q, {"D1": [long, short, "جملة لا صلة لها بالسؤال أبداً هنا."], "D2": [long]})
    assert len(asked.evidence_sentences) == 1  # D1's long sentence; the short one could be anywhere
    assert is_gold_passage(
        "D2", "سمحَ دفاعُ الفريق بـ ٣٠٨ نقطة فقط في الموسم", EVIDENCE, asked.evidence_sentences
    )
    assert not is_gold_passage("D2", short, EVIDENCE, asked.evidence_sentences)
    assert not is_gold_passage("D2", "سمح دفاع الفريق بـ 308 نقطة", EVIDENCE, asked.evidence_sentences)


def test_one_gold_rule_for_sentences_and_chunks() -> None:
    chunk = "جملة أولى. سمح الدفاع بـ 308 نقاط. جملة ثالثة."
    assert is_gold_passage("D1", chunk, EVIDENCE)
    assert not is_gold_passage("D2", chunk, EVIDENCE)
    assert not is_gold_passage("D1", "جملة أولى. جملة ثالثة.", EVIDENCE)
    # A passage inside a long span is gold whatever its length, a sentence or a (short) chunk alike.
    span = (Evidence("D1", "قال الوزير إن الهجوم فشل. وأضاف أن التحقيق مستمر."),)
    assert is_gold_passage("D1", "قال الوزير إن الهجوم فشل. وأضاف", span)
    assert is_gold_sentence is is_gold_passage


def test_hidden_gold_makes_a_question_unanswerable_only_when_all_its_articles_are_hidden() -> None:
    one = Question("1", "?", "ar", True, ("x",), (Evidence("D1", "x"),))
    two = Question("2", "?", "ar", True, ("x",), (Evidence("D1", "x"), Evidence("D2", "x")))
    other = Question("3", "?", "ar", True, ("x",), (Evidence("D3", "x"),))
    never = Question("4", "?", "en", False)
    made = hide_gold([one, two, other, never], frozenset({"D1"}))
    assert [q.answerable for q in made] == [False, True, True, False]
    assert made[0].hidden_gold and made[0].evidence == () and made[0].hidden_evidence == one.evidence
    assert made[0].gold_docs == frozenset()  # nothing a citation could match
    assert not any(q.hidden_gold for q in made[1:])  # a set's own unanswerable question is not a hidden one
    # Records of hidden-article negatives form the `hidden` group; they count as unanswerable too.
    records = [
        Record("1", "ar", False, abstained=True, answer_lang="ar", hidden_gold=True),
        Record("4", "en", False, abstained=False, answer_lang="en", citation_gold=(False,)),
    ]
    groups = by_group(records)
    assert groups["hidden"]["n"] == 1 and groups["hidden"]["unanswerable_abstained"] == 1.0
    assert groups["unanswerable"]["unanswerable_abstained"] == pytest.approx(1 / 2)


def test_cross_lingual_answer_matches_arabic_or_english_gold() -> None:
    # An English question answered by quoting the Arabic article: the Arabic gold string is in the quote.
    answer = "The articles say (quoted in the original Arabic):\n“تمت بثلاث طائرات مسيرة” [1]"
    assert contains_answer(answer, ["ثلاث", "three"])
    assert contains_answer("It was three drones.", ["ثلاث", "three"])
    assert not contains_answer(answer, ["أربع", "four"])
    assert not contains_answer(answer, [])


# ---- question-set loader -------------------------------------------------------------------------


def test_loader_reports_malformed_lines_and_ignores_unknown_fields(tmp_path: Path) -> None:
    good = {"id": "a", "question": "من؟", "lang": "ar", "answerable": True, "answers": ["x"]}
    good["evidence"] = [{"doc": "D1", "text": "x"}]
    lines = [
        json.dumps(
            {**good, "difficulty": "easy", "notes": {"any": 1}}, ensure_ascii=False
        ),  # 1: unknown fields
        "{not json",  # 2
        "",  # 3: blank, silently skipped
        json.dumps({"id": "b", "question": "?", "lang": "fr", "answerable": False}),  # 4: bad lang
        json.dumps(
            {"id": "c", "question": "Who?", "lang": "en", "answerable": True}
        ),  # 5: answerable, no evidence
        json.dumps(
            {"id": "d", "question": "Who?", "lang": "en", "answerable": False, "answers": []}
        ),  # 6: ok
        json.dumps({**good, "question": "again"}, ensure_ascii=False),  # 7: duplicate id "a"
        "[1, 2]",  # 8: not an object
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_questions(path)
    assert [q.id for q in loaded.questions] == ["a", "d"]
    assert [n for n, _ in loaded.problems] == [2, 4, 5, 7, 8]
    assert "lang" in loaded.problems[1][1]
    assert "evidence" in loaded.problems[2][1]
    assert "duplicate" in loaded.problems[3][1]
    first = loaded.questions[0]
    assert first.gold_docs == frozenset({"D1"}) and first.answerable and first.lang == "ar"
    assert not loaded.questions[1].answerable and loaded.questions[1].evidence == ()


# ---- the bundled seed question set ---------------------------------------------------------------


def test_seed_questions_gold_spans_each_pin_one_sentence_as_khabar_splits() -> None:
    """Each evidence entry names one sentence (one entry per evidence sentence), so citation precision is fair."""
    from collections import Counter

    from retrieval.corpus.files import load_articles
    from retrieval.text.arabic import normalize
    from tests.conftest import SEEDS

    articles = {a.doc_id: a for a in load_articles([SEEDS]).articles}
    loaded = load_questions(SEEDS / "questions.jsonl")
    assert loaded.problems == []
    questions = loaded.questions
    counts = Counter((q.lang, q.answerable) for q in questions)
    assert len(questions) >= 60 and counts["ar", True] + counts["ar", False] == len(questions) / 2
    assert counts["ar", False] + counts["en", False] >= 15
    for q in questions:
        pinned = []
        for item in q.evidence:
            span = normalize(item.text)
            inside = [s.id for s in articles[item.doc].sentences() if span in normalize(s.text)]
            assert len(inside) == 1, (q.id, item.text, inside)
            pinned += inside
        assert len(set(pinned)) == len(pinned), q.id  # no sentence listed twice


def test_answer_language_is_the_prose_with_quotes_set_aside() -> None:
    from retrieval.evaluation.run import prose_language

    quote = "تعرض رئيس الوزراء العراقي مصطفى الكاظمي لمحاولة اغتيال صباح الأحد."
    # English framing around a long Arabic quote: English, though most words are Arabic.
    assert (
        prose_language(f"The articles say (quoted in the original Arabic):\n“{quote}” [1]", [quote]) == "en"
    )
    # Arabic framing around the same quote: Arabic.
    assert prose_language(f"بحسب المقالات:\n«{quote}» [1]", [quote]) == "ar"
    # An English answer quoting an Arabic phrase that is not a cited passage: the quotation marks set it aside.
    assert prose_language('Qaani called it "فتنة جديدة وخطيرة جدا على العراق" [1].', []) == "en"
    # Nothing but quoted source text (the baseline's chunk): the language of that text.
    assert prose_language(quote, [quote]) == "ar"
    assert prose_language("   ", []) is None
