"""Word-level cross-lingual alignment: content words, the counted word, the alignment's figures, the per-word
vector cache, and the abstention features it feeds."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.embedding import USEEmbedding
from retrieval.index.lexical import LexicalIndex
from retrieval.search.align import align
from retrieval.search.answer_type import counted_words, near_numbers
from retrieval.search.ranker import LIST_FEATURES, Candidates, list_features
from retrieval.search.word_vectors import WordVectors
from retrieval.search.words import content_words
from retrieval.text.arabic import normalize, tokenize

TEXTS = [
    "قال المتحدث إن التحقيقات مستمرة في بغداد.",
    "استهدف الهجوم المنزل بثلاث طائرات مسيرة مفخخة.",
    "تم تحديد 3 شخصيات من الميليشيات.",
]


def test_content_words_drop_stop_words_and_numbers_and_strip_marks() -> None:
    words = content_words("هل استُهدِفَ المنزلُ بـ 3 طائرات؟ How many drones")
    forms = [w.form for w in words]
    assert "هل" not in forms and "3" not in forms and "How" not in forms
    assert "استهدف" in forms and "drones" in forms  # diacritics gone from the embedded form
    assert all(w.key == normalize(w.form) and [w.stem] == tokenize(w.form) for w in words)


def test_counted_words_follow_the_question_word() -> None:
    assert counted_words("How many drones were used in the attack?")[0] == "drones"
    assert counted_words("How much did the drones cost?") == ("cost",)  # after an auxiliary: the last word
    assert counted_words("كم عدد سكان اليابان؟")[0] == normalize("سكان")  # "عدد" is filler
    assert counted_words("Who is the president of Iraq?") == ()


def test_near_numbers_are_the_words_around_a_number() -> None:
    near = near_numbers("تم تحديد 3 شخصيات من الميليشيات في اليوم التالي للهجوم")
    assert normalize("شخصيات") in near and normalize("للهجوم") not in near
    assert near_numbers("على مستوى عال من التنسيق") == frozenset()  # "مستوى" holds "ست" but is no number


def one_hot(words) -> np.ndarray:
    """A vector per word from a fixed toy vocabulary: words meaning the same share a direction."""
    meaning = {"drones": 0, "طائرات": 0, "مسيره": 0, "cost": 1, "figures": 2, "شخصيات": 2}
    out = []
    for w in words:
        v = np.zeros(64)
        if w.key in meaning:
            v[meaning[w.key]] = 1.0
        else:
            v[3 + zlib.crc32(w.key.encode()) % 61] = 1.0  # any other word: a direction of its own
        out.append(v / np.linalg.norm(v))
    return np.array(out)


def test_alignment_credits_the_sentence_holding_the_translation() -> None:
    question = content_words("How many drones cost")
    a = align(question, one_hot(question), TEXTS, one_hot, lambda stem: None, focus=("drones",))
    assert int(np.argmax(a.soft)) == 1  # "طائرات مسيرة": the drones sentence
    assert a.weights.sum() == pytest.approx(1.0)
    keys = [w.key for w in question]
    assert a.word_z[keys.index("drones")] > a.word_z[keys.index("cost")]  # "cost" means nothing here
    assert a.focus is not None and a.focus[0] == -10.0  # no number in the first sentence


def test_word_vectors_are_cached_per_word_on_disk(tmp_path: Path) -> None:
    class Counting(USEEmbedding):
        encoded = 0

        def vectors(self, texts: list[str]) -> np.ndarray:
            Counting.encoded += len(texts)
            return super().vectors(texts)

    embedder = Counting()
    words = list({w.key: w for t in TEXTS for w in content_words(t)}.values())
    store = WordVectors(tmp_path / "words.sqlite", embedder)
    first = store.lookup(words)
    assert Counting.encoded == len(words) and store.count() == len(words)
    assert np.array_equal(store.lookup(words), first) and Counting.encoded == len(words)  # memory
    again = WordVectors(tmp_path / "words.sqlite", embedder).lookup(words)  # a new process: the file
    assert Counting.encoded == len(words)
    assert np.allclose(again, first)

    lexical = LexicalIndex.build([str(i) for i in range(len(TEXTS))], TEXTS)
    a = store.align("How many drones were used in the attack?", TEXTS, lexical)
    assert int(np.argmax(a.soft)) == 1  # English "drones" found as "طائرات مسيرة", for real
    assert a.focus is not None and int(np.argmax(a.focus)) == 1  # "بثلاث طائرات": a number word by drones


def test_abstention_reads_whether_the_counted_word_is_near_any_number() -> None:
    question = content_words("How many drones")
    texts = TEXTS[:1] + TEXTS[2:]  # no sentence about drones
    a = align(question, one_hot(question), texts, one_hot, lambda stem: None, focus=("drones",))
    c = Candidates(
        question="How many drones",
        lang="en",
        q_tokens=[],
        doc_ids=["a", "a"],
        ns=np.array([0, 1]),
        texts=texts,
        dense=np.array([0.8, 0.7]),
        lexical=np.zeros(2),
        doc_dense={"a": 0.8},
        alignment=a,
    )
    row = list_features(c, np.array([1.0, 0.5]))
    assert len(row) == len(LIST_FEATURES)
    assert row[LIST_FEATURES.index("focus_nowhere")] == 1.0
    c.alignment = None
    assert list_features(c, np.array([1.0, 0.5]))[LIST_FEATURES.index("focus_nowhere")] == 0.0
