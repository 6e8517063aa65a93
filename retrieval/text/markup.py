"""Markup out of text articles: HTML tags and entities, and unambiguous Markdown syntax; the words stay.

Text files are loaded through `strip_markup`, and what it returns is the article as stored: sentence spans
and citations index the stripped text, so a quote never shows `<b>` or `**`. `html_to_text` works on any
HTML fragment (a feed item's summary, say).

It is deliberately conservative, because a plain-text article must never lose words: a tag is removed only
if it is a known HTML element and the text holds clear evidence of HTML (a closing tag such as `</p>`, or
`<br>`/`<p>`), so "if a<b and c>d" stays as it is; Markdown emphasis needs a matching pair on one line with
no space inside its edges, so "2 * 3 * 4" stays too. A general CommonMark parser was not used for .txt files:
it turns a line starting with "2021. " into a list item and drops the number, and an indented line into code.
Every pattern is linear in the length of the text (no nested quantifiers; bounded by the next bracket or
line end), so a hostile file cannot make loading hang.
"""

from __future__ import annotations

import html
import re

_INLINE_TAGS = (
    "a abbr b bdi bdo big cite code del dfn em font i img ins kbd mark q s samp small span strike strong "
    "sub sup time tt u var wbr label"
).split()
_BLOCK_TAGS = (
    "address article aside blockquote body br caption center dd div dl dt figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr html li main nav ol p pre section table tbody td tfoot th thead tr ul"
).split()
_DROPPED_TAGS = ("script", "style", "head", "noscript", "template")  # their content is not article text
_KNOWN = frozenset(_INLINE_TAGS + _BLOCK_TAGS + list(_DROPPED_TAGS))
_BLOCK = frozenset(_BLOCK_TAGS)

# A tag: "<" or "</", a name, then attributes up to ">" with no "<" or ">" inside (bounded by the next bracket).
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]{0,15})(?=[\s/>])[^<>]*+>")
_CLOSABLE = "|".join(sorted(_KNOWN - {"br", "hr", "wbr", "img"}))
_HTML_EVIDENCE = re.compile(rf"</(?:{_CLOSABLE})\s*>|<(?:br|hr|p|li|div)\s*/?>", re.I)
_BLOCK_EVIDENCE = re.compile(rf"</?(?:{'|'.join(sorted(_BLOCK - {'html', 'body'}))})(?=[\s/>])", re.I)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_LINE_END_SPACES = re.compile(r"[ \t]+\n")
_LINE_START_SPACES = re.compile(r"\n[ \t]+")


def decode_entities(text: str) -> str:
    """`&amp;`, `&#1575;`, `&nbsp;` ... as characters; only entities closed by ";" (so "AT&T" stays)."""
    return _ENTITY.sub(lambda m: html.unescape(m.group()), text)


