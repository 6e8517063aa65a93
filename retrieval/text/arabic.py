"""Arabic-aware text handling: normalisation for matching, sentence splitting with spans, BM25 tokens.

Normalised text is only ever a matching key; what users see is always the original text, sliced by span.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Tashkeel (harakat, tanween, shadda, sukun, dagger alef, Quranic marks) and tatweel.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u0640]")
_TRANSLATE = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "″": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "\u00a0": " ",
        "\u200f": "",
        "\u200e": "",
        "\u200c": "",
        "\u200d": "",
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Extended (Persian) digits
    }
)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Matching key: no diacritics or tatweel, one alef/yaa/haa form, ASCII digits, plain quotes, casefolded."""
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text)
    text = text.translate(_TRANSLATE)
    return _SPACES.sub(" ", text).strip().casefold()


ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3\u06fa-\u06ff]")
LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")


@dataclass(frozen=True)
class Span:
    """A sentence as a character range of the original text."""

    start: int
    end: int


# A sentence ends at . ! ? ؟ ؛ … (possibly repeated, possibly followed by closing quotes or brackets),
# when what follows is whitespace, a comma (the seeds' ".," separator) or the end of the text.
# The lookbehind and the possessive quantifiers keep it linear: a match can only start at the first mark of a
# run, and a run that is not a boundary is rejected once, not once per mark (a line of a million dots).
_BOUNDARY = re.compile(r"(?<![.!?؟؛…])[.!?؟؛…]++[\"'”’»)\]]*+(?=\s|[,،]|$)")
_LINE_BREAK = re.compile(r"\n+")
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "jr",
    "sr",
    "no",
    "vs",
    "etc",
    "inc",
    "ltd",
    "co",
    "gen",
    "col",
    "lt",
    "sgt",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "د",  # دكتور
    "م",  # ميلادي
    "هـ",
    "ه",  # هجري
    "ص",
    "ج",
}
# How far back the word before a period is read. Only words of at most 5 characters (abbreviations, single
# letters, two-digit numbers) can make a false boundary, so a longer window gives the same answers as reading
# the whole word, and the cost per period stays constant instead of growing with the text before it.
_LOOKBACK = 16
_WORD_BEFORE = re.compile(r"\w+$")
_NEXT_CHAR = re.compile(r"[ \t]*+(.?)", re.S)
_HAS_CONTENT = re.compile(r"\w")
_LEADING_JUNK = re.compile(r"[\s,،.;:\-–—]+")
_TRAILING_JUNK = " \t\r,،"
MAX_SENTENCE_CHARS = 8000
"""A "sentence" longer than this (a line without punctuation, a table dumped as text) is cut at a space, so
one passage costs the embedder a few 512-token windows at most. Real long sentences (a 4,500-character list
of the dates shown at a festival, in the Telegram tests) stay whole."""


def _is_false_boundary(text: str, dot_pos: int, after: int) -> bool:
    """True for periods that end an abbreviation, an initial or a number inside a date, not a sentence."""
    if text[dot_pos] != ".":
        return False
    before = _WORD_BEFORE.search(text, max(0, dot_pos - _LOOKBACK), dot_pos)
    if before is None:
        return False
    word = before.group()
    next_char = _NEXT_CHAR.match(text, after).group(1)
    if word.casefold() in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
        # "U.S. Army", "Dr. Ali", "د. محمد"; but a single letter at the end of a sentence followed by a
        # new Arabic/uppercase sentence is rare enough to accept.
        return bool(next_char) and next_char != "\n"
    # Numbered dates such as "8. 11. 2021" or "8. November": a number followed by a digit or lowercase.
    return bool(
        word.isdigit() and len(word) <= 2 and next_char and (next_char.isdigit() or next_char.islower())
    )


def split_sentences(text: str) -> list[Span]:
    """Split an article into sentence spans over the ORIGINAL text (Arabic and English punctuation).

    Linear in the length of the text: every character is looked at a bounded number of times.
    """
    spans: list[Span] = []
    for line in _iter_lines(text):
        start = line.start
        for match in _BOUNDARY.finditer(text, line.start, line.end):
            dot = match.start()
            if _is_false_boundary(text, dot, match.end()):
                continue
            _add_span(text, start, match.end(), spans)
            start = match.end()
        _add_span(text, start, line.end, spans)
    return spans


