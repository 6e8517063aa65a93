"""Dates in questions and in --since/--until values, English and Arabic, as date ranges over `published`.

A question that names a day, a month or a year ("on 7 November 2021", "في تشرين الثاني 2021", "نوفمبر
2021", "7/11/2021", "٧/١١/٢٠٢١") is about news published then; this module only finds such mentions and
turns them into ranges. Whether a range restricts or boosts articles is the search's decision. Numbers are
read after `retrieval.text.arabic.normalize`, so Arabic-Indic digits count as digits. Numeric dates are read day
first (7/11/2021 = 7 November), as Arabic and British copy writes them, unless only month-first is valid.
Only years 1900-2100 count: a Hijri year (1443 هـ) is never read as a Gregorian one.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from retrieval.text.arabic import ARABIC_PROCLITICS, normalize
from retrieval.text.lexicon import is_ambiguous_month, month_number, month_regex

_MIN_YEAR, _MAX_YEAR = 1900, 2100


class DateError(ValueError):
    """A --since/--until value that is not a date khabar can read."""


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of calendar days."""

    start: date
    end: date

    def contains(self, published: str) -> bool | None:
        """Whether an article's `published` value falls in the range; None when it has no readable date."""
        day = parse_published(published)
        return None if day is None else self.start <= day <= self.end

    def widened(self, days_before: int = 0, days_after: int = 0) -> DateRange:
        """The range with slack: news about 7 November is often published on the 8th."""
        return DateRange(self.start - timedelta(days=days_before), self.end + timedelta(days=days_after))

    def __str__(self) -> str:
        return self.start.isoformat() if self.start == self.end else f"{self.start}..{self.end}"

    def span(self) -> str:
        """For people: "2021-11-01…2021-11-30", an open end (date.min, date.max) left blank: "2021-11-01…"."""
        start = self.start.isoformat() if self.start > date.min else ""
        end = self.end.isoformat() if self.end < date.max else ""
        return start if self.start == self.end else f"{start}…{end}"


@dataclass(frozen=True)
class DateMention:
    """A date found in a text: year, month and day as far as the text gives them (year None = not said)."""

    text: str
    year: int | None
    month: int | None = None
    day: int | None = None

    @property
    def granularity(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    def range(self, year: int | None = None) -> DateRange | None:
        """The days this mention covers; `year` fills a missing year; None when no year is known."""
        year = self.year or year
        if year is None:
            return None
        if self.month is None:
            return DateRange(date(year, 1, 1), date(year, 12, 31))
        if self.day is None:
            last = calendar.monthrange(year, self.month)[1]
            return DateRange(date(year, self.month, 1), date(year, self.month, last))
        return DateRange(date(year, self.month, self.day), date(year, self.month, self.day))


_MONTH = rf"(?<!\w)[{ARABIC_PROCLITICS}]?(?:{month_regex()})(?!\w)\.?"
_YEAR = r"(?:19|20)\d\d(?!\d)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_ORDINAL = r"(?:st|nd|rd|th)?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(rf"(?<!\d)(?P<y>{_YEAR})-(?P<m>[01]?\d)(?:-(?P<d>[0-3]?\d))?(?!\d)")),
    ("ymd", re.compile(rf"(?<!\d)(?P<y>{_YEAR})[/.](?P<m>[01]?\d)[/.](?P<d>[0-3]?\d)(?!\d)")),
    ("dmy", re.compile(rf"(?<![\d/.-])(?P<a>\d{{1,2}})[/.-](?P<b>\d{{1,2}})[/.-](?P<y>{_YEAR})")),
    # "November 7, 2021", "Nov. 7th 2021"
    ("mdy", re.compile(rf"(?P<m>{_MONTH})\s+(?P<d>{_DAY}){_ORDINAL},?\s+(?P<y>{_YEAR})")),
    # "7 November 2021", "7th of November", "7 تشرين الثاني/ نوفمبر 2021", "نوفمبر 2021", "in November"
    (
        "dm",
        re.compile(
            rf"(?:(?<!\d)(?P<d>{_DAY}){_ORDINAL}\s+(?:of\s+|من\s+)?)?(?P<m>{_MONTH})"
            rf"(?:\s*/\s*(?P<m2>{_MONTH}))?(?:\s*,?\s*(?:من\s+)?(?:عام\s+|سنه\s+)?(?P<y>{_YEAR}))?"
        ),
    ),
    # a year alone only after a word that makes it a time: "in 2021", "عام 2021", "خلال 2021"
    (
        "year",
        re.compile(
            rf"(?<!\w)(?:in|during|since|of|في|عام|العام|سنه|خلال|[{ARABIC_PROCLITICS}]?عام)\s+(?P<y>{_YEAR})"
        ),
    ),
]


