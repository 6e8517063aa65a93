"""Content words of a text as the word-vector vocabulary sees them: a matching key, the form to embed, a stem.

The key is the normalised word (`retrieval.text.arabic.normalize`), the same for every spelling variant; the form is
the word as written with its diacritics and tatweel removed (what is embedded: "مسيّرة" -> "مسيرة", whose
taa marbuta the key folds away); the stem is the BM25 token of the word (`tokenize`), whose document frequency
gives the word's idf. Stop words and bare numbers are not content words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from retrieval.text.arabic import normalize, tokenize

_WORD = re.compile(r"[^\W\d_][\w\u064b-\u065f\u0670\u0640]*", re.UNICODE)
_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640]")


@dataclass(frozen=True)
class Word:
    key: str  # normalised: the vocabulary key
    form: str  # as written, without diacritics or tatweel: what is embedded
    stem: str  # the BM25 token: its idf weighs the word


@lru_cache(maxsize=65536)
def content_words(text: str) -> tuple[Word, ...]:
    """The content words of a text in order (repeats kept), each with its key, form and stem."""
    out = []
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text)):
        form = _MARKS.sub("", match.group(0))
        stems = tokenize(form)
        if len(stems) != 1 or len(form) < 2:
            continue  # a stop word, or a form the tokenizer splits (letters and digits mixed)
        out.append(Word(normalize(form), form, stems[0]))
    return tuple(out)
