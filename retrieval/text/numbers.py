"""Numbers and calendar names as stated in English or Arabic text, in any spelling, read to comparable values.

The verifier needs "fifteen" = "15" = "١٥" = "خمسة عشر", "a dozen" = 12, "the third" = "الثالث", "3 million" =
"٣ ملايين", and needs to tell a vague quantity ("dozens", "عشرات", "hundreds", "مئات") from an exact one, so that a
claim of "36 drones" is not supported by "عشرات الطائرات" while "dozens of drones" is. `read_numbers` is the one
reader; month and weekday phrases are masked first, so "تشرين الثاني" (November) and "الاثنين" (Monday) are not
read as 2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from retrieval.text.arabic import ARABIC_PREFIXES, ARABIC_PROCLITICS, normalize
from retrieval.text.lexicon import AMBIGUOUS_MONTH_NAMES, MONTHS, WEEKDAYS

# ---- calendar names ----------------------------------------------------------------------------------

# Names that are also common words ("may", "march", "آب" = father once normalised) count only as capitalised
# or as written, so they are matched on the original text instead of the matching key.
_AS_WRITTEN = {n: n.capitalize() if n.isascii() else n for n in AMBIGUOUS_MONTH_NAMES}
CALENDAR_WORDS = frozenset(
    n for names in (*MONTHS.values(), *WEEKDAYS.values()) for n in names if n.isascii()
)


def _name_patterns(table: dict[int, tuple[str, ...]]) -> list[tuple[int, re.Pattern[str], bool]]:
    """(value, pattern, on_original_text) per name; an Arabic name may carry one clitic (و ب ل ف) or "ال"."""
    patterns = []
    for value, names in table.items():
        for name in names:
            if name in _AS_WRITTEN:
                patterns.append((value, re.compile(rf"(?<!\w){_AS_WRITTEN[name]}(?!\w)"), True))
            else:
                key = re.escape(normalize(name))
                clitic = "" if name.isascii() else f"[{ARABIC_PROCLITICS}]?"
                patterns.append((value, re.compile(rf"(?<!\w){clitic}{key}(?!\w)"), False))
    return patterns


_MONTH_PATTERNS = _name_patterns(MONTHS)
_WEEKDAY_PATTERNS = _name_patterns(WEEKDAYS)


def _names_in(text: str, patterns: list[tuple[int, re.Pattern[str], bool]]) -> set[int]:
    key = normalize(text)
    return {value for value, pattern, as_written in patterns if pattern.search(text if as_written else key)}


def months_in(text: str) -> set[int]:
    """Months named in a text (1-12), English or Arabic (Egyptian and Levantine names alike)."""
    return _names_in(text, _MONTH_PATTERNS)


def weekdays_in(text: str) -> set[int]:
    """Weekdays named in a text (1 = Monday)."""
    return _names_in(text, _WEEKDAY_PATTERNS)


_CALENDAR_MASK = re.compile(
    "|".join(
        sorted(
            (
                rf"(?<!\w)[{ARABIC_PROCLITICS}]?{re.escape(normalize(n))}(?!\w)"
                for names in (*MONTHS.values(), *WEEKDAYS.values())
                for n in names
                if not n.isascii()
            ),
            key=len,
            reverse=True,
        )
    )
)

# ---- number words -------------------------------------------------------------------------------------

# kinds: "unit" 1-9, "ten" 10, "teen" 11-19, "tens" 20-90, "hundreds" 100-900 in one word, "hundred" (x100),
# "scale" (x1000...), "ord" ordinals, "frac" fractions. A phrase is a run of words composed as numbers are
# spoken; two words of the same kind in a row start a new number ("three or four" is not seven).
_EN_UNITS = "one two three four five six seven eight nine".split()
_EN_TEENS = "eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_EN_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_ORDINALS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth"
).split()
_EN_TENS_ORDINALS = "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split()


@dataclass(frozen=True)
class _Word:
    value: float
    kind: str
    weak: bool = False  # "one", "واحد": a number only inside a longer phrase ("one hundred"), not alone


def _en_lexicon() -> dict[str, _Word]:
    words: dict[str, _Word] = {}
    for i, w in enumerate(_EN_UNITS, 1):
        words[w] = _Word(i, "unit", weak=w == "one")
    words["ten"] = _Word(10, "ten")
    for i, w in enumerate(_EN_TEENS, 11):
        words[w] = _Word(i, "teen")
    for i, w in enumerate(_EN_TENS, 2):
        words[w] = _Word(i * 10, "tens")
    for i, w in enumerate(_EN_ORDINALS, 1):
        words[w] = _Word(i, "ord")
    for i, w in enumerate(_EN_TENS_ORDINALS, 2):
        words[w] = _Word(i * 10, "ord")
    words |= {
        "hundred": _Word(100, "hundred"),
        "hundredth": _Word(100, "ord"),
        "thousand": _Word(1e3, "scale"),
        "thousandth": _Word(1e3, "ord"),
        "million": _Word(1e6, "scale"),
        "millionth": _Word(1e6, "ord"),
        "billion": _Word(1e9, "scale"),
        "trillion": _Word(1e12, "scale"),
        "dozen": _Word(12, "dozen"),
        "half": _Word(0.5, "frac"),
        "halves": _Word(0.5, "frac"),
        "quarter": _Word(0.25, "frac"),
        "quarters": _Word(0.25, "frac"),
        "thirds": _Word(1 / 3, "frac"),
        "fifths": _Word(0.2, "frac"),
        "tenths": _Word(0.1, "frac"),
    }
    return words


_AR_WORDS: dict[str, tuple[float, str]] = {
    # units (masculine and feminine, nominative and oblique, as written after normalisation)
    "واحد واحده احد احدي": (1, "unit*"),
    "اثنان اثنين اثنتان اثنتين اثنا اثني اثنتا اثنتي": (2, "unit"),
    "ثلاث ثلاثه": (3, "unit"),
    "اربع اربعه": (4, "unit"),
    "خمس خمسه": (5, "unit"),
    "ست سته": (6, "unit"),
    "سبع سبعه": (7, "unit"),
    "ثمان ثماني ثمانيه": (8, "unit"),
    "تسع تسعه": (9, "unit"),
    "عشر عشره": (10, "ten"),
    "عشرون عشرين": (20, "tens"),
    "ثلاثون ثلاثين": (30, "tens"),
    "اربعون اربعين": (40, "tens"),
    "خمسون خمسين": (50, "tens"),
    "ستون ستين": (60, "tens"),
    "سبعون سبعين": (70, "tens"),
    "ثمانون ثمانين": (80, "tens"),
    "تسعون تسعين": (90, "tens"),
    "مئه مائه": (100, "hundred"),
    "مئتان مئتين مائتان مائتين مئتا مائتا مئتي مائتي": (200, "hundreds"),
    "ثلاثمئه ثلاثمائه": (300, "hundreds"),
    "اربعمئه اربعمائه": (400, "hundreds"),
    "خمسمئه خمسمائه": (500, "hundreds"),
    "ستمئه ستمائه": (600, "hundreds"),
    "سبعمئه سبعمائه": (700, "hundreds"),
    "ثمانمئه ثمانمائه ثمانيمائه": (800, "hundreds"),
    "تسعمئه تسعمائه": (900, "hundreds"),
    "الف": (1e3, "scale"),
    "الفا الفان الفين": (2e3, "scale2"),
    "مليون": (1e6, "scale"),
    "مليونا مليونان مليونين": (2e6, "scale2"),
    "مليار": (1e9, "scale"),
    "مليارا ملياران مليارين": (2e9, "scale2"),
    "ترليون تريليون": (1e12, "scale"),
    # plurals after a number ("ثلاثة آلاف"), vague on their own ("آلاف" = thousands)
    "الاف": (1e3, "scales"),
    "ملايين": (1e6, "scales"),
    "مليارات": (1e9, "scales"),
    # ordinals
    "اول اولي": (1, "ord"),
    "ثاني ثانيه": (2, "ord"),
    "ثالث ثالثه": (3, "ord"),
    "رابع رابعه": (4, "ord"),
    "خامس خامسه": (5, "ord"),
    "سادس سادسه": (6, "ord"),
    "سابع سابعه": (7, "ord"),
    "ثامن ثامنه": (8, "ord"),
    "تاسع تاسعه": (9, "ord"),
    "عاشر عاشره": (10, "ord"),
    "حادي": (1, "ord*"),
    # fractions ("خمس" is five: without diacritics it cannot be told from a fifth)
    "نصف": (0.5, "frac"),
    "ثلث": (1 / 3, "frac"),
    "ثلثا ثلثي": (2 / 3, "frac"),
    "ربع": (0.25, "frac"),
    "ارباع": (0.25, "frac"),
}


def _ar_lexicon() -> dict[str, _Word]:
    words: dict[str, _Word] = {}
    for forms, (value, kind) in _AR_WORDS.items():
        for form in forms.split():
            words[form] = _Word(value, kind.rstrip("*"), weak=kind.endswith("*"))
    return words


_EN = _en_lexicon()
_AR = _ar_lexicon()
# vague quantities: the word and the power of ten it stands for ("dozens" ~ 10^1, "hundreds" ~ 10^2)
_VAGUE = {
    "dozens": 1,
    "tens": 1,
    "scores": 1,
    "hundreds": 2,
    "thousands": 3,
    "millions": 6,
    "billions": 9,
    "عشرات": 1,
    "مئات": 2,
}
_PERCENT_WORDS = {"المئه", "المائه", "بالمئه", "بالمائه"}  # "في المئة" is "percent", not a hundred
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[^\W\d_]+|-")
_ORDINAL_DIGITS = re.compile(r"(\d+)(?:st|nd|rd|th)")
_CONNECTORS = {"and", "-", "a", "of"}


@dataclass(frozen=True)
class Numbers:
    """What a text states: exact values, and vague quantities as powers of ten ("dozens" = 1, "مئات" = 2)."""

    exact: frozenset[float] = field(default_factory=frozenset)
    vague: frozenset[int] = field(default_factory=frozenset)

    def missing_from(self, other: Numbers) -> list[str]:
        """What this text states that `other` does not: an exact value must be there exactly; a vague one as
        the same vague word or as an exact value of that size ("dozens" is stated by 36)."""
        missing = [_fmt(v) for v in sorted(self.exact) if not any(_same(v, w) for w in other.exact)]
        for power in sorted(self.vague):
            low, high = 2 * 10**power, 10 ** (power + 1)
            if power not in other.vague and not any(low <= w < high for w in other.exact):
                missing.append(f"~10^{power}")
        return missing

    def __bool__(self) -> bool:
        return bool(self.exact or self.vague)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a))


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.3g}"


def _digits(raw: str) -> list[float]:
    """A digit token: "1,000" and "2.5" are one number, "7.11.2021" three (a date written with dots)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw):
        return [float(raw.replace(",", ""))]
    try:
        return [float(raw.replace(",", "."))]
    except ValueError:
        return [float(part) for part in re.split(r"[.,]", raw) if part]


