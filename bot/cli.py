"""The `khabar` command: ingest, ask, chat, stats (typer). It parses, calls the pipeline and renders."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from bot.eval_cli import eval_command
from bot.render import render_answer, render_sources
from prompts import phrases
from retrieval.answer import Answer
from retrieval.corpus import iter_files
from retrieval.index import IngestStats, ProgressFn
from retrieval.language import detect_language
from retrieval.pipeline import EmptyQuestion, History, Khabar
from retrieval.ranker import RankerModelError
from retrieval.settings import Settings
from retrieval.store import StoreError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Ask questions about Arabic news articles."
)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _open(settings: Settings | None = None) -> Khabar:
    try:
        return Khabar(settings or Settings())
    except (StoreError, RankerModelError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def _progress_bar() -> Iterator[tuple[ProgressFn, ProgressFn]]:
    """An ingest progress bar on stderr: yields (advance by n articles, set the total)."""
    columns = (TextColumn("[bold]ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("ingest", total=None)
        yield (lambda n: progress.advance(task, n)), (lambda total: progress.update(task, total=total))


def _print_ingest(stats: IngestStats) -> None:
    err.print(
        f"articles: {stats.added} added, {stats.updated} updated, {stats.skipped} unchanged, "
        f"{stats.removed} removed, {len(stats.failures)} failed"
        + (f", {stats.repaired} interrupted earlier and cleaned" if stats.repaired else "")
        + f"; sentences: {stats.sentences} added; chunks: {stats.chunks} added",
        highlight=False,
    )
    for path, reason in stats.skipped_files:
        err.print(f"[dim]skipped {path}: {reason}[/dim]", highlight=False)
    for path, reason in stats.failures:
        err.print(f"[red]failed[/red] {path}: {reason}", highlight=False)


def _seed_if_empty(kb: Khabar) -> None:
    if kb.is_empty() and Path(kb.settings.seeds_dir).is_dir():
        err.print(f"The store is empty: ingesting {kb.settings.seeds_dir}/ first.", highlight=False)
        with _progress_bar() as (advance, set_total):
            stats = kb.ensure_seeded(progress=advance, on_total=set_total)
        if stats is not None:
            _print_ingest(stats)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (.txt, .md, .jsonl).")],
    prune: Annotated[
        bool, typer.Option(help="Remove stored articles that are not in PATHS any more.")
    ] = False,
) -> None:
    """Add articles to the store; unchanged ones are skipped, changed ones replaced."""
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        err.print(f"[red]failed[/red] {path}: no such file or folder", highlight=False)
    existing = [p for p in paths if p.exists()]
    if prune and missing:
        err.print("Not pruning: some paths are missing, and pruning would delete their articles.")
        raise typer.Exit(1)
    kb = _open()
    if not any(True for _ in iter_files(existing)) and not missing:
        err.print("No .txt, .md or .jsonl files found.")
        raise typer.Exit(1)
    with _progress_bar() as (advance, set_total):
        stats = kb.ingest(existing, prune=prune, progress=advance, on_total=set_total)
    _print_ingest(stats)
    if stats.failures or missing:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question; read from stdin when omitted.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Answer one question with cited source sentences."""
    if question is None and not sys.stdin.isatty():
        question = sys.stdin.read()
    question = question or ""
    if not question.strip():
        err.print(phrases("en")["empty_question"] + "\n" + phrases("ar")["empty_question"])
        raise typer.Exit(2)
    kb = _open()
    _seed_if_empty(kb)
    try:
        if as_json:
            answer = kb.ask(question)
        elif kb.answerer is not None:
            answer = _stream_answer(kb, question)
        else:
            answer = kb.ask(question)
            render_answer(console, answer)
    except EmptyQuestion:
        err.print(phrases(detect_language(question))["empty_question"])
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))


