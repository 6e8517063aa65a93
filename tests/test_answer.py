"""The extractive answerer: quotes only given sentences, best first, and abstains on weak evidence."""

from __future__ import annotations

from retrieval.answer.extractive import extractive_answer, select_citations
from retrieval.search.answer_type import expected_type, supplies
from retrieval.search.searcher import SentenceHit


def hit(sid: str, score: float, text: str = "نص") -> SentenceHit:
    doc, n = sid.split(":")
    return SentenceHit(sid, doc, f"title {doc}", int(n), text, score, 0.8, 0.0, 0.8, 0.0)


def test_second_citation_only_with_its_own_share_of_the_evidence() -> None:
    hits = [hit("a:3", 0.5), hit("b:1", 0.4), hit("a:1", 0.1)]
    chosen = select_citations(hits, max_citations=3, second_share=0.3)
    assert [h.sentence_id for h in chosen] == ["a:3", "b:1"]  # best first; a:1 holds too little
    assert [h.sentence_id for h in select_citations(hits, max_citations=1, second_share=0.3)] == ["a:3"]
    assert [h.sentence_id for h in select_citations(hits, max_citations=3)] == ["a:3"]  # default: one


def test_abstains_below_threshold_and_on_no_hits() -> None:
    assert select_citations([hit("a:0", 0.2)], max_citations=2, threshold=0.5) == []
    answer = extractive_answer("Who?", "en", [], max_citations=2, threshold=0.0)
    assert answer.abstained and answer.citations == []
    assert answer.answer == "I could not find this in the articles."
    arabic = extractive_answer("من؟", "ar", [hit("a:0", 0.2)], max_citations=2, threshold=0.5)
    assert arabic.abstained and arabic.answer == "لم أجد إجابة لهذا في المقالات."


def test_answer_quotes_sentences_verbatim_with_markers() -> None:
    text = 'قال "المصدر" إن <الهجوم> تم بثلاث طائرات.'
    answer = extractive_answer("How many?", "en", [hit("d:4", 2.0, text)], max_citations=2, threshold=1.0)
    assert not answer.abstained
    assert answer.answer == f"The articles say (quoted in the original Arabic):\n“{text}” [1]"
    citation = answer.citations[0]
    assert (citation.n, citation.doc_id, citation.sentence_id, citation.text) == (1, "d", "d:4", text)
    data = answer.to_dict()
    assert data["citations"][0]["text"] == text
    assert set(data) >= {"question", "lang", "answer", "abstained", "citations", "timings_ms"}


def test_expected_answer_type_across_languages() -> None:
    assert expected_type("How many drones were used?") == "number"
    assert expected_type("كم طائرة استخدمت؟") == "number"
    assert expected_type("متى وقع الهجوم؟") == "date"
    assert expected_type("In what year did it start?") == "date"
    assert expected_type("Who is Qaani?") == ""
    assert supplies("number", "تمت بثلاث طائرات مسيرة")
    assert supplies("number", "قتل ٣ أشخاص")
    assert supplies("date", "صباح الأحد 7 تشرين الثاني")
    assert not supplies("number", "قال المسؤول إن الهجوم فشل")
    assert not supplies("", "3 طائرات")


def test_a_number_or_date_is_a_word_not_letters_inside_one() -> None:
    # "واستناداً" holds the letters of "ست" (six), "الفصائل" those of "الف" (thousand), "كتائب" those of "اب"
    # (August): none of them states a number or a date.
    plain = "واستناداً للمعلومات فإن الفصائل في كتائب حزب الله التقت الأمين العام."
    assert not supplies("number", plain) and not supplies("date", plain)
    assert supplies("number", "تستغرق التأثيرات عدة سنوات لتظهر")  # a vague quantity answers "how many" too
    assert supplies("number", "it happened dozens of times") and supplies("number", "three drones")
    assert supplies("date", "In 1066 the Normans came") and supplies("date", "في القرن التاسع عشر")
    assert supplies("date", "وفي شباط الماضي") and supplies("date", "وصباح الاثنين")
    assert not supplies("date", "The general secretary spoke")
