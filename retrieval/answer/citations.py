"""Citation markers as models really write them, read into one form: each answer sentence and the [n] it cites.

Models are told to write "[n]"; they also write "[1, 2]", "[1][2]", "[1-3]", "[١]", "【1】", "(1)", "[Source 1]",
"[المصدر ١]", "^1", "[^1]", a marker before or after the full stop, or no markers and a "Sources: 1, 3" list at
the end. All of these are read as the same citations and shown in one canonical form ("... drones [1][2].").
A year in brackets ("[2021]", "(2021)") is prose, never a citation, and so is a bracketed number in parentheses
that was never given as a source ("(12)"). Formatting markup (markdown emphasis, headings, bullets, HTML tags)
is removed from the sentence; a link hidden in markup ("[text](url)", "<a href=url>") is kept in the sentence as
a bare URL so that the verifier sees it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.text.arabic import split_sentences

_DIGIT = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
_NUM = rf"{_DIGIT}{{1,3}}"
_LIST = rf"{_NUM}(?:\s*[-–—]\s*{_NUM})?(?:\s*(?:[,،;؛]|and|و)\s*{_NUM}(?:\s*[-–—]\s*{_NUM})?)*"
_SOURCE_WORD = r"(?:sources?|refs?\.?|references?|citations?|المصادر|المصدر|مصدر|مصادر|المرجع|مرجع)"
# "[1, 2]", "[1-3]", "[Source 1]", "[المصدر ١]", "[^1]", "【1】": square or lenticular brackets
_BRACKETED = re.compile(rf"[\[【]\s*(?:\^|{_SOURCE_WORD}\s*:?\s*)?({_LIST})\s*[\]】]", re.IGNORECASE)
# "(1)", "(Source 1)": parentheses, read as citations only when every number was given
_PARENTHESISED = re.compile(rf"\(\s*(?:{_SOURCE_WORD}\s*:?\s*)?({_LIST})\s*\)", re.IGNORECASE)
_CARET = re.compile(rf"\^\s*\[?\s*({_NUM})\s*\]?")
_CANONICAL = re.compile(r"\[(\d{1,3})\]")
_MARKERS = r"(?:\s*\[\d{1,3}\])+"
# a marker written after the sentence's full stop ("... drones. [1]" or "... drones.[1] Next") moves before it
_AFTER_STOP = re.compile(rf"([.!?؟؛…]+)({_MARKERS})")
_LEADING_MARKERS = re.compile(rf"^{_MARKERS}[\s.!?؟؛]*")
_END_PUNCT = re.compile(r"[.!?؟؛…]+$")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?؟؛،:])")
_SPACES = re.compile(r"[ \t]+")
# a trailing "Sources:" list (its own line, or after the last sentence)
_SOURCES_LIST = re.compile(
    rf"(?:^|\n|(?<=[.!?؟]))\s*(?:\*\*|__)?(?:{_SOURCE_WORD}|cited|مراجع|المراجع)(?:\*\*|__)?\s*[:：]",
    re.IGNORECASE,
)

# ---- markup -------------------------------------------------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*([^)\s]+)[^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(\s*([^)\s]+)[^)]*\)")
_HTML_LINK = re.compile(
    r"<\s*(?:a|img|iframe|script|link)\b[^>]*?(?:href|src)\s*=\s*[\"']?([^\"'\s>]+)[^>]*>", re.I
)
_HTML_TAG = re.compile(r"</?\s*[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>")
_MD_EMPHASIS = re.compile(r"(\*\*|__|~~|`+)(.+?)\1")
_MD_STAR = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_LINE_MARKUP = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*•·][ \t]+|\d{1,2}[.)][ \t]+)", re.MULTILINE)


def strip_markup(text: str) -> str:
    """Formatting removed, links hidden in markup kept as bare URLs ("[here](http://x)" -> "here http://x")."""
    text = _MD_IMAGE.sub(lambda m: f" {m.group(2)} ", text)
    text = _MD_LINK.sub(lambda m: f"{m.group(1)} {m.group(2)}", text)
    text = _HTML_LINK.sub(lambda m: f" {m.group(1)} ", text)
    text = _HTML_TAG.sub(" ", text)
    text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_STAR.sub(r"\1", text)
    return _LINE_MARKUP.sub("", text)


# ---- markers ------------------------------------------------------------------------------------------------


def _numbers(group: str) -> list[int]:
    """ "1, 2", "1-3", "١ و ٣" -> [1, 2], [1, 2, 3], [1, 3] (a range over more than 20 is not expanded)."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:[,،;؛]|and|و)\s*", group.strip()):
        bounds = [int(b) for b in re.split(r"\s*[-–—]\s*", part.strip()) if b]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= 20:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return list(dict.fromkeys(numbers))


