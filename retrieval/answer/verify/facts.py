"""The facts of an answer sentence that its cited source must state too: numbers, months, weekdays, contact
details, a negation, names. One reason string per first disagreement, for the answer's notes."""

from __future__ import annotations

from retrieval.answer.verify.contacts import missing_contacts
from retrieval.answer.verify.names import missing_names
from retrieval.answer.verify.negation import polarity
from retrieval.text.numbers import months_in, read_numbers, weekdays_in


def has_facts(text: str) -> bool:
    """Whether a text states a number, month or weekday that a source must then agree with."""
    return bool(read_numbers(text) or months_in(text) or weekdays_in(text))


def fact_mismatch(claim: str, evidence: str, names: bool = True) -> str:
    """Why the facts of `claim` are not all in `evidence` (numbers, months, weekdays, names, contact details,
    a negation), or "" if they are."""
    missing = read_numbers(claim).missing_from(read_numbers(evidence))
    if missing:
        return "number " + ", ".join(missing) + " not in the cited source"
    if months_in(claim) - months_in(evidence):
        return "month not in the cited source"
    if weekdays_in(claim) - weekdays_in(evidence):
        return "weekday not in the cited source"
    unsourced = missing_contacts(claim, evidence)
    if unsourced:
        return unsourced[0] + " not in the cited source"
    if polarity(claim).asserts and not polarity(evidence).negative:
        return "negation not in the cited source"
    absent = missing_names(claim, evidence) if names else []
    if absent:
        return "name " + ", ".join(absent) + " not in the cited source"
    return ""
