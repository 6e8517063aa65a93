"""Negation in English and Arabic sentences, and the clauses it governs.

"Kadhimi's house was not attacked with three drones" is as close in meaning to "the house was attacked with three
drones" as a paraphrase is, to an embedder: polarity has to be checked in words. Strong cues (not, no, never,
denied / لم، لن، لا، ليس، نفى، أنكر) reverse what they govern; weak cues (without, refused, failed / غير، عدم، دون،
رفض) only mark a sentence as saying something negative. Idioms that look negative but affirm ("not only",
"no doubt", "لا يزال" = still, "لا سيما" = especially, "لم يكتف ... بل" = not only ... but, "غير أن" = however)
are removed first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.text.arabic import normalize

_EN_IDIOMS = re.compile(
    r"\b(?:not only|not just|not least|no doubt|no less than|not less than|no fewer than|not fewer than|"
    r"no sooner|nonetheless|none the less|nevertheless|nothing short of|no\.\s*\d|cannot but|not to mention)\b"
    r"|\b(?:not|non|no)-(?=\w)"
)
_AR_IDIOMS = re.compile(
    r"(?<!\w)[وف]?(?:"
    + "|".join(
        normalize(p)
        for p in (
            "لا تزال",
            "لا يزال",
            "لا زال",
            "لا زالت",
            "ما زال",
            "ما زالت",
            "ما يزال",
            "ما تزال",
            "مازال",
            "مازالت",
            "لم يزل",
            "لم تزل",
            "لا سيما",
            "لاسيما",
            "لا بد",
            "لابد",
            "لا شك",
            "لم يكتف",
            "لم تكتف",
            "لم يقتصر",
            "لم تقتصر",
            "لا يقتصر",
            "لا تقتصر",
            "لا يقل",
            "لا تقل",
            "ليس فقط",
            "غير أن",
            "غير ان",
            "إلا أن",
        )
    )
    + r")(?!\w)"
)
# strength -> (English cues, Arabic cues), "|"-separated; Arabic cues may carry a conjunction or preposition
_CUES = {
    "strong": (
        "not|no|never|none|nobody|nothing|neither|nor|cannot|deny|denies|denied|denying|denial",
        "لم|لن|لا|ليس|ليست|ليسوا|ليسا|لست|لسنا|نفي|نفت|نفوا|ينفي|تنفي|ينفون|نفيه|انكر|انكرت|ينكر|تنكر|انكروا",
    ),
    "weak": ("without|unable", "غير|دون|بدون|بلا"),
    "mild": (
        "refuse|refused|refuses|refusing|refusal|reject|rejects|rejected|rejecting|rejection|fail to|fails to|"
        "failed to|lack|lacks|lacked|absence|dismiss|dismissed|dismisses|false|untrue|invalid|void|except|"
        "excluding|apart from|other than",
        "عدم|رفض|رفضت|رفضوا|يرفض|ترفض|يرفضون|مرفوض|مرفوضه|فشل|فشلت|تفشل|يفشل|باطل|باطلا|باطله|خاطئ|خاطئه|كاذب|"
        "كاذبه|باستثناء|استثناء|عدا|سوي|الا",
    ),
}


def _cue_pattern(english: str, arabic: str) -> re.Pattern[str]:
    en = "|".join(w.replace(" ", r"\s+") for w in english.split("|"))
    return re.compile(rf"\b(?:{en})\b|(?<!\w)[وفبل]?(?:{arabic})(?!\w)")


_PATTERNS = {strength: _cue_pattern(*cues) for strength, cues in _CUES.items()}
_NT = re.compile(r"n't\b")
_CLAUSE_BORDER = re.compile(
    r"\s*[,،;؛:]\s*|\s+(?:but|while|whereas|although|though|however)\s+|"
    r"\s+(?:بل|لكن|لكنه|لكنها|بينما|الا ان|غير ان|في حين)\s+"
)


@dataclass(frozen=True)
class Polarity:
    """Which negation cues a text holds: strong ones reverse a statement; weak ones (غير، دون، without) make an
    answer sentence negative too; mild ones (عدم، رفض، failed, except) only count in a source, as the negation
    that a negative answer sentence needs (in an answer they are as often plain words: "عدم المساواة" =
    inequality)."""

    strong: tuple[str, ...]
    weak: tuple[str, ...]
    mild: tuple[str, ...] = ()

    @property
    def asserts(self) -> bool:
        """Says that something is not so (what an answer sentence's negation is judged by)."""
        return bool(self.strong or self.weak)

    @property
    def negative(self) -> bool:
        """Holds any negation at all (what a source needs to support a negative sentence)."""
        return bool(self.strong or self.weak or self.mild)


def polarity(text: str) -> Polarity:
    """The negation cues of an English or Arabic text, idioms that affirm set aside."""
    key = normalize(text)
    key = _EN_IDIOMS.sub(" ", key)
    key = _AR_IDIOMS.sub(" ", key)
    found = {k: tuple(m.group(0).strip() for m in p.finditer(key)) for k, p in _PATTERNS.items()}
    return Polarity(found["strong"] + tuple(_NT.findall(key)), found["weak"], found["mild"])


def clauses(text: str, min_words: int = 3) -> list[str]:
    """The clauses of a sentence (split at commas, semicolons and contrastive conjunctions); a clause shorter
    than `min_words` joins the next one, so "بدوره، قال مصدر" stays one clause."""
    parts = [p for p in _CLAUSE_BORDER.split(normalize(text)) if p and p.strip()]
    merged: list[str] = []
    carry = ""
    for part in parts:
        part = f"{carry} {part}".strip() if carry else part.strip()
        if len(part.split()) < min_words:
            carry = part
            continue
        merged.append(part)
        carry = ""
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]} {carry}"
        else:
            merged.append(carry)
    return merged


_DENIAL = re.compile(
    r"\b(?:deny|denies|denied|denying)\b|(?<!\w)[وف]?(?:نفي|نفت|نفوا|ينفي|تنفي|ينفون|انكر|انكرت|ينكر)(?!\w)"
)


def negated_clauses(text: str) -> list[tuple[str, bool]]:
    """Each clause with whether a strong cue governs it: a particle ("not", "لم") its own clause, a denial verb
    ("denied", "نفى") also every clause after it ("نفى المتحدث، في بيان، أن تكون إيران متورطة")."""
    out = []
    denied = False
    for clause in clauses(text):
        strong = bool(polarity(clause).strong)
        out.append((clause, strong or denied))
        denied = denied or bool(_DENIAL.search(_AR_IDIOMS.sub(" ", _EN_IDIOMS.sub(" ", clause))))
    return out
