"""Expected answer type of a question (a number, a date) and whether a sentence can supply it.

Dense similarity says a sentence is on topic; it cannot tell that "how many drones?" needs a sentence with a
count in it. This small check works across languages: the question may be English, the sentence Arabic.
"""

from __future__ import annotations

import re
from functools import lru_cache

from retrieval.search.words import content_words
from retrieval.text.arabic import ARABIC_PROCLITICS, normalize
from retrieval.text.numbers import months_in, read_numbers, weekdays_in

_NUMBER_Q = re.compile(
    r"\b(how many|how much|how long|how old|how far|what percent\w*|what number|what proportion|what amount)\b"
    r"|(^|\s)(كم|ما عدد|ما هو عدد|ما هي نسبه|ما نسبه|ما مقدار|ما حجم)(\s|$)"
)
_DATE_Q = re.compile(
    r"\b(when|what year|which year|what date|what day|what month|what century|what decade|in what year)\b"
    r"|(^|\s)(متي|في اي عام|في اي سنه|في اي يوم|في اي تاريخ|في اي شهر|في اي قرن|اي عام|اي سنه|ما تاريخ)(\s|$)"
)
_DIGITS = re.compile(r"\d")
_YEAR = re.compile(r"(?<!\d)\d{3,4}(?!\d)")
_NUMBER_WORDS = re.compile(
    r"(واحد|اثن|ثلاث|اربع|خمس|ست|سبع|ثمان|تسع|عشر|مئه|مائه|الف|مليون|مليار|نصف|ربع|ثلث|ضعف)"
    r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b"
)  # letters a number word holds: a cheap pre-check before `read_numbers` ("مستوى" holds "ست")
# Words that place an event in time besides a year, a month or a weekday (whole words, a one-letter proclitic
# allowed: "وصباح", not "الأمين العام").
_TIME_WORDS = frozenset(
    normalize(w)
    for w in "قرن القرن عام سنة أمس صباح مساء century centuries decade year years yesterday morning evening".split()
)
# Vague quantities answer "how many" too ("عديد المرات", "several years"); the number reader leaves them out.
_QUANTITY_WORDS = frozenset(
    normalize(w)
    for w in "عدة عديد عديدة بضع بضعة several many few numerous dozens hundreds thousands".split()
)
_WORD = re.compile(r"\w+")


def expected_type(question: str) -> str:
    """ "date", "number" or "" for a question (after normalisation, so Arabic spelling variants match)."""
    q = normalize(question)
    if _DATE_Q.search(q):
        return "date"
    if _NUMBER_Q.search(q):
        return "number"
    return ""


@lru_cache(maxsize=65536)
def supplies(expected: str, sentence: str) -> bool:
    """Whether a sentence contains something of the expected type: a number the number reader finds (digits
    or number words: "واستناداً" holds the letters of "ست" and is none) or a vague quantity, or for a date a
    year, a month or weekday name (`retrieval.text.lexicon`) or a time word."""
    if not expected:
        return False
    words = _WORD.findall(normalize(sentence))
    if expected == "date":
        return bool(
            any(_YEAR.fullmatch(w) or _one_of(w, _TIME_WORDS) for w in words)
            or months_in(sentence)
            or weekdays_in(sentence)
        )
    return bool(read_numbers(sentence)) or any(_one_of(w, _QUANTITY_WORDS) for w in words)


def _one_of(key: str, words: frozenset[str]) -> bool:
    """Whether a normalised word is one of `words`, alone or behind a one-letter proclitic ("وعدة")."""
    return key in words or (len(key) > 3 and key[0] in ARABIC_PROCLITICS and key[1:] in words)


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


_COUNT_TRIGGER = re.compile(
    r"\b(?:how (?:many|much)|what (?:number|percentage|proportion|amount|share) of)\s+(.*)"
    r"|(?:^|\s)(?:كم|ما عدد|ما هو عدد|ما هي نسبه|ما نسبه|ما مقدار|ما حجم)\s+(.*)"
)
_AUXILIARIES = frozenset("did does do is was were are has have had will would can could".split())
# words between the trigger and what is counted: "كم عدد السكان", "كم يبلغ عدد", "كم من الوقت"
_COUNT_FILLER = frozenset(
    normalize(w) for w in "عدد يبلغ تبلغ بلغ بلغت يصل تصل وصل وصلت كان كانت يكون تكون نسبة مقدار حجم".split()
)


def counted_words(question: str, most: int = 2) -> tuple[str, ...]:
    """What a number question counts, as word keys: the first content words after "how many" / "كم"
    ("How many drones were used" -> drones, used; "كم عدد سكان اليابان" -> سكان, اليابان). After an
    auxiliary ("How much did the drones cost?") the counted thing is the question's last content word."""
    match = _COUNT_TRIGGER.search(normalize(question))
    if not match:
        return ()
    rest = match.group(1) if match.group(1) is not None else match.group(2)
    first = rest.split()[0] if rest.split() else ""
    if first in _AUXILIARIES:
        words = content_words(question)
        return (words[-1].key,) if words else ()
    keys = [w.key for w in content_words(rest) if w.key not in _COUNT_FILLER]
    return tuple(dict.fromkeys(keys[:most]))


_NUMBERISH = re.compile(r"\d|" + _NUMBER_WORDS.pattern)


@lru_cache(maxsize=65536)
def near_numbers(sentence: str, width: int = 3) -> frozenset[str]:
    """Keys of the content words within `width` words of a number (digits or number words, read by
    `retrieval.text.numbers`: "مستوى" holds the letters of "ست" but is no number)."""
    tokens = sentence.split()
    spots = [i for i, t in enumerate(tokens) if _NUMBERISH.search(normalize(t)) and read_numbers(t)]
    near: set[str] = set()
    for i in spots:
        for token in tokens[max(0, i - width) : i + width + 1]:
            near.update(w.key for w in content_words(token))
    return frozenset(near)
