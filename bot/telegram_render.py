"""Answers as Telegram HTML messages: every piece of article and model text escaped, each message within 4096.

Text stays plain until the last moment. Paragraphs are packed into messages by the length they will have once
escaped and tagged; a paragraph too long for one message is cut at line, then sentence, then clause, then word
borders (characters only as a last resort), and every piece is escaped and wrapped in its own tags, so no tag
or entity is ever cut in half and a `<` in an article can never be read as markup.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Literal

from telegram.constants import MessageLimit

from bot.render import also_reported, origin
from prompts import phrasebook, phrases
from retrieval.answer.extractive import Answer, Citation
from retrieval.corpus.web import is_url
from retrieval.index.writer import IngestStats
from retrieval.text.arabic import tokenize

MAX_CHARS = MessageLimit.MAX_TEXT_LENGTH  # Telegram's limit for one message's text (4096)
TITLE_CHARS = 90  # titles in the compact sources block are cut to this
QUOTE_CHARS = 600  # a longer quote is shortened around its best part in the answer (whole under Sources)

Style = Literal["plain", "bold", "italic", "code", "quote"]
_TAGS: dict[str, tuple[str, str]] = {
    "plain": ("", ""),
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "code": ("<code>", "</code>"),
    "quote": ("<blockquote>", "</blockquote>"),
}
# Where a paragraph may be cut, best first: line breaks, sentence ends, clause ends, any space.
_BORDERS = (r"\n+", r"(?<=[.!?؟…])\s+", r"(?<=[,،;؛:])\s+", r"\s+")


def texts(lang: str) -> dict[str, str]:
    """The bot's own phrasings (prompts/telegram.toml)."""
    return phrasebook("telegram.toml", lang)


@dataclass(frozen=True)
class Block:
    """A paragraph of plain text and its style; a `tight` block follows the previous one without a blank line."""

    text: str
    style: Style = "plain"
    tight: bool = False
    href: str = ""  # the text is a link to this http(s) address
    prefix: str = ""  # plain text before the link ("[1] ")


def to_html(block: Block) -> str:
    opening, closing = _TAGS[block.style]
    text = html.escape(block.text, quote=False)
    if block.href:
        text = f'<a href="{html.escape(block.href, quote=True)}">{text}</a>'
    return f"{opening}{html.escape(block.prefix, quote=False)}{text}{closing}"


def telegram_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts in; never less than the number of characters."""
    return len(text.encode("utf-16-le")) // 2


def _fits(block: Block, limit: int) -> bool:
    return telegram_len(to_html(block)) <= limit


def split_messages(blocks: Iterable[Block], limit: int = MAX_CHARS) -> list[str]:
    """Pack blocks into as few HTML messages as fit, each at most `limit` long even counted with its tags."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _fit(block, limit):
            part = to_html(piece)
            candidate = current + ("\n" if piece.tight else "\n\n") + part
            if current and telegram_len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    messages.append(current)
                current = part
    if current:
        messages.append(current)
    return messages


def _fit(block: Block, limit: int, level: int = 0) -> list[Block]:
    """The block, or its pieces cut at the coarsest borders that make each piece fit."""
    if not block.text.strip():
        return []
    if _fits(block, limit):
        return [block]
    if level == len(_BORDERS):
        return _cut_characters(block, limit)
    pieces: list[Block] = []
    current = ""
    # re.split with a group keeps the separators: [text, sep, text, sep, text]
    parts = re.split(f"({_BORDERS[level]})", block.text)
    for i in range(0, len(parts), 2):
        segment, separator = parts[i], parts[i - 1] if i else ""
        joined = current + separator + segment if current else segment
        if _fits(replace(block, text=joined), limit):
            current = joined
            continue
        if current:
            pieces.append(replace(block, text=current.strip()))
        if _fits(replace(block, text=segment), limit):
            current = segment
        else:
            pieces.extend(_fit(replace(block, text=segment), limit, level + 1))
            current = ""
    if current.strip():
        pieces.append(replace(block, text=current.strip()))
    # Only the first piece keeps the block's own spacing; the rest continue the same paragraph.
    return [p if i == 0 else replace(p, tight=True) for i, p in enumerate(pieces) if p.text]


def _cut_characters(block: Block, limit: int) -> list[Block]:
    """A word longer than a message: cut at the longest prefix that fits, never before a combining mark."""
    pieces, text = [], block.text
    while text:
        low, high = 1, len(text)
        while low < high:  # largest n with text[:n] fitting
            mid = (low + high + 1) // 2
            if _fits(replace(block, text=text[:mid]), limit):
                low = mid
            else:
                high = mid - 1
        n = low
        while 1 < n < len(text) and unicodedata.combining(text[n]):
            n -= 1
        pieces.append(replace(block, text=text[:n], tight=bool(pieces) or block.tight))
        text = text[n:]
    return pieces


