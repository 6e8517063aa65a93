"""What search keeps between questions (articles' sentences and chunk vectors, USE vectors) never outlives a
change of the store: a rewritten article is searched as it is now."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from retrieval.index.sentence_text import get_with_texts
from retrieval.pipeline import Khabar
from tests.conftest import SEEDS, make_settings

QUESTION = "How many drones were used in the attack on Kadhimi's house?"
ARTICLE = "004_3ff3aaad62e032cf"


def _stored(kb: Khabar, sentence_ids: list[str]) -> dict[str, tuple[str, np.ndarray]]:
    rows = get_with_texts(kb.store.sentences, ids=sentence_ids, include=["embeddings"])
    return {
        sid: (text, np.asarray(vector))
        for sid, text, vector in zip(rows["ids"], rows["texts"], rows["embeddings"], strict=True)
    }


def test_a_rewritten_article_is_searched_as_it_is_now_not_as_it_was_read_before(
    seeded_copy: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    kb = Khabar(make_settings(seeded_copy))
    kb.ingest([folder])  # the store's articles now follow the copy
    before = {h.sentence_id: h.text for h in kb.run(QUESTION).search.hits}  # now in the searcher's cache
    deep = kb.searcher_for(10)  # evaluation's deeper searcher holds the same vocabulary, not a copy
    deep.refresh()
    vocabulary = kb.searcher.vocabulary()
    assert deep.vocabulary() is vocabulary
    (drones,) = [sid for sid, text in before.items() if "بثلاث طائرات" in text]
    kb.searcher._dense_for_docs([ARTICLE], kb.embedder.query_vector(QUESTION))  # and its chunk vectors

    article = folder / f"{ARTICLE}.txt"
    article.write_text(article.read_text("utf-8").replace("بثلاث طائرات", "بخمس طائرات"), "utf-8")
    assert kb.ingest([folder]).updated == 1

    turn = kb.run(QUESTION)
    after = {h.sentence_id: h.text for h in turn.search.hits}
    deep.refresh()
    assert kb.searcher.vocabulary() is not vocabulary  # made again for the store as it is now
    assert deep.vocabulary() is kb.searcher.vocabulary()
    assert "بخمس طائرات" in after[drones] and "بثلاث" not in after[drones]
    query = kb.embedder.query_vector(QUESTION)
    stored = _stored(kb, [h.sentence_id for h in turn.search.hits])
    for hit in turn.search.hits:  # every hit's text and dense score are the store's as it is now
        text, vector = stored[hit.sentence_id]
        assert hit.text == text
        assert abs(hit.dense - float(vector @ query)) < 1e-5
    chunks = kb.store.chunks.get(where={"doc_id": ARTICLE}, include=["embeddings"])
    best = float(np.max(np.asarray(chunks["embeddings"]) @ query))
    assert abs(kb.searcher._dense_for_docs([ARTICLE], query)[ARTICLE] - best) < 1e-5


def test_what_is_kept_is_the_most_recently_used_up_to_its_weight() -> None:
    from retrieval.index.recent import Recent

    kept: Recent[str, list[int]] = Recent(5, weight=len)  # weighed in rows, as search's article reads are
    kept.put_many({"a": [1, 2], "b": [3, 4]})
    assert kept.get_many(["a", "x"]) == {"a": [1, 2]}  # "a" is now the most recently used
    kept.put("c", [5, 6])  # 6 rows > 5: the least recently used ("b") goes
    assert kept.get("b") is None and kept.get("a") == [1, 2] and kept.get("c") == [5, 6]
    kept.put("a", [1])  # replacing a value counts its new weight only: 3 rows, nothing goes
    assert len(kept) == 2
    kept.clear()
    assert kept.get("a") is None and len(kept) == 0
