"""English question words become Arabic BM25 tokens through the store's own vocabulary (real USE vectors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.index.sentence_text import get_with_texts
from retrieval.search.crosslingual import Vocabulary, question_tokens, translated_tokens
from retrieval.search.searcher import Searcher
from retrieval.text.arabic import tokenize

QUESTION = "How many drones were used in the attack on Kadhimi's house?"


def test_an_english_question_finds_arabic_sentences_by_bm25_through_its_translations(seeded_kb) -> None:
    searcher: Searcher = seeded_kb.searcher
    searcher.refresh()
    vectors = searcher.words.question_vectors(QUESTION)
    vocabulary = searcher.vocabulary()
    assert len(vocabulary.stems) > 300 and vocabulary.matrix.shape == (len(vocabulary.stems), 512)

    assert searcher.lexical.top(tokenize(QUESTION), 5) == []  # English words match no Arabic sentence
    tokens = question_tokens(tokenize(QUESTION), vectors, vocabulary)
    added = tokens[len(tokenize(QUESTION)) :]
    assert tokenize("طائرات")[0] in added or tokenize("المسيرات")[0] in added
    hits = [sid for sid, _ in searcher.lexical.top(tokens, 5)]
    texts = get_with_texts(seeded_kb.store.sentences, ids=hits)["texts"]
    assert any("طائرات" in t or "مسير" in t for t in texts)


def test_a_word_without_a_counterpart_adds_nothing() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(200, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vocabulary = Vocabulary(tuple(f"w{i}" for i in range(200)), matrix)
    assert translated_tokens(matrix[7:8] * 3.0, vocabulary)[0] == "w7"  # its own vector stands out
    assert translated_tokens(np.ones((1, 16)) * 1e-3 + matrix.mean(0), vocabulary, z_min=8.0) == []
    assert question_tokens(["x"], matrix[7:8], vocabulary) == ["x", "w7"]  # the question's own tokens first


def test_an_outlier_with_a_low_cosine_is_no_translation() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(500, 256)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vocabulary = Vocabulary(tuple(f"w{i}" for i in range(500)), matrix)
    other = rng.normal(size=256)
    other -= (other @ matrix[7]) * matrix[7]
    question = 0.5 * matrix[7] + np.sqrt(0.75) * other / np.linalg.norm(
        other
    )  # cosine 0.5 with w7, far above the rest
    assert translated_tokens(question[None, :], vocabulary) == []  # below COS_MIN, however many deviations
    assert translated_tokens(question[None, :], vocabulary, cos_min=0.4) == ["w7"]


def test_the_vocabulary_is_kept_beside_the_bm25_index_and_a_broken_copy_is_refused(
    seeded_kb, tmp_path: Path
) -> None:
    searcher: Searcher = seeded_kb.searcher
    searcher.refresh()
    built = searcher.vocabulary()
    saved = Vocabulary.load(searcher._lexical_folder)  # written on first use, read by the next process
    assert saved.stems == built.stems
    assert np.allclose(saved.matrix, built.matrix, atol=2e-3)  # float16 on disk
    built.save(tmp_path)
    (tmp_path / "vocabulary.json").write_text('["only-one"]', "utf-8")
    with pytest.raises(ValueError, match="1 words but"):
        Vocabulary.load(tmp_path)


def _full_comparison(
    question_vectors: np.ndarray, vocabulary: Vocabulary, z_min: float, cos_min: float
) -> list:
    """Every question word compared with every vocabulary word: what `translated_tokens` must find."""
    q = question_vectors / np.linalg.norm(question_vectors, axis=1, keepdims=True)
    sims = q @ vocabulary.matrix.T
    z = (sims - sims.mean(1, keepdims=True)) / (sims.std(1, keepdims=True) + 1e-6)
    tokens: dict[str, None] = {}
    for row, cosines in zip(z, sims, strict=True):
        for j in np.argsort(-row)[:3]:
            if row[j] >= z_min and cosines[j] >= cos_min:
                tokens[vocabulary.stems[j]] = None
    return list(tokens)


def test_translations_found_through_the_projection_are_those_of_a_full_comparison(seeded_kb) -> None:
    searcher: Searcher = seeded_kb.searcher
    searcher.refresh()
    vocabulary = searcher.vocabulary()
    questions = [
        QUESTION,
        "Who claimed responsibility for the attack on the prime minister's residence in the Green Zone?",
        "What did the Iraqi interior ministry statement say about the assassination attempt?",
    ]
    vectors = np.vstack([searcher.words.question_vectors(q) for q in questions])
    random = np.random.default_rng(2).normal(size=(20, vectors.shape[1])).astype(np.float32)
    found = 0
    for z_min, cos_min in ((3.5, 0.6), (2.0, 0.4), (0.0, 0.0)):  # the shipped cut, and looser ones
        for rows in (vectors, random):
            expected = _full_comparison(rows, vocabulary, z_min, cos_min)
            assert translated_tokens(rows, vocabulary, z_min=z_min, cos_min=cos_min) == expected
            found += len(expected)
    assert found > 20


@pytest.mark.filterwarnings("error")
def test_a_store_without_words_translates_nothing_and_warns_nothing() -> None:
    # A store whose articles are all incomplete has an empty vocabulary: its projection (computed by the
    # searcher before the first question) took the mean of nothing, a RuntimeWarning on the user's terminal.
    for matrix in (np.zeros((0, 0), dtype=np.float32), np.zeros((0, 512), dtype=np.float32)):
        empty = Vocabulary((), matrix)
        assert empty.projection.head.shape == (0, 0)
        assert translated_tokens(np.ones((2, 512), dtype=np.float32), empty) == []