# ---- answers and sources --------------------------------------------------------------------------------


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def shorten_quote(sentence: str, question: str, limit: int = QUOTE_CHARS) -> str:
    """A sentence longer than `limit`, cut to the window of about `limit` characters (on word borders) that
    shares the most words with the question, with "…" where text was left out; shorter ones unchanged."""
    if len(sentence) <= limit:
        return sentence
    wanted = set(tokenize(question))
    words = list(re.finditer(r"\S+", sentence))
    hits = [bool(set(tokenize(w.group(0))) & wanted) for w in words]
    best, starts, j, score = -1, [0], 0, 0
    for i in range(len(words)):  # a window of words from i, up to `limit` characters: slid one word at a time
        if i and words[i].start() > len(sentence) - limit:
            break
        while j < len(words) and words[j].end() <= words[i].start() + limit:
            score += hits[j]
            j += 1
        if score > best:
            best, starts = score, [i]
        elif score == best:
            starts.append(i)
        score -= hits[i] if i < j else 0
    best_start = starts[len(starts) // 2]  # of the equally good windows, the one with the match in its middle
    start = words[best_start].start()
    kept = [w for w in words[best_start:] if w.end() <= start + limit]
    end = kept[-1].end() if kept else start + limit
    return ("…" if start > 0 else "") + sentence[start:end] + ("…" if end < len(sentence) else "")


def answer_blocks(answer: Answer) -> list[Block]:
    """The answer's paragraphs with their [n] markers, then a compact sources block: [n] and the title.

    A very long quoted sentence is shown shortened around its best part; the Sources button shows it whole."""
    blocks = [Block(answer.notice, "italic")] if answer.notice else []
    body = answer.answer
    for c in answer.citations:
        if len(c.text) > QUOTE_CHARS and c.text in body:
            body = body.replace(c.text, shorten_quote(c.text, answer.question))
    blocks += [Block(p.strip()) for p in body.split("\n\n") if p.strip()]
    if answer.citations:
        blocks.append(Block(phrases(answer.lang)["sources"], "bold"))
        for c in answer.citations:
            blocks.append(Block(_short(c.title), tight=True, href=_link(c.url), prefix=f"[{c.n}] "))
            if c.also_in:
                blocks.append(Block(also_reported(c, answer.lang), "italic", tight=True))
    return blocks


def _link(url: str) -> str:
    """A link only to a web address (an article's url is checked at load; this keeps any other scheme out)."""
    return url if is_url(url) else ""


def sources_blocks(lang: str, citations: Sequence[Citation]) -> list[Block]:
    """Full sources: for each [n] the title, the sentence id and the sentence quoted verbatim."""
    if not citations:
        return [Block(phrases(lang)["no_sources"])]
    blocks = [Block(phrases(lang)["sources"], "bold")]
    for c in citations:
        blocks.append(Block(c.title, "bold", href=_link(c.url), prefix=f"[{c.n}] "))
        if origin(c, link=False):
            blocks.append(Block(origin(c, link=False), "italic", tight=True))
        blocks.append(Block(c.sentence_id, "code", tight=True))
        blocks.append(Block(c.text, "quote", tight=True))
        if c.also_in:
            blocks.append(Block(also_reported(c, lang), "italic", tight=True))
    return blocks


def render_answer(answer: Answer, limit: int = MAX_CHARS) -> list[str]:
    """The answer as one or more HTML messages."""
    return split_messages(answer_blocks(answer), limit)


def render_sources(lang: str, citations: Sequence[Citation], limit: int = MAX_CHARS) -> list[str]:
    """The full sources as one or more HTML messages."""
    return split_messages(sources_blocks(lang, citations), limit)


def render_text(text: str, limit: int = MAX_CHARS) -> list[str]:
    """A fixed phrasing (help, refusal...) as HTML messages."""
    return split_messages([Block(p.strip()) for p in text.split("\n\n") if p.strip()], limit)


FAILURES_SHOWN = 20  # an ingest summary lists at most this many failures


def ingest_blocks(lang: str, stats: IngestStats) -> list[Block]:
    """What an administrator is told after adding links or a file: counts, each failure and why, wire copies.

    A file is named by its name only (the server's folders are not the sender's business)."""
    t = texts(lang)
    blocks = [
        Block(
            t["ingest_summary"].format(
                added=stats.added,
                updated=stats.updated,
                skipped=stats.skipped,
                failed=len(stats.failures),
                sentences=stats.sentences,
            )
        )
    ]
    for where, reason in stats.failures[:FAILURES_SHOWN]:
        shown = where if is_url(where) else PurePath(where).name
        blocks.append(Block(f"✗ {shown}: {reason}", tight=True))
    if len(stats.failures) > FAILURES_SHOWN:
        blocks.append(
            Block(t["more_failures"].format(count=len(stats.failures) - FAILURES_SHOWN), tight=True)
        )
    for doc_id, other, similarity in stats.copies:
        blocks.append(Block(t["wire_copy"].format(doc=doc_id, other=other, similarity=f"{similarity:.2f}")))
    return blocks


def render_ingest(lang: str, stats: IngestStats, limit: int = MAX_CHARS) -> list[str]:
    """The ingest summary as HTML messages."""
    return split_messages(ingest_blocks(lang, stats), limit)