def looks_like_html(text: str) -> bool:
    """A closing tag of a known element, or `<br>`/`<p>`: evidence that `<` starts tags in this text."""
    return _HTML_EVIDENCE.search(text) is not None


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment: known tags removed (block elements become line breaks), comments,
    scripts and styles dropped, entities decoded. Unknown `<tags>` are kept as text."""
    text = _drop_between(fragment, "<!--", "-->")
    for tag in _DROPPED_TAGS:
        text = _drop_element(text, tag)
    blocks = _BLOCK_EVIDENCE.search(text) is not None
    if blocks:  # layout comes from the tags, as in a browser: source line breaks are just spaces
        text = _SPACES.sub(" ", text)

    def replace(match: re.Match[str]) -> str:
        name = match.group(2).lower()
        if name not in _KNOWN:
            return match.group()
        return "\n" if name in _BLOCK else ""

    text = decode_entities(_TAG.sub(replace, text))
    text = text.replace("\u00a0", " ") if blocks else text
    text = _LINE_START_SPACES.sub("\n", _LINE_END_SPACES.sub("\n", text))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _drop_between(text: str, opening: str, closing: str) -> str:
    """Remove every `opening ... closing` (an unclosed one runs to the end), in one pass."""
    out, pos = [], 0
    while (start := text.find(opening, pos)) != -1:
        out.append(text[pos:start])
        end = text.find(closing, start + len(opening))
        pos = len(text) if end == -1 else end + len(closing)
    out.append(text[pos:])
    return "".join(out)


def _drop_element(text: str, tag: str) -> str:
    """Remove `<tag ...> ... </tag>` with its content, case-insensitively, in one pass."""
    opening = re.compile(rf"<{tag}(?=[\s/>])", re.I)
    closing = re.compile(rf"</{tag}\s*>", re.I)
    out, pos = [], 0
    while (start := opening.search(text, pos)) is not None:
        out.append(text[pos : start.start()])
        end = closing.search(text, start.end())
        if end is None:  # unclosed: the rest is the element's
            pos = len(text)
            break
        pos = end.end()
    out.append(text[pos:])
    return "".join(out)


# ---- Markdown ------------------------------------------------------------------------------------

_LINE_RULES = [
    (re.compile(r"^[ \t]{0,3}(?:```|~~~)[^\n`]*$", re.M), ""),  # code fence lines (the code stays)
    (re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+([^\n]*)$", re.M), lambda m: _heading(m.group(1))),  # ATX
    (re.compile(r"^[ \t]{0,3}(?:([-*_])[ \t]*){3,}$", re.M), ""),  # rules: --- *** ___
    (re.compile(r"^[ \t]{0,3}=+[ \t]*$", re.M), ""),  # setext heading underline ===
    (re.compile(r"^[ \t]{0,3}\[[^\]\n]{1,200}\]:[ \t]*\S+[^\n]*$", re.M), ""),  # [ref]: url definitions
    (re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+", re.M), ""),  # blockquote markers
    (re.compile(r"^([ \t]*)[*+][ \t]+", re.M), r"\1"),  # "* item" bullets ("- item" is left to the splitter)
]
_INLINE_RULES = [
    (re.compile(r"!\[([^\[\]\n]*)\]\([^()\n]*\)"), r"\1"),  # ![alt](src)
    (re.compile(r"\[([^\[\]\n]+)\]\([^()\n]*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|mailto|ftp):[^<>\s]+)>"), r"\1"),  # <https://...>
    (re.compile(r"`([^`\n]+)`"), r"\1"),  # `code`
    (re.compile(r"\*\*(?=[^\s*])([^*\n]*[^\s*])\*\*"), r"\1"),  # **bold**
    (re.compile(r"(?<!\w)__(?=[^\s_])([^_\n]*[^\s_])__(?!\w)"), r"\1"),  # __bold__
    (re.compile(r"~~(?=[^\s~])([^~\n]*[^\s~])~~"), r"\1"),  # ~~struck~~
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*[^\s*])\*(?![\w*])"), r"\1"),  # *em*
    (re.compile(r"(?<!\w)_(?=[^\s_])([^_\n]*[^\s_])_(?!\w)"), r"\1"),  # _em_
]
_CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$")


def _heading(text: str) -> str:
    """An ATX heading's text without its optional closing hashes ("## Title ##")."""
    return _CLOSING_HASHES.sub("", text).rstrip(" \t")


_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")
_PROTECTED = 0xF0000  # escaped characters wait in a private-use plane while the rules run
_RESTORE = re.compile("[\U000f0000-\U000f007f]")


def strip_markdown(text: str, escapes: bool = True) -> str:
    """Markdown syntax removed, words kept: headings, emphasis, links (their text), images (their alt),
    inline code, quotes, bullets, rules, fences. A backslash-escaped character (`\\*`) is never markup; with
    `escapes` its backslash goes too (Markdown files), without it stays (plain text)."""
    text = _ESCAPE.sub(lambda m: chr(_PROTECTED + ord(m.group(1))), text)
    for pattern, replacement in _LINE_RULES:
        text = pattern.sub(replacement, text)
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    prefix = "" if escapes else "\\"
    return _RESTORE.sub(lambda m: prefix + chr(ord(m.group()) - _PROTECTED), text)


def strip_markup(text: str, markdown: bool = False) -> str:
    """A text article without markup: HTML when the text shows evidence of it, then Markdown syntax.

    Entities are decoded in HTML and in Markdown files (`markdown`, where backslash escapes are honoured too);
    a plain text file keeps "&lt;" as written, since its author may mean those four characters. Text with no
    markup comes back unchanged, character for character (its content hash does not move).
    """
    if looks_like_html(text):
        text = html_to_text(text)
    elif markdown:
        text = decode_entities(text)
    return strip_markdown(text, escapes=markdown)