def _lookup(token: str) -> _Word | None:
    """A number word, possibly behind Arabic clitics ("وبثلاث", "والثالث") or with tanween alif ("ثلاثا")."""
    if token in _EN:
        return _EN[token]
    candidates = [token]
    for prefix in ARABIC_PREFIXES:
        if token.startswith(prefix) and len(token) > len(prefix) + 1:
            candidates.append(token[len(prefix) :])
    for candidate in candidates:
        if candidate in _AR:
            return _AR[candidate]
        if candidate.endswith("ا") and candidate[:-1] in _AR and len(candidate) > 3:
            return _AR[candidate[:-1]]
    return None


def _vague(token: str) -> int | None:
    for candidate in (token, *(token[len(p) :] for p in ARABIC_PREFIXES if token.startswith(p))):
        if candidate in _VAGUE:
            return _VAGUE[candidate]
    return None


class _Phrase:
    """Composes number words as they are spoken: "one hundred and twenty-five", "خمسة وعشرون", "ثلاثة آلاف"."""

    def __init__(self) -> None:
        self.total = 0.0
        self.current = 0.0
        self.kinds: list[str] = []
        self.weak = True

    def accepts(self, word: _Word) -> bool:
        if not self.kinds:
            return True
        last = self.kinds[-1]
        if word.kind in ("ord", "frac") and last in ("ord", "frac"):
            return False
        if word.kind in ("unit", "teen", "tens", "hundreds", "ten") and last == word.kind:
            return False
        if last in ("ord", "frac") and word.kind not in ("ten", "tens", "scale", "scales"):
            return False  # "الثالث عشر" (13th) and "الحادي والعشرين" (21st) go on; "first three" does not
        return not (word.kind == "unit" and last == "teen")

    def add(self, word: _Word) -> None:
        self.weak = self.weak and word.weak
        kind = word.kind
        if kind == "hundred":
            self.current = (self.current or 1) * 100
        elif kind == "scale2" or (kind in ("scale", "scales") and (self.current or self.total)):
            self.total += (self.current or 1) * word.value
            self.current = 0.0
        elif kind == "scale":
            self.total += word.value
        elif kind == "dozen":
            self.current = (self.current or 1) * 12
        elif kind == "frac" and self.current and word.value < 1 and self.kinds[-1] != "ord":
            self.current *= word.value  # "two thirds", "ثلاثة أرباع"
        else:
            self.current += word.value
        self.kinds.append(kind)

    def value(self) -> float | None:
        if not self.kinds or self.weak:
            return None
        return self.total + self.current


