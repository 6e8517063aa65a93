"""Sentence splitting on the seeds' real dirt, and normalisation for matching."""

from __future__ import annotations

from retrieval.text.arabic import light_stem, normalize, split_sentences, tokenize
from tests.conftest import SEEDS


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_seed_separator_dot_comma_splits_and_empty_pieces_are_dropped() -> None:
    text = (SEEDS / "000_65fb7c15639e4525.txt").read_text("utf-8")
    parts = sentences(text)
    assert parts[0] == "قائد فيلق القدس الإيراني يلتقي الكاظمي ويحث الميليشيا على التهدئة"
    assert parts[2] == "وذكر الإعلام العراقي أن قاآني اجتمع بقادة فصائل عراقية مسلحة وطالبها بالتهدئة."
    for part in parts:
        assert not part.startswith((",", " ", "،", ".")), part
        assert not part.endswith(","), part
        assert ".," not in part
    # ".,  , " between two sentences leaves no empty or comma-only sentence behind
    assert all(any(ch.isalnum() for ch in p) for p in parts)
    assert len(parts) == 22


def test_spans_index_the_original_text_verbatim() -> None:
    for path in SEEDS.glob("*.txt"):
        text = path.read_text("utf-8")
        for span in split_sentences(text):
            piece = text[span.start : span.end]
            assert piece == piece.strip()
            assert piece in text


def test_arabic_punctuation_and_newlines() -> None:
    assert sentences("هل وصل؟ نعم؛ وصل أمس!\nسطر جديد بلا نقطة") == [
        "هل وصل؟",
        "نعم؛",
        "وصل أمس!",
        "سطر جديد بلا نقطة",
    ]


def test_decimals_initials_abbreviations_and_numbered_dates_do_not_split() -> None:
    assert sentences("The U.S. Army spent 3.5 billion. Dr. Ali left on 8. 11. 2021 at noon. Then?") == [
        "The U.S. Army spent 3.5 billion.",
        "Dr. Ali left on 8. 11. 2021 at noon.",
        "Then?",
    ]
    assert sentences("قال د. محمد إن النسبة 2.5 بالمئة. انتهى.") == [
        "قال د. محمد إن النسبة 2.5 بالمئة.",
        "انتهى.",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    assert sentences('قال: "انتهى الأمر." ثم غادر.') == ['قال: "انتهى الأمر."', "ثم غادر."]


def test_normalize_unifies_alef_variants_digits_diacritics_tatweel_quotes() -> None:
    # The seeds spell the same name قاآني and قاأني.
    assert normalize("قاآني") == normalize("قاأني") == normalize("قااني")
    assert normalize("إسماعيل") == normalize("اسماعيل")
    assert normalize("٢٠٢١") == "2021"
    assert normalize("مُحَمَّـــد") == "محمد"
    assert normalize("مدرسة") == normalize("مدرسه")
    assert normalize("على") == normalize("علي")
    assert normalize("“جاده إيران”") == normalize('"جاده ايران"')
    assert normalize("  Hello\u00a0World ") == "hello world"


def test_tokens_keep_words_with_diacritics_and_stem_clitics() -> None:
    assert tokenize("الطَّائِرَات") == tokenize("الطائرات")
    assert light_stem("والكاظمي") == light_stem("الكاظمي") == "كاظم"
    assert "طائر" in tokenize("بالطائرات المسيرة")
    assert tokenize("في من على") == []
    assert tokenize("How many drones?") == ["drones"]


def test_an_overlong_sentence_is_cut_at_spaces_and_still_indexes_the_text() -> None:
    from retrieval.text.arabic import MAX_SENTENCE_CHARS

    text = "بداية " + "كلمة " * 2000 + "نهاية."  # one 10,000-character "sentence" (no punctuation)
    spans = split_sentences(text)
    assert len(spans) > 1
    assert all(s.end - s.start <= MAX_SENTENCE_CHARS for s in spans)
    assert all(text[s.start : s.end] == text[s.start : s.end].strip() for s in spans)
    assert "".join(text[s.start : s.end] for s in spans).replace(" ", "") == text.replace(" ", "")
    no_spaces = "x" * (MAX_SENTENCE_CHARS * 2 + 5)
    assert [s.end - s.start for s in split_sentences(no_spaces)] == [MAX_SENTENCE_CHARS] * 2 + [5]


def test_runs_of_marks_split_like_single_marks() -> None:
    """The boundary pattern only matches from the first mark of a run; a run that is no boundary is skipped
    whole (the linear splitter must keep the old results on these)."""
    assert sentences("Wait... what?! Yes.. no…… ok") == ["Wait...", "what?!", "Yes..", "no……", "ok"]
    assert sentences("a...x done. c") == ["a...x done.", "c"]
    assert sentences("x" + "." * 1500 + "y") == ["x" + "." * 1500 + "y"]


def test_clean_text_blanks_controls_and_replaces_lone_surrogates() -> None:
    from retrieval.text.arabic import clean_text

    assert clean_text("a\x1b[31mb\x00c\ud800d\u200fe\n") == "a [31mb c\ufffdd\u200fe\n"
