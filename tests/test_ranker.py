"""The sentence ranker's features, its shipped model file, and the answer-or-abstain decision."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.search.ranker import (
    FEATURES,
    LIST_FEATURES,
    MODEL_FILE,
    Candidates,
    LinearModel,
    Ranker,
    RankerModelError,
    list_features,
    question_focus,
    sentence_features,
)


def candidates(question: str, texts: list[str], dense: list[float], lang: str = "ar", **kw) -> Candidates:
    """Two articles: a (first three sentences) and b (the rest)."""
    docs = ["a" if i < 3 else "b" for i in range(len(texts))]
    ns = np.array([i if i < 3 else i - 3 for i in range(len(texts))])
    return Candidates(
        question=question,
        lang=lang,
        q_tokens=[],
        doc_ids=docs,
        ns=ns,
        texts=texts,
        dense=np.array(dense),
        lexical=np.array(kw.get("lexical", [0.0] * len(texts))),
        doc_dense=kw.get("doc_dense", {"a": 0.85, "b": 0.80}),
        use=np.array(kw["use"]) if "use" in kw else None,
    )


def column(x: np.ndarray, name: str) -> np.ndarray:
    return x[:, FEATURES.index(name)]


def test_features_are_relative_to_the_question_and_the_article() -> None:
    texts = [
        "قال المسؤول إن الهجوم فشل.",
        "تمت العملية بثلاث طائرات مسيرة و 3 صواريخ.",
        "وصل الوفد يوم 7 نوفمبر 2021.",
        "انتهى الاجتماع.",
    ]
    c = candidates(
        "كم طائرة مسيرة استخدمت في 2021؟", texts, [0.80, 0.86, 0.78, 0.70], use=[0.2, 0.5, 0.1, 0.0]
    )
    x = sentence_features(c)
    assert x.shape == (4, len(FEATURES))
    assert column(x, "dense_gap")[1] == 0.0 and column(x, "dense_gap")[0] == pytest.approx(-0.06, abs=1e-6)
    assert column(x, "dense_doc_gap")[3] == 0.0  # the only sentence of article b is its best
    assert list(column(x, "neighbour")[:3]) == pytest.approx(
        [0.86, 0.80, 0.86], abs=1e-6
    )  # never across articles
    assert list(column(x, "first")) == [1.0, 0.0, 0.0, 1.0]
    assert list(column(x, "doc_gap")) == pytest.approx([0.0, 0.0, 0.0, -0.05], abs=1e-6)
    assert list(column(x, "type")) == [0.0, 1.0, 1.0, 0.0]  # a number, any number
    assert list(column(x, "type_near")) == [0.0, 1.0, 0.0, 0.0]  # a number next to the word counted
    assert list(column(x, "numbers_shared")) == [0.0, 0.0, 1.0, 0.0]  # 2021 is in the question
    assert column(x, "use_gap")[1] == 0.0 and column(x, "use")[0] == pytest.approx(0.2)


def test_question_focus_is_the_counted_word() -> None:
    assert question_focus("كم شخصية من الميليشيات تم تحديدها؟") == "شخص"  # light-stemmed
    assert question_focus("How many drones were used?") == "drones"
    assert question_focus("Who is Qaani?") == ""


def test_shipped_model_loads_and_ranks_the_clear_evidence_first() -> None:
    ranker = Ranker.load()
    assert set(ranker.rankers) == {"ar", "en"} and 0 < ranker.second_share <= 1
    texts = ["جملة أولى.", "جملة ثانية.", "جملة ثالثة.", "جملة رابعة."]
    c = candidates(
        "سؤال؟", texts, [0.70, 0.92, 0.71, 0.69], lexical=[0.0, 0.8, 0.1, 0.0], use=[0.1, 0.6, 0.1, 0.0]
    )
    assert int(np.argmax(ranker.rank(c))) == 1


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, "utf-8")
    return path


def test_missing_or_corrupt_model_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RankerModelError, match="missing"):
        Ranker.load(tmp_path / "nope.json")
    with pytest.raises(RankerModelError, match="cannot be read"):
        Ranker.load(write(tmp_path / "broken.json", "{not json"))
    good = json.loads(MODEL_FILE.read_text("utf-8"))
    with pytest.raises(RankerModelError, match="KeyError"):
        Ranker.load(write(tmp_path / "partial.json", {k: v for k, v in good.items() if k != "abstain"}))
    stale = json.loads(json.dumps(good))
    stale["ranker"]["ar"]["features"][0] = "something_else"
    with pytest.raises(RankerModelError, match="not this khabar"):
        Ranker.load(write(tmp_path / "stale.json", stale))
    short = json.loads(json.dumps(good))
    short["ranker"]["en"]["weights"] = short["ranker"]["en"]["weights"][:-1]
    with pytest.raises(RankerModelError, match="one value per feature"):
        Ranker.load(write(tmp_path / "short.json", short))


def hand_ranker(threshold: float) -> Ranker:
    """Ranker by hand: sentences scored by dense x 10; answer when the top stands 1+ ahead of the next."""
    n = len(FEATURES)
    weights = np.zeros(n)
    weights[FEATURES.index("dense")] = 10.0
    sentence = LinearModel(FEATURES, weights, np.zeros(n), np.ones(n))
    m = len(LIST_FEATURES)
    weights = np.zeros(m)
    weights[LIST_FEATURES.index("margin_next")] = 1.0
    abstain = LinearModel(LIST_FEATURES, weights, np.zeros(m), np.ones(m))
    return Ranker({"ar": sentence, "en": sentence}, abstain, {"ar": threshold, "en": threshold}, 0.5)


def test_abstention_reads_the_margin_of_the_ranked_list() -> None:
    ranker = hand_ranker(threshold=1.0)
    texts = ["أ.", "ب.", "ج.", "د."]
    clear = candidates("سؤال؟", texts, [0.90, 0.60, 0.55, 0.50])
    flat = candidates("سؤال؟", texts, [0.80, 0.78, 0.77, 0.50])
    decision = ranker.decide(clear, ranker.rank(clear))
    assert decision.answer and decision.score == pytest.approx(3.0) and 0.5 < decision.confidence < 1
    assert not ranker.decide(flat, ranker.rank(flat)).answer
    assert ranker.decide(flat, ranker.rank(flat), threshold=0.1).answer  # a setting replaces the threshold
    assert not ranker.decide(clear, ranker.rank(clear), bias=2.5).answer  # a positive bias abstains more
    features = list_features(clear, ranker.rank(clear))
    assert features[LIST_FEATURES.index("margin_other_doc")] == pytest.approx(4.0)  # 0.90 vs b's 0.50
    assert features[LIST_FEATURES.index("dense_agrees")] == 1.0


def test_a_number_question_is_not_answered_by_a_sentence_without_a_number() -> None:
    ranker = hand_ranker(threshold=1.0)
    texts = ["سقطت الصواريخ قرب مبنى الجهاز.", "ب.", "ج.", "وصلت 3 وفود."]
    dense = [0.90, 0.60, 0.55, 0.50]
    count = candidates("كم صاروخاً سقط قرب مبنى الجهاز؟", texts, dense)
    decision = ranker.decide(count, ranker.rank(count))
    assert decision.no_count and not decision.answer and decision.score >= decision.threshold
    english = candidates("How many rockets fell near the building?", texts, dense, lang="en")
    assert not ranker.decide(english, ranker.rank(english)).answer
    # the same best sentence answers a question that asks for no number, and a number in it is enough
    where = candidates("أين سقطت الصواريخ؟", texts, dense)
    assert ranker.decide(where, ranker.rank(where)).answer
    counted = candidates("كم صاروخاً سقط؟", ["سقطت ثلاثة صواريخ قرب المبنى.", *texts[1:]], dense)
    assert ranker.decide(counted, ranker.rank(counted)).answer