def _iter_lines(text: str) -> list[Span]:
    lines, start = [], 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(Span(start, match.start()))
        start = match.end()
    lines.append(Span(start, len(text)))
    return lines


def _add_span(text: str, start: int, end: int, spans: list[Span]) -> None:
    """Trim separators (" ., ", ", ,") around a piece and keep it only if it has words or digits; a piece
    longer than MAX_SENTENCE_CHARS is cut at its last space before the limit (or at the limit)."""
    while True:
        lead = _LEADING_JUNK.match(text, start, end)
        if lead:
            start = lead.end()
        while end > start and text[end - 1] in _TRAILING_JUNK:
            end -= 1
        if end - start <= MAX_SENTENCE_CHARS:
            break
        limit = start + MAX_SENTENCE_CHARS
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, limit)
        cut = cut if cut > start else limit
        _add_span(text, start, cut, spans)
        start = cut
    if end > start and _HAS_CONTENT.search(text, start, end):
        spans.append(Span(start, end))


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text from outside (a question, an argument) made safe to process and print: lone surrogates (from
    undecodable bytes) become U+FFFD and control characters become spaces; everything else is kept."""
    return _CONTROL.sub(" ", _SURROGATE.sub("\ufffd", text))


# ---- tokens for BM25 ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")
_AR_STOPWORDS = {
    normalize(w)
    for w in (
        "في من على إلى الى عن مع أن إن ان كان كانت هذا هذه ذلك تلك التي الذي الذين ما ماذا متى كيف أين اين لماذا "
        "هل كم أي اي أو او ثم قد لقد لا لم لن بعد قبل عند حتى كل بين وقد وكان هو هي هم هن نحن أنا انا له لها لهم "
        "به بها فيه فيها منذ حول خلال أيضا ايضا وفي ومن وعلى والى وإلى ولا أما اما إذا اذا كما لكن بل غير عبر "
        "وهو وهي تم يتم التى الى"
    ).split()
}
_EN_STOPWORDS = set(
    (
        "a an the of in on at to for from by with and or but is are was were be been being do does did what "
        "which who whom whose when where why how that this these those it its as into about than then there "
        "their they he she his her him them i you we our your not no yes so if can could would should will "
        "has have had many much"
    ).split()
)
# Arabic prefixes (article and one-letter proclitics), longest first: ONE table for the stemmer, the number reader
# and the name matcher. A bare "ك" (as, like) starts too many words (كتاب) to strip when stemming.
ARABIC_PREFIXES = ("وبال", "وال", "بال", "كال", "فال", "لل", "ال", "و", "ب", "ل", "ف", "ك")
_STEM_PREFIXES = tuple(p for p in ARABIC_PREFIXES if p != "ك")
# The one-letter proclitics (and, by, for, so) that may stick to a name: "وتشرين", "بنوفمبر".
ARABIC_PROCLITICS = "".join(p for p in _STEM_PREFIXES if len(p) == 1)
_AR_SUFFIXES = ("هما", "كما", "تين", "ات", "ون", "ين", "ان", "يه", "ها", "هم", "نا", "وا", "ه", "ي")


def light_stem(token: str) -> str:
    """Strip one common Arabic prefix and suffix (keeping at least three letters); other scripts unchanged."""
    if not ARABIC_LETTER.match(token):
        return token
    for prefix in _STEM_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 3:
            token = token[len(prefix) :]
            break
    for suffix in _AR_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            token = token[: -len(suffix)]
            break
    return token


def tokenize(text: str) -> list[str]:
    """BM25 tokens: normalised, stopwords dropped, Arabic light-stemmed (diacritics never drop a word)."""
    tokens = []
    for raw in _TOKEN.findall(normalize(text)):
        if raw in _AR_STOPWORDS or raw in _EN_STOPWORDS or raw == "_":
            continue
        tokens.append(light_stem(raw))
    return tokens
