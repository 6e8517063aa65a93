"""Follow-up questions: a short question that leans on an earlier turn ("and who denied it?", "ومن نفى ذلك؟").

Without the earlier turn such a question has no subject, and searching it alone quotes whatever sentence happens
to match its few words; with one, it is searched together with the subject of the last self-contained question.
"""

from __future__ import annotations

import re

from retrieval.text.arabic import normalize

_WORD = re.compile(r"\w+")
MAX_WORDS = 8  # longer questions usually name their subject
_EN_LEADS = {"and", "but", "so", "also", "then"}
_EN_REFERENCES = {"it", "he", "him", "she", "they", "them", "this", "these", "those", "same"}
_EN_POSSESSIVES = {"its", "his", "her", "their"}  # "How did Tesla finance his work?" names its subject
_EN_LAST = {"that", "then"}  # "who said that?"; inside a question "that" is usually a conjunction
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][a-z]")
_EN_ABOUT = re.compile(r"^(what|how) about\b")
_AR_LEADS = ("و", "ف")  # a question opened by "and"/"so": ومن، وماذا، فمتى...
_AR_QUESTION_WORDS = {normalize(w) for w in "من ماذا ما متى أين اين كم هل لماذا كيف أي اي".split()}
_AR_COPULAS = {normalize(w) for w in "هو هي هم هما هن".split()}  # "من هو قاآني؟": a copula, unless last
_AR_REFERENCES = {
    normalize(w)
    for w in (
        "ذلك تلك هذا هذه هؤلاء ذاك بذلك لذلك"  # pronoun suffixes (عنها، به) are left out: relative
    ).split()  # clauses use them in self-contained questions ("ما الذي اشتهر به تسلا؟")
}


def is_followup(question: str) -> bool:
    """A short question that refers back (a pronoun, "this"/"ذلك") or continues ("and ...", "و...")."""
    words = _WORD.findall(normalize(question))
    if not words or len(words) > MAX_WORDS:
        return False
    first = words[0]
    if first in _EN_LEADS or _EN_ABOUT.match(" ".join(words)):
        return True
    if any(w in _EN_REFERENCES for w in words) or words[-1] in _EN_LAST:
        return True
    if any(w in _EN_POSSESSIVES for w in words) and not _NAME.search(question.strip()):
        return True
    if first.startswith(_AR_LEADS) and first[1:] in _AR_QUESTION_WORDS:
        return True
    if words[-1] in _AR_COPULAS:
        return True
    return any(w in _AR_REFERENCES for w in words)


def subject_question(history: list[tuple[str, str]]) -> str:
    """The most recent earlier question that stands on its own (its subject is what a follow-up means)."""
    for question, _ in reversed(history):
        if not is_followup(question):
            return question
    return history[0][0] if history else ""
