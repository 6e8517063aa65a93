"""Answer language: by script, deterministic, right on short and mixed questions."""

from __future__ import annotations

import pytest

from retrieval.text.language import detect_language


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Who is Qaani?", "en"),
        ("What did الكاظمي say?", "en"),
        ("من هو Qaani؟", "ar"),
        ("متى تعرض الكاظمي لمحاولة الاغتيال؟", "ar"),
        ("How many drones were used in the attack on Kadhimi's house?", "en"),
        ("ok", "en"),
        ("لماذا", "ar"),
        ("2021", "ar"),
        ("؟؟؟", "ar"),
        ("🙂🙂", "ar"),
    ],
)
def test_detect_language(question: str, lang: str) -> None:
    assert detect_language(question) == lang


def test_detection_is_deterministic_on_ties() -> None:
    mixed = "Kadhimi الكاظمي"
    assert len({detect_language(mixed) for _ in range(20)}) == 1
