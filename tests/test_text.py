"""Sentence splitting on the seeds' real dirt, and normalisation for matching."""

from __future__ import annotations

from retrieval.text import light_stem, normalize, split_sentences, tokenize
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
