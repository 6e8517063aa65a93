"""Answer language of a question: "ar" or "en", decided by script, langdetect only to break ties."""

from __future__ import annotations

import re
from typing import Literal

from langdetect import DetectorFactory, LangDetectException, detect

from retrieval.text.arabic import ARABIC_LETTER, LATIN_LETTER

Lang = Literal["ar", "en"]

DetectorFactory.seed = 0  # langdetect is random without a fixed seed
_WORD = re.compile(r"\w+")
_ARABIC_SCRIPT_LANGS = {"ar", "fa", "ur", "ps"}


def detect_language(text: str) -> Lang:
    """Arabic if Arabic-script words outnumber Latin ones, English if the reverse; langdetect on a tie.

    Counting words by script is deterministic and right on short and mixed questions where langdetect is not
    ("Who is Qaani?" is English, "من هو Qaani؟" is Arabic). Text with no letters at all defaults to Arabic,
    the corpus language.
    """
    arabic = latin = 0
    for word in _WORD.findall(text):
        if ARABIC_LETTER.search(word):
            arabic += 1
        elif LATIN_LETTER.search(word):
            latin += 1
    if arabic != latin:
        return "ar" if arabic > latin else "en"
    if arabic == 0:
        return "ar"
    try:
        return "ar" if detect(text) in _ARABIC_SCRIPT_LANGS else "en"
    except LangDetectException:
        return "ar"
