"""Expected answer type of a question (a number, a date) and whether a sentence can supply it.

Dense similarity says a sentence is on topic; it cannot tell that "how many drones?" needs a sentence with a
count in it. This small check works across languages: the question may be English, the sentence Arabic.
"""

from __future__ import annotations

import re

from retrieval.text import normalize

_NUMBER_Q = re.compile(
    r"\b(how many|how much|how long|how old|how far|what percent\w*|what number|what proportion|what amount)\b"
    r"|(^|\s)(كم|ما عدد|ما هو عدد|ما هي نسبه|ما نسبه|ما مقدار|ما حجم)(\s|$)"
)
_DATE_Q = re.compile(
    r"\b(when|what year|which year|what date|what day|what month|what century|what decade|in what year)\b"
    r"|(^|\s)(متي|في اي عام|في اي سنه|في اي يوم|في اي تاريخ|في اي شهر|في اي قرن|اي عام|اي سنه|ما تاريخ)(\s|$)"
)
_DIGITS = re.compile(r"\d")
_YEAR = re.compile(r"\b\d{3,4}\b")
_NUMBER_WORDS = re.compile(
    r"(واحد|اثن|ثلاث|اربع|خمس|ست|سبع|ثمان|تسع|عشر|مئه|مائه|الف|مليون|مليار|نصف|ربع|ثلث|ضعف)"
    r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b"
)
_DATE_WORDS = re.compile(
    r"(يناير|فبراير|مارس|ابريل|مايو|يونيو|يوليو|اغسطس|سبتمبر|اكتوبر|نوفمبر|ديسمبر|كانون|شباط|اذار|نيسان|ايار"
    r"|حزيران|تموز|اب|ايلول|تشرين|الاحد|الاثنين|الثلاثاء|الاربعاء|الخميس|الجمعه|السبت|القرن|عام|سنه|امس|صباح|مساء)"
)


def expected_type(question: str) -> str:
    """ "date", "number" or "" for a question (after normalisation, so Arabic spelling variants match)."""
    q = normalize(question)
    if _DATE_Q.search(q):
        return "date"
    if _NUMBER_Q.search(q):
        return "number"
    return ""


def supplies(expected: str, sentence: str) -> bool:
    """Whether a sentence contains something of the expected type."""
    if not expected:
        return False
    s = normalize(sentence)
    if expected == "date":
        return bool(_YEAR.search(s) or _DATE_WORDS.search(s))
    return bool(_DIGITS.search(s) or _NUMBER_WORDS.search(s))


def number_windows(sentence: str, width: int = 2, limit: int = 3) -> list[str]:
    """The words around each number of a sentence ("... بثلاث طائرات مسيرة ..."): what the number counts.

    At most `limit` windows of `width` words either side, from the original text."""
    words = sentence.split()
    windows = []
    for i, word in enumerate(words):
        key = normalize(word)
        if _DIGITS.search(key) or _NUMBER_WORDS.search(key):
            windows.append(" ".join(words[max(0, i - width) : i + width + 1]))
            if len(windows) == limit:
                break
    return windows