def _number_key(text: str) -> str:
    """The text as the reader sees it: normalised, Arabic separators read, years of ranges written in full,
    calendar names masked."""
    key = normalize(text).replace("٫", ".").replace("٬", ",")
    key = re.sub(r"(?<=\d)،(?=\d{3}\b)", ",", key)  # "22،338،618": an Arabic comma between thousands
    # "2001-02", "1620-21": the second year of a range written short
    key = re.sub(r"\b(\d{2})(\d{2})\s*[-–/]\s*(\d{2})\b", lambda m: f"{m[1]}{m[2]}-{m[1]}{m[3]}", key)
    return _CALENDAR_MASK.sub(" ", key)


class _Reader:
    """One pass over a text's tokens: digits, vague quantities and number words composed into phrases."""

    def __init__(self, text: str) -> None:
        self.tokens = _TOKEN.findall(_number_key(text))
        self.exact: set[float] = set()
        self.vague: set[int] = set()
        self.skip: set[int] = set()  # tokens already read as part of the one before ("tens of thousands")
        self.phrase = _Phrase()
        self.pending_digits: float | None = None  # "3 million", "2.5 مليار"

    def read(self) -> Numbers:
        for i, token in enumerate(self.tokens):
            self._token(i, token)
        self._close()
        return Numbers(frozenset(self.exact), frozenset(self.vague))

    def _close(self) -> None:
        value = self.phrase.value()
        if value is not None:
            self.exact.add(value)
        self.phrase = _Phrase()

    def _at(self, i: int) -> str:
        return self.tokens[i] if 0 <= i < len(self.tokens) else ""

    def _token(self, i: int, token: str) -> None:
        if token[0].isdigit():
            self._close()
            ordinal = _ORDINAL_DIGITS.fullmatch(token)
            values = [float(ordinal.group(1))] if ordinal else _digits(token)
            self.exact.update(values)
            self.pending_digits = values[-1] if len(values) == 1 else None
            return
        if token in _PERCENT_WORDS:
            self._close()
            self.pending_digits = None
            return
        if i in self.skip:
            return
        word = _lookup(token)
        pending, self.pending_digits = self.pending_digits, None
        if word is not None and pending is not None and word.kind in ("scale", "scales", "hundred"):
            self.exact.discard(pending)  # "3 million" states 3,000,000, not 3
            self.exact.add(pending * (100 if word.kind == "hundred" else word.value))
        elif word is not None and word.kind == "scales" and not self.phrase.kinds:
            self.vague.add(round(math.log10(word.value)))
        elif word is None:
            self._other_word(i, token)
        else:
            self._number_word(i, token, word)

    def _other_word(self, i: int, token: str) -> None:
        """A token that is no number word: a vague quantity, a connector inside a phrase, "a" before a
        hundred or a dozen, or the end of a phrase."""
        power = _vague(token)
        if power is not None:
            self._close()
            # "tens of thousands", "مئات الآلاف": the vague word times the scale after it
            j = i + 2 if self._at(i + 1) == "of" else i + 1
            after = _lookup(self._at(j)) if j < len(self.tokens) else None
            if after is not None and after.kind in ("scale", "scales"):
                power += round(math.log10(after.value))
                self.skip.add(j)
            elif j < len(self.tokens) and (_vague(self.tokens[j]) or 0) > 2:
                power += _vague(self.tokens[j]) or 0
                self.skip.add(j)
            self.vague.add(power)
            return
        if token in _CONNECTORS and self.phrase.kinds:
            return
        following = _lookup(self._at(i + 1)) if i + 1 < len(self.tokens) else None
        self._close()
        if token == "a" and following is not None and following.kind in ("hundred", "scale", "dozen", "frac"):
            self.phrase.add(_Word(1, "unit", weak=True))

    def _number_word(self, i: int, token: str, word: _Word) -> None:
        before = self._at(i - 1)
        if token == "second" and not self.phrase.kinds and before != "the":
            return  # "a second" is a unit of time as often as an ordinal; only "the second" counts
        if word.kind == "ord" and token in _EN and before in ("a", "one") and 3 <= word.value <= 10:
            self._close()
            self.exact.add(1 / word.value)  # "a third of the votes"
            return
        cardinal_before = bool(self.phrase.kinds) and self.phrase.kinds[-1] not in ("ord", "frac")
        if word.kind == "frac" and not cardinal_before:
            self._close()
            if token in ("half", "quarter") and (before in ("a", "one") or self._at(i + 1) == "of"):
                self.exact.add(word.value)  # "half of the drones", "a quarter": not "the fourth quarter"
            elif not token.startswith(("ال", "وال", "بال")) and token not in _EN:
                self.exact.add(word.value)  # "نصف", "ثلث"; "الربع الرابع" is a period of play
            return
        if not self.phrase.accepts(word):
            self._close()
        self.phrase.add(word)


def read_numbers(text: str) -> Numbers:
    """Every number a text states, whatever the digits or words, composed ("twenty-five", "ثلاثة عشر" = 13)."""
    return _Reader(text).read()


def numbers_in(text: str) -> set[float]:
    """The exact numbers a text states (see `read_numbers`)."""
    return set(read_numbers(text).exact)