def find_dates(text: str) -> list[DateMention]:
    """Every day, month or year a text names, in reading order (overlapping readings resolved by priority)."""
    key = normalize(text)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, DateMention]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(key):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            mention = _mention(kind, match)
            if mention is not None:
                taken.append(match.span())
                found.append((match.start(), mention))
    return [mention for _, mention in sorted(found, key=lambda item: item[0])]


def _mention(kind: str, match: re.Match[str]) -> DateMention | None:
    groups = match.groupdict()
    year = int(groups["y"]) if groups.get("y") else None
    if kind == "dmy":
        day, month = int(groups["a"]), int(groups["b"])
        if month > 12 >= day:  # only month-first is a valid reading: 11/17/2021
            day, month = month, day
        return _checked(match.group(0), year, month, day)
    if kind in ("iso", "ymd"):
        return _checked(match.group(0), year, int(groups["m"]), int(groups["d"]) if groups["d"] else None)
    if kind == "year":
        return DateMention(match.group(0), year)
    month = month_number(groups["m"])
    day = int(groups["d"]) if groups.get("d") else None
    if day is None and year is None and is_ambiguous_month(groups["m"]):
        return None  # "may", "march" or "آب" on its own is a word, not a month
    return _checked(match.group(0), year, month, day)


def _checked(text: str, year: int | None, month: int | None, day: int | None) -> DateMention | None:
    """The mention if it is a real calendar date (no 31 February, no month 13)."""
    if month is None or not 1 <= month <= 12:
        return None
    if day is not None:
        last = calendar.monthrange(year or 2000, month)[1]  # 2000 is a leap year: 29 February stays valid
        if not 1 <= day <= last:
            return None
    return DateMention(text, year, month, day)


def question_range(text: str, today: date | None = None, years: bool = True) -> DateRange | None:
    """The dates a question asks about as one range (None when it names none).

    A month or day without a year takes the year of a later mention ("between October and November 2021"),
    else the latest such month not after `today`, else it is ignored. With `years=False` a year named alone
    ("in 2015") is no range: in questions it is nearly always when an event happened, not when news of it
    was published (every such question in the eval sets), so it must not favour articles published then.
    """
    mentions = find_dates(text)
    ranges: list[DateRange] = []
    for i, mention in enumerate(mentions):
        if not years and mention.granularity == "year":
            continue
        year = next((m.year for m in mentions[i + 1 :] if m.year), None)
        if mention.year is None and year is None and today is not None and mention.month:
            year = (
                today.year
                if (mention.month, mention.day or 1) <= (today.month, today.day)
                else today.year - 1
            )
        span = mention.range(year)
        if span is not None:
            ranges.append(span)
    if not ranges:
        return None
    return DateRange(min(r.start for r in ranges), max(r.end for r in ranges))


_RELATIVE = re.compile(r"(\d+)\s*([dw])")


def parse_bound(value: str, *, end: bool, today: date | None = None) -> date:
    """A --since (end=False: first day) or --until (end=True: last day) value as a date.

    Accepts 2021-11-07, 2021-11 (the whole month), 2021, 7/11/2021, "7 November 2021", "نوفمبر 2021",
    today, yesterday, and 7d / 2w (days or weeks before today).
    """
    raw = value.strip()
    today = today or date.today()
    word = raw.casefold()
    if word in ("today", "اليوم"):
        return today
    if word in ("yesterday", "أمس", "امس", "البارحة"):
        return today - timedelta(days=1)
    relative = _RELATIVE.fullmatch(word)
    if relative:
        amount = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        return today - timedelta(days=amount)
    if re.fullmatch(r"(?:19|20)\d\d", raw):
        return date(int(raw), 12, 31) if end else date(int(raw), 1, 1)
    day = parse_published(raw)
    if day is not None:
        return day
    mentions = find_dates(raw)
    if len(mentions) == 1 and mentions[0].year is not None:
        span = mentions[0].range()
        if span is not None:
            return span.end if end else span.start
    raise DateError(
        f"cannot read {value!r} as a date (use 2021-11-07, 2021-11, 2021, 7/11/2021, today, yesterday or 7d)"
    )


def day_key(day: date) -> int:
    """A day as the int YYYYMMDD (what sentences and chunks store as `published_day`, for Chroma's $gte/$lte)."""
    return day.year * 10000 + day.month * 100 + day.day


def parse_published(value: str) -> date | None:
    """The calendar day of an ISO 8601 `published` value ("2021-11-07", "2021-11-07T08:30:00+03:00").

    The day is the one written (the outlet's local day), not converted to UTC: that is the day readers mean.
    """
    text = normalize(value or "")
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).date()
    except ValueError:
        pass
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})[t ].*", text)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    return None
