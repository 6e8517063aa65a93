"""Markup in text articles: HTML tags and entities and Markdown syntax go, words and plain text stay."""

from __future__ import annotations

from retrieval.text.markup import html_to_text, strip_markdown, strip_markup
from tests.conftest import SEEDS


def test_html_tags_and_entities_are_removed_and_blocks_become_lines() -> None:
    text = "<p>قال <b>المتحدث</b> إن الهجوم&nbsp;فشل.</p>\n<p>وأضاف: &laquo;لا تعليق&raquo; &amp; غادر.</p>"
    assert strip_markup(text) == "قال المتحدث إن الهجوم فشل.\n\nوأضاف: «لا تعليق» & غادر."
    page = "<DIV>سطر\nمكسور</DIV><script>alert(1)</script><!-- ملاحظة --><style>p{}</style><br/>نهاية"
    assert html_to_text(page) == "سطر مكسور\n\nنهاية"
    assert html_to_text("<p>open <!-- never closed <b>x</b>") == "open"


def test_markdown_syntax_is_removed() -> None:
    text = (
        "# عنوان الخبر #\n\n> قال **المتحدث** في [بيان](http://x.org/a_b) إن _الهجوم_ فشل.\n"
        "* بند ![صورة](a.png) و `رمز` و ~~خطأ~~ و __مهم__ و *مائل*.\n---\n[1]: http://x.org"
    )
    assert strip_markdown(text) == (
        "عنوان الخبر\n\nقال المتحدث في بيان إن الهجوم فشل.\nبند صورة و رمز و خطأ و مهم و مائل.\n\n"
    )
    assert strip_markdown(r"a \*literal\* star") == "a *literal* star"
    assert strip_markdown(r"a \*literal\* star", escapes=False) == r"a \*literal\* star"


def test_plain_text_is_left_alone() -> None:
    plain = (
        "if a<b and c>d then 2 * 3 * 4 = 24; snake_case_name, AT&T, Q&A, R&D, <foo>bar</foo>.\n"
        "1. first\n2021. a year\n- a dash\n    indented\nC:\\Users\\x\nالرمز &lt; حرفياً، شركة <نور & أولاده>"
    )
    assert strip_markup(plain) == plain
    assert strip_markup("&lt;b&gt; &amp; Q&amp;A", markdown=True) == "<b> & Q&A"  # Markdown decodes entities
    for path in SEEDS.glob("*.txt"):  # the seeds hold no markup: their text, ids and hashes do not move
        text = path.read_text("utf-8")
        assert strip_markup(text) == text


def test_hostile_markup_is_handled_in_linear_time() -> None:
    """Unclosed constructs repeated many times: each pattern is bounded by the next bracket or line end."""
    for piece in ("<p ", "<!--", "<script>", "**a", "[x](", "`", "&#", "_a", "# "):
        text = piece * 50_000
        assert isinstance(strip_markup(text), str)
