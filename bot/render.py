"""How answers reach the screen or a pipe: the answer, then numbered verbatim sources.

Output to a pipe or a file is written as is: each quote is exactly the stored sentence, with no wrapping and
no padding, so `khabar ask ... > out.txt` can be checked against the articles byte for byte. Output to a
terminal is wrapped to its width by khabar itself (a citation marker or a closing quote stays with the word
before it, so `» [1]` is never left alone on a line), control characters are shown as spaces, and with
KHABAR_RTL_DISPLAY=true each line is shaped and put in visual order for terminals that do no bidi of their own.
"""

from __future__ import annotations

import re
from typing import TextIO

from rich.cells import cell_len, chop_cells
from rich.console import Console
from rich.text import Text

from prompts import phrases
from retrieval.answer.extractive import Answer, Citation
from retrieval.text.arabic import clean_text
from retrieval.text.dates import parse_published

_WORD = re.compile(r"\S+")
# What never starts a line: citation markers ("[1]", "[1][2].") and closing quotes or brackets.
_GLUED = re.compile(r"(?:\[\d+\])+[^\w\s]*|[»”’\"')\]]+[^\w\s]*")


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells, broken at spaces; markers and closing quotes stay on their word's line,
    a word wider than the line is cut. Each "\\n" of the text starts a new line; no line ends in a space."""
    width = max(width, 8)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        units: list[tuple[str, str]] = []  # (the gap before, a word with whatever is glued to it)
        pos = 0
        for match in _WORD.finditer(paragraph):
            gap, word = paragraph[pos : match.start()], match.group()
            pos = match.end()
            if units and _GLUED.fullmatch(word):
                units[-1] = (units[-1][0], units[-1][1] + gap + word)
            else:
                units.append((gap, word))
        line = ""
        for gap, word in units:
            joined = f"{line}{gap}{word}" if line else word
            if line and cell_len(joined) > width:
                lines.append(line)
                joined = word
            pieces = chop_cells(joined, width) if cell_len(joined) > width else [joined]
            lines.extend(pieces[:-1])
            line = pieces[-1]
        lines.append(line)
    return lines


def visual_order(line: str) -> str:
    """A logical line as a terminal without bidi must receive it: Arabic shaped (joined letter forms) and
    the whole line in visual order (right-to-left runs reversed, brackets mirrored)."""
    import arabic_reshaper
    from bidi.algorithm import get_display  # the pure-Python algorithm: it mirrors brackets and quotes

    return get_display(arabic_reshaper.reshape(line))


class Printer:
    """Writes an answer's lines to a console: verbatim when it is not a terminal, wrapped for one when it is."""

    def __init__(self, console: Console, rtl_display: bool = False):
        self.console = console
        self.rtl_display = rtl_display

    @property
    def verbatim(self) -> bool:
        return not self.console.is_terminal

    def line(self, text: str, style: str = "", indent: str = "") -> None:
        """One logical line (it may hold "\\n"), indented by `indent` on every screen line."""
        if self.verbatim:
            self._file.write("".join(f"{indent}{part}\n" for part in text.split("\n")))
            self._file.flush()
            return
        width = self.console.width - cell_len(indent)
        for part in wrap(clean_text(text), width):
            shown = visual_order(part) if self.rtl_display else part
            self.console.print(Text(indent + shown, style=style), soft_wrap=True, highlight=False)

    def stream(self, text: str) -> None:
        """A piece of a reply as it arrives (no line structure yet: written as is, controls blanked on a tty)."""
        self._file.write(text if self.verbatim else clean_text(text))
        self._file.flush()

    @property
    def _file(self) -> TextIO:
        return self.console.file


def render_answer(printer: Printer, answer: Answer, show_sources: bool = True) -> None:
    """Print the answer text and, unless asked not to, its sources (article text is never read as markup)."""
    if answer.notice:
        printer.line(answer.notice, style="yellow")
    printer.line(answer.answer, style="bold" if not answer.abstained else "dim")
    if show_sources and answer.citations:
        render_sources(printer, answer)


def render_sources(printer: Printer, answer: Answer | None) -> None:
    """Numbered sources: title and sentence id, date · outlet · link, the sentence quoted verbatim, and the
    other outlets that printed it."""
    lang = answer.lang if answer else "en"
    if answer is None or not answer.citations:
        printer.line(phrases(lang)["no_sources"], style="dim")
        return
    printer.line(phrases(lang)["sources"], style="bold")
    for c in answer.citations:
        printer.line(f"[{c.n}] {c.title}  ({c.sentence_id})", style="cyan")
        if origin(c):
            printer.line(origin(c), indent="    ", style="dim")
        printer.line(c.text, indent="    ")
        if c.also_in:
            printer.line(also_reported(c, lang), indent="    ", style="dim")


def render_source_lines(printer: Printer, answer: Answer) -> None:
    """One short line per source (title, sentence id, date · outlet · link), for the chat; `/sources` shows
    the quotes."""
    for c in answer.citations:
        printer.line(
            f"[{c.n}] {c.title} ({c.sentence_id})" + (f" {origin(c)}" if origin(c) else ""), style="dim"
        )
        if c.also_in:
            printer.line(also_reported(c, answer.lang), indent="    ", style="dim")


def day(published: str | None) -> str:
    """The publication day of an ISO 8601 value, as 2021-11-08 ("" when there is none)."""
    parsed = parse_published(published or "")
    return parsed.isoformat() if parsed else ""


def origin(c: Citation, link: bool = True) -> str:
    """ "2021-11-08 · الرافدين نيوز · https://…": what is known of where the quoted article comes from
    (without the link when the title carries it)."""
    return " · ".join(part for part in (day(c.published), c.source, c.url if link else "") if part)


def also_reported(c: Citation, lang: str) -> str:
    """ "also reported by: الساحل (2021-11-08), …": the other articles printing the same sentence."""
    outlets = []
    for copy in c.also_in[:ALSO_SHOWN]:
        name = copy.get("source") or copy.get("url") or copy.get("doc_id") or ""
        when = day(copy.get("published"))
        outlets.append(f"{name} ({when})" if when else str(name))
    more = f" (+{len(c.also_in) - ALSO_SHOWN})" if len(c.also_in) > ALSO_SHOWN else ""
    return f"{phrases(lang)['also_reported']}: {', '.join(outlets)}{more}"


ALSO_SHOWN = 5  # outlets named in "also reported by"; the rest are counted (--json lists them all)
