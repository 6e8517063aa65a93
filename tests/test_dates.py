"""Dates in questions and --since/--until values, both Arabic month systems, Arabic-Indic digits."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.text.dates import (
    DateError,
    DateRange,
    find_dates,
    parse_bound,
    parse_published,
    question_range,
)
from retrieval.text.lexicon import MONTHS, is_ambiguous_month, month_number

NOVEMBER_2021 = DateRange(date(2021, 11, 1), date(2021, 11, 30))
NOV_7 = DateRange(date(2021, 11, 7), date(2021, 11, 7))


@pytest.mark.parametrize(
    ("levantine", "egyptian", "number"),
    [
        ("كانون الثاني", "يناير", 1),
        ("شباط", "فبراير", 2),
        ("آذار", "مارس", 3),
        ("نيسان", "أبريل", 4),
        ("أيار", "مايو", 5),
        ("حزيران", "يونيو", 6),
        ("تموز", "يوليو", 7),
        ("آب", "أغسطس", 8),
        ("أيلول", "سبتمبر", 9),
        ("تشرين الأول", "أكتوبر", 10),
        ("تشرين الثاني", "نوفمبر", 11),
        ("كانون الأول", "ديسمبر", 12),
    ],
)
def test_both_arabic_month_systems_name_the_same_month(levantine: str, egyptian: str, number: int) -> None:
    assert month_number(levantine) == month_number(egyptian) == number
    assert question_range(f"ماذا حدث في {levantine} 2021؟") == question_range(f"ماذا حدث في {egyptian} 2021؟")


def test_spelling_variants_clitics_and_maghrebi_names() -> None:
    assert month_number("إبريل") == month_number("ابريل") == month_number("أفريل") == 4
    assert month_number("يونيه") == month_number("جوان") == 6
    assert month_number("وتشرين الثاني") == month_number("بنوفمبر") == month_number("نونبر") == 11
    assert month_number("Nov.") == month_number("NOVEMBER") == 11
    assert month_number("فبراير") == 2  # starts with a letter that is also a clitic (ف)
    assert month_number("الطماطم") is None
    assert all(len(names) >= 3 for names in MONTHS.values())
    assert is_ambiguous_month("May") and is_ambiguous_month("آب") and not is_ambiguous_month("نوفمبر")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What happened in November 2021?", NOVEMBER_2021),
        ("What did the ministry say on 7 November 2021?", NOV_7),
        ("What was reported on November 7, 2021?", NOV_7),
        ("ماذا حدث في تشرين الثاني 2021؟", NOVEMBER_2021),
        ("ما أخبار نوفمبر 2021", NOVEMBER_2021),
        ("ماذا جرى يوم 7/11/2021؟", NOV_7),
        ("ماذا جرى يوم ٧/١١/٢٠٢١؟", NOV_7),
        ("ماذا جرى في ٧ تشرين الثاني ٢٠٢١؟", NOV_7),
        ("صباح الأحد 7 تشرين الثاني/ نوفمبر 2021", NOV_7),
        ("news of 2021-11-07", NOV_7),
        ("what happened between October and November 2021", DateRange(date(2021, 10, 1), date(2021, 11, 30))),
        ("ماذا حدث عام 2021", DateRange(date(2021, 1, 1), date(2021, 12, 31))),
    ],
)
def test_question_dates_become_ranges(question: str, expected: DateRange) -> None:
    assert question_range(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "Who attacked Kadhimi's house?",
        "May I ask who was behind the attack?",  # "May" the verb
        "How many drones were used, 3 or 4?",
        "ما هو دور قاآني؟",
        "وقعت الحادثة عام 1443 هـ",  # a Hijri year is not read as a Gregorian one
        "the 2003 invasion",  # a year in a name, not a time to restrict to
        "ماذا جرى في 31/2/2021",  # no such day
    ],
)
def test_date_free_questions_have_no_range(question: str) -> None:
    assert question_range(question) is None


def test_a_month_without_a_year_needs_a_reference_day() -> None:
    mentions = find_dates("ماذا قال الوزير في أيار؟")
    assert [(m.year, m.month, m.granularity) for m in mentions] == [(None, 5, "month")]
    assert question_range("ماذا قال الوزير في أيار؟") is None
    assert question_range("ماذا قال الوزير في أيار؟", today=date(2022, 3, 1)) == DateRange(
        date(2021, 5, 1), date(2021, 5, 31)
    )
    assert question_range("in November?", today=date(2021, 11, 20)).start == date(2021, 11, 1)


def test_numeric_dates_are_day_first_unless_only_month_first_is_valid() -> None:
    assert question_range("3/4/2021").start == date(2021, 4, 3)
    assert question_range("11/17/2021").start == date(2021, 11, 17)


def test_range_containment_and_slack() -> None:
    assert NOVEMBER_2021.contains("2021-11-08T09:30:00+03:00") is True
    assert NOVEMBER_2021.contains("2021-12-01") is False
    assert NOVEMBER_2021.contains("") is None and NOVEMBER_2021.contains("yesterday") is None
    assert NOV_7.widened(days_after=2).contains("2021-11-09") is True
    # the day is the one the outlet wrote, not shifted to UTC
    assert parse_published("2021-11-08T01:00:00+03:00") == date(2021, 11, 8)


@pytest.mark.parametrize(
    ("value", "since", "until"),
    [
        ("2021-11-01", date(2021, 11, 1), date(2021, 11, 1)),
        ("2021-11", date(2021, 11, 1), date(2021, 11, 30)),
        ("2021", date(2021, 1, 1), date(2021, 12, 31)),
        ("7/11/2021", date(2021, 11, 7), date(2021, 11, 7)),
        ("November 2021", date(2021, 11, 1), date(2021, 11, 30)),
        ("تشرين الثاني ٢٠٢١", date(2021, 11, 1), date(2021, 11, 30)),
        ("today", date(2022, 1, 10), date(2022, 1, 10)),
        ("yesterday", date(2022, 1, 9), date(2022, 1, 9)),
        ("7d", date(2022, 1, 3), date(2022, 1, 3)),
        ("2w", date(2021, 12, 27), date(2021, 12, 27)),
    ],
)
def test_since_and_until_values(value: str, since: date, until: date) -> None:
    today = date(2022, 1, 10)
    assert parse_bound(value, end=False, today=today) == since
    assert parse_bound(value, end=True, today=today) == until


@pytest.mark.parametrize("value", ["", "soon", "2021-13-01", "November", "32/1/2021"])
def test_unreadable_bounds_say_what_is_accepted(value: str) -> None:
    with pytest.raises(DateError, match="2021-11-07"):
        parse_bound(value, end=False)


def test_a_year_alone_is_no_publication_window() -> None:
    assert question_range("What happened in 2015?", years=False) is None
    assert question_range("ما الذي حدث عام 2015؟", years=False) is None
    assert question_range("What did outlets report in November 2021?", years=False) == NOVEMBER_2021
    assert question_range("ماذا نشر في تشرين الثاني 2021 عن دجلة؟", years=False) == NOVEMBER_2021
