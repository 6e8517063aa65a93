"""Calendar words in English and Arabic: ONE table of month and weekday names for every module that reads dates.

Arabic writes the Gregorian months in several systems, and news copy mixes them ("7 تشرين الثاني/ نوفمبر
2021"): the Levantine/Iraqi names (كانون الثاني, شباط, آذار ... تشرين الثاني), the Egyptian/Gulf transliterations
(يناير, فبراير ... نوفمبر) with their spelling variants (إبريل/أبريل, يونيه/يونيو, أغسطس/اغسطس), the Algerian/
Tunisian ones (جانفي, فيفري, أفريل, جوان, جويلية, أوت) and the Moroccan ones (يوليوز, غشت, شتنبر, نونبر, دجنبر).
All of them map to the month number here; lookups go through `retrieval.text.arabic.normalize`, so alef/yaa/taa
marbuta variants, diacritics and tatweel need no entries of their own.
"""

from __future__ import annotations

import re
from functools import cache

from retrieval.text.arabic import ARABIC_PROCLITICS, normalize

MONTHS: dict[int, tuple[str, ...]] = {
    1: ("january", "يناير", "كانون الثاني", "جانفي"),
    2: ("february", "فبراير", "شباط", "فيفري"),
    3: ("march", "مارس", "آذار"),
    4: ("april", "أبريل", "إبريل", "نيسان", "أفريل", "ابريل"),
    5: ("may", "مايو", "أيار", "ماي", "مايس"),
    6: ("june", "يونيو", "يونيه", "حزيران", "جوان"),
    7: ("july", "يوليو", "يوليه", "تموز", "جويلية", "يوليوز"),
    8: ("august", "أغسطس", "آب", "أوت", "غشت", "اغسطس"),
    9: ("september", "سبتمبر", "أيلول", "شتنبر"),
    10: ("october", "أكتوبر", "تشرين الأول", "اكتوبر"),
    11: ("november", "نوفمبر", "تشرين الثاني", "نونبر"),
    12: ("december", "ديسمبر", "كانون الأول", "دجنبر"),
}

# English abbreviations: dates read them ("Nov. 7, 2021"); the verifier does not, since "Jan" and "Dec" are also
# names and "mar" a verb, and a claim is compared with its source in full words.
MONTH_ABBREVIATIONS: dict[int, tuple[str, ...]] = {
    1: ("jan",),
    2: ("feb",),
    3: ("mar",),
    4: ("apr",),
    6: ("jun",),
    7: ("jul",),
    8: ("aug",),
    9: ("sep", "sept"),
    10: ("oct",),
    11: ("nov",),
    12: ("dec",),
}

WEEKDAYS: dict[int, tuple[str, ...]] = {
    # ISO weekday numbers (Monday = 1), as date.isoweekday() gives them.
    1: ("monday", "الاثنين", "الإثنين"),
    2: ("tuesday", "الثلاثاء"),
    3: ("wednesday", "الأربعاء"),
    4: ("thursday", "الخميس"),
    5: ("friday", "الجمعة"),
    6: ("saturday", "السبت"),
    7: ("sunday", "الأحد"),
}

# Names that are also ordinary words: "may", "march", "mar" in English; آب is "father" once normalised
# (اب), ماي is "water" in dialect. A reader should accept them only as written (capitalised) or next to a
# day number or a year.
AMBIGUOUS_MONTH_NAMES = frozenset({"may", "march", "mar", "آب", "ماي", "sep", "dec"})


@cache
def month_lookup() -> dict[str, int]:
    """Normalised month name -> month number (1-12), every system and spelling in MONTHS."""
    tables = (MONTHS, MONTH_ABBREVIATIONS)
    return {normalize(name): number for table in tables for number, names in table.items() for name in names}


@cache
def month_regex() -> str:
    """A regex alternation of every normalised month name, longest first (so "تشرين الثاني" beats "تشرين")."""
    names = sorted(month_lookup(), key=len, reverse=True)
    return "|".join(re.escape(name) for name in names)


def month_key(name: str) -> str | None:
    """The normalised table entry a written month name stands for (a proclitic and a final dot dropped)."""
    key = normalize(name).rstrip(".")
    if key in month_lookup():
        return key
    if len(key) > 3 and key[0] in ARABIC_PROCLITICS and key[1:] in month_lookup():
        return key[1:]
    return None


def month_number(name: str) -> int | None:
    """The month a name denotes in any system ("تشرين الثاني", "نوفمبر", "Nov" -> 11), else None."""
    key = month_key(name)
    return None if key is None else month_lookup()[key]


def is_ambiguous_month(name: str) -> bool:
    """Whether a month name is also an ordinary word (see AMBIGUOUS_MONTH_NAMES)."""
    return month_key(name) in {normalize(n) for n in AMBIGUOUS_MONTH_NAMES}
