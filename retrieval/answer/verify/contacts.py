"""Links, e-mail addresses, phone numbers and @handles in an answer: only verbatim from its source.

A model that invents a contact detail sends a reader somewhere the article never pointed; a number that merely
looks like a phone number ("1,000,000") is not one.
"""

from __future__ import annotations

import re

from retrieval.text.arabic import normalize

_CONTACTS = [
    ("e-mail address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("link", re.compile(r"(?:https?|ftp|tg)://[^\s<>\"'»”)\]]+|\bwww\.[^\s<>\"'»”)\]]+", re.I)),
    (
        "link",
        re.compile(
            r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|info|io|co|me|ly|app|dev|xyz|online|site|top|"
            r"biz|gov|edu|tv|news|example|[a-z]{2})/[^\s<>\"'»”)\]]*|\b[a-z0-9-]+\.(?:com|net|org|io|info|xyz|"
            r"online|site|top|biz|example)\b",
            re.I,
        ),
    ),
    ("handle", re.compile(r"(?<![\w.@])@[A-Za-z0-9_]{3,32}\b")),
    ("phone number", re.compile(r"(?<![\w.])(?:\+|00)?\d[\d\s().-]{6,}\d(?![\w.])")),
]


def _is_phone(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 7 or len(digits) > 15:
        return False
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", raw.strip()) or (re.fullmatch(r"\d+", raw)):
        return False  # "1,000,000" is a number, and so is a long run of digits without separators
    return bool(re.search(r"[\s().-]", raw) or raw.startswith(("+", "00")))


def contacts_in(text: str) -> list[tuple[str, str]]:
    """(kind, as written) for every link, e-mail address, @handle and phone number in a text."""
    key = normalize(text)
    found: list[tuple[str, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _CONTACTS:
        for match in pattern.finditer(key):
            if any(a < match.end() and match.start() < b for a, b in taken):
                continue
            raw = match.group(0).rstrip(".,;:!?،؛")
            if kind == "phone number" and not _is_phone(raw):
                continue
            taken.append((match.start(), match.end()))
            found.append((kind, raw))
    return found


def missing_contacts(claim: str, evidence: str) -> list[str]:
    """ "link https://..." for each contact detail of the claim that the evidence does not hold verbatim."""
    source = normalize(evidence)
    source_digits = re.sub(r"\D", "", source)
    missing = []
    for kind, raw in contacts_in(claim):
        if kind == "phone number":
            present = re.sub(r"\D", "", raw) in source_digits
        else:
            present = raw.casefold() in source.casefold()
        if not present:
            missing.append(f"{kind} {raw}")
    return missing
