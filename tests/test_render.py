"""Terminal wrapping and right-to-left display of answers (pipes get the text as it is: see test_cli)."""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console

from bot.render import Printer, visual_order, wrap


def test_markers_and_closing_quotes_stay_with_the_word_before() -> None:
    text = "«تمت بثلاث طائرات مسيرة استهدفت منزله الخاص في المنطقة الخضراء ببغداد.» [1]"
    for width in range(len("ببغداد.» [1]"), len(text) + 2):  # from the widest unit that must stay whole
        lines = wrap(text, width)
        assert all(cell_len(line) <= width and line == line.strip() for line in lines), (width, lines)
        assert all(not line.startswith(("»", "[1]")) for line in lines), (width, lines)
        assert " ".join(lines) == text
    assert wrap("a\n\nb [2][3]. c", 9) == ["a", "", "b [2][3].", "c"]  # several markers stay together
    assert wrap("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]  # a word wider than the line is cut


def test_printer_writes_verbatim_to_a_pipe_and_wraps_sanitised_lines_in_a_terminal() -> None:
    quote = "قال\r المتحدث \x1b[31mإن " + "الهجوم فشل " * 12
    pipe = io.StringIO()
    Printer(Console(file=pipe, width=40)).line(quote, indent="    ")
    assert pipe.getvalue() == f"    {quote}\n"  # not a terminal: byte for byte, no wrapping
    screen = io.StringIO()
    Printer(Console(file=screen, width=40, force_terminal=True, color_system=None)).line(quote, indent="    ")
    lines = screen.getvalue().split("\n")[:-1]
    assert len(lines) > 1 and all(cell_len(line) <= 40 and line.startswith("    ") for line in lines)
    assert "\x1b" not in screen.getvalue() and "\r" not in screen.getvalue()


def test_rtl_display_shapes_and_reverses_arabic_and_mirrors_brackets() -> None:
    shown = visual_order("بحسب المقالات: «قال» [1]")
    assert shown.startswith("[1] «") and shown.endswith(":ﺕﻻﺎﻘﻤﻟﺍ ﺐﺴﺤﺑ")  # presentation forms, visual order
    assert visual_order("plain English line") == "plain English line"
