"""Terminal rendering of an Answer with rich: the answer, then numbered verbatim sources."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from prompts import phrases
from retrieval.answer import Answer


def render_answer(console: Console, answer: Answer, show_sources: bool = True) -> None:
    """Print the answer text and, unless asked not to, its sources (article text is never read as markup)."""
    if answer.notice:
        console.print(Text(answer.notice, style="yellow"))
    console.print(Text(answer.answer, style="bold" if not answer.abstained else "dim"))
    if show_sources and answer.citations:
        render_sources(console, answer)


def render_sources(console: Console, answer: Answer | None) -> None:
    """Numbered sources: title, doc id, sentence id, and the sentence quoted verbatim."""
    lang = answer.lang if answer else "en"
    if answer is None or not answer.citations:
        console.print(Text(phrases(lang)["no_sources"], style="dim"))
        return
    console.print(f"[bold]{escape(phrases(lang)['sources'])}[/bold]")
    for c in answer.citations:
        console.print(f"[cyan][{c.n}][/cyan] {escape(c.title)}  [dim]({escape(c.sentence_id)})[/dim]")
        console.print(Text(f"    {c.text}"))