def _stream_answer(kb: Khabar, question: str, history: History | None = None, sources: bool = True) -> Answer:
    """Print the LLM's reply as it comes, then what verification kept: the verified answer and its sources.

    The streamed text is the model's draft; when verification removed or replaced anything, the verified
    answer is printed after it under its own heading, so what the sources support is always the last word.
    """

    def token(text: str) -> None:
        console.out(text, end="", highlight=False)
        console.file.flush()

    def restart(notice: str) -> None:
        console.out("")
        console.print(Text(notice, style="yellow"))

    answer = kb.run(question, history, on_token=token, on_restart=restart).answer
    console.out("")
    for sentence in answer.sentences:
        if not sentence.supported and sentence.reason != "abstention":
            console.print(Text(f"✗ {sentence.text} ({sentence.reason})", style="dim red"))
    if answer.mode == "llm" and not answer.notice:
        if sources:
            render_sources(console, answer)
        else:
            _source_lines(answer)
        return answer
    console.print(Text(phrases(answer.lang)["verified"], style="bold"))
    render_answer(console, answer, show_sources=sources)
    if not sources:
        _source_lines(answer)
    return answer


def _source_lines(answer: Answer) -> None:
    for c in answer.citations:
        console.print(f"[dim][{c.n}] {escape(c.title)} ({escape(c.sentence_id)})[/dim]", highlight=False)


CHAT_TURNS = 6  # earlier turns a follow-up question is read with

HELP = """Type a question in Arabic or English. Commands:
  /sources  show the full sources of the last answer
  /reset    forget the conversation
  /help     this help
  /exit     leave (or Ctrl-D)"""


def _read_lines(settings: Settings):
    """Questions from a prompt_toolkit prompt with history, or plain lines when stdin is not a terminal."""
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        session: PromptSession[str] = PromptSession(
            history=FileHistory(str(settings.data_dir / "chat_history"))
        )
        while True:
            try:
                yield session.prompt("؟ > ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                return
    else:
        for line in sys.stdin:
            yield line.rstrip("\n")


@app.command()
def chat() -> None:
    """Interactive chat over the articles: /sources /reset /help /exit."""
    settings = Settings()
    kb = _open(settings)
    _seed_if_empty(kb)
    console.print(HELP, highlight=False)
    last = None
    history: History = []  # (question, answer) turns: follow-ups are condensed or searched with them
    for line in _read_lines(settings):
        command = line.strip().lower()
        if not command:
            continue
        if command in ("/exit", "/quit"):
            break
        if command == "/help":
            console.print(HELP, highlight=False)
        elif command == "/sources":
            render_sources(console, last)
        elif command == "/reset":
            last = None
            history.clear()
            console.print("[dim]Conversation cleared.[/dim]")
        else:
            try:
                if kb.answerer is not None:
                    last = _stream_answer(kb, line, history[-CHAT_TURNS:], sources=False)
                else:
                    last = kb.ask(line, history[-CHAT_TURNS:])
                    render_answer(console, last, show_sources=False)
                    _source_lines(last)
            except EmptyQuestion:
                continue
            except KeyboardInterrupt:  # Ctrl-C while an answer streams stops that answer, not the chat
                console.print("\n[dim]Stopped.[/dim]")
                continue
            history.append((line.strip(), last.answer))


@app.command()
def stats() -> None:
    """What the store holds and where."""
    kb = _open()
    s = kb.stats()
    console.print(
        f"articles:  {s.articles}\nsentences: {s.sentences}\nchunks:    {s.chunks}\n"
        + (f"pending:   {s.pending} (interrupted; the next ingest cleans them)\n" if s.pending else "")
        + f"store:     {s.location}\nembedder:  {s.embedder}",
        highlight=False,
    )


app.command("eval")(eval_command)


@app.command()
def telegram() -> None:
    """Run the Telegram bot: long polling, or a webhook when KHABAR_TELEGRAM_WEBHOOK_URL is set."""
    from bot.telegram import main  # PTB is only imported by the command that needs it

    main(Settings())


if __name__ == "__main__":
    app()