def _canonical(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def canonicalise(text: str, given: Sequence[int]) -> str:
    """Every citation form rewritten as "[n]" markers, placed before the sentence's final punctuation."""
    allowed = set(given)
    text = _BRACKETED.sub(lambda m: _canonical(_numbers(m.group(1))), text)

    def parenthesised(m: re.Match[str]) -> str:
        numbers = _numbers(m.group(1))
        return _canonical(numbers) if numbers and set(numbers) <= allowed else m.group(0)

    text = _PARENTHESISED.sub(parenthesised, text)
    text = _CARET.sub(lambda m: f"[{int(m.group(1))}]", text)
    return _AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


def marker_numbers(text: str) -> list[int]:
    """The numbers of the canonical "[n]" markers of a text, in order, each once."""
    return list(dict.fromkeys(int(n) for n in _CANONICAL.findall(text)))


def strip_markers(text: str) -> str:
    """The sentence as prose: citation markers (in any form) removed, spacing before punctuation tidied."""
    text = _CANONICAL.sub(" ", canonicalise(text, []))
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split())).strip()


def split_sources_list(text: str, given: Sequence[int]) -> tuple[str, list[int]]:
    """The answer without a trailing "Sources:" list, and the numbers that list cites."""
    matches = list(_SOURCES_LIST.finditer(text))
    match = matches[-1] if matches else None
    if match is None or match.start() < len(text) // 4:
        return text, []
    listed = text[match.end() :]
    numbers = marker_numbers(canonicalise(listed, given)) or [
        int(n) for n in re.findall(rf"(?<![\d.]){_NUM}(?!\d|\.\d)", listed)
    ]
    return text[: match.start()], [n for n in numbers if n < 1000]


# ---- claims -------------------------------------------------------------------------------------------------


@dataclass
class Claim:
    """One sentence of a generated answer: its text as written, the text without markers, and what it cites."""

    text: str
    plain: str
    citations: list[int]
    invalid: list[int]


def parse_answer(answer: str, given: Sequence[int]) -> list[Claim]:
    """Split a generated answer into sentences with their citations; numbers not in `given` are set apart.

    A marker that the splitter leaves on its own ("... attack. [2]") belongs to the sentence before it; a
    sentence with no marker of its own, in an answer that lists its sources at the end, cites that list.
    """
    body, listed = split_sources_list(answer, given)
    body = canonicalise(strip_markup(body), given)
    pieces: list[str] = []
    for span in split_sentences(body):
        piece = body[span.start : span.end]
        lead = _LEADING_MARKERS.match(piece)
        if pieces and lead:
            pieces[-1] = f"{pieces[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :]
        if piece.strip():
            pieces.append(piece)
    allowed = set(given)
    any_inline = any(marker_numbers(p) for p in pieces)
    claims = []
    for piece in pieces:
        numbers = marker_numbers(piece) or ([] if any_inline else listed)
        plain = strip_markers(piece)
        claims.append(
            Claim(
                text=" ".join(piece.split()),
                plain=plain,
                citations=[n for n in numbers if n in allowed],
                invalid=[n for n in numbers if n not in allowed],
            )
        )
    return [c for c in claims if re.search(r"\w", c.plain)]


def render_claim(claim: Claim) -> str:
    """The sentence as shown to users: prose, then only its valid citations, e.g. "... sedition [1][3]."."""
    if not claim.citations:
        return claim.plain
    markers = _canonical(claim.citations)
    end = _END_PUNCT.search(claim.plain)
    if end is None:
        return f"{claim.plain} {markers}"
    return f"{claim.plain[: end.start()]} {markers}{end.group(0)}"
