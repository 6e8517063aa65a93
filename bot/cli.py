"""The `khabar` command: ingest, ask, chat, stats (typer). It parses, calls the pipeline and renders."""

from __future__ import annotations

import io
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from bot.eval_cli import eval_command
from bot.render import Printer, render_answer, render_source_lines, render_sources
from prompts import phrases
from retrieval.answer.extractive import Answer
from retrieval.corpus.fetch import Fetcher
from retrieval.corpus.files import iter_files
from retrieval.corpus.watch import SyncResult, WatchState, WatchStateError, parse_interval
from retrieval.corpus.web import is_url
from retrieval.index.store import StoreError
from retrieval.index.writer import IngestProgress, IngestStats, ProgressReport
from retrieval.pipeline import EmptyQuestion, History, Khabar, StoreStats, fetch_limits
from retrieval.search.ranker import RankerModelError
from retrieval.settings import Settings
from retrieval.text.dates import DateError, DateRange, parse_bound
from retrieval.text.language import detect_language

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Ask questions about Arabic news articles."
)
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _open(settings: Settings | None = None, writable: bool = False) -> Khabar:
    """The pipeline, or one error line and exit code 1 (unreachable server, unusable or read-only data dir)."""
    try:
        kb = Khabar(settings or Settings(), writable=writable)
    except (StoreError, RankerModelError) as exc:
        _error(exc)
        raise typer.Exit(1) from None
    if kb.notice:
        err.print(f"[dim]{kb.notice}[/dim]", highlight=False, markup=True)
    return kb


def _error(exc: Exception) -> None:
    err.print(Text.assemble(("error: ", "red"), str(exc)), highlight=False)


@contextmanager
def _store_errors() -> Iterator[None]:
    """A store that fails while a command runs (server gone or frozen, store changed underneath): one line,
    exit code 1, no traceback."""
    try:
        yield
    except StoreError as exc:
        _error(exc)
        raise typer.Exit(1) from None


def _printer(settings: Settings) -> Printer:
    return Printer(console, rtl_display=settings.rtl_display)


def _waiting(lock: str) -> None:
    err.print(f"Waiting for another ingest into this store to finish (lock {lock})...", highlight=False)


@contextmanager
def _ingest_progress(settings: Settings) -> Iterator[ProgressReport]:
    """Ingest progress on stderr: a bar in a terminal, a plain line every few seconds in a log or pipe."""
    if err.is_terminal:
        columns = (
            TextColumn("[bold]ingesting[/bold] {task.fields[counts]}"),
            BarColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("ingest", total=None, counts="")
            start = time.monotonic()

            def update(p: IngestProgress) -> None:
                rate = p.passages_done / max(time.monotonic() - start, 1e-9)
                counts = (
                    f"{p.articles_done:,}/{p.articles_total:,} articles, "
                    f"{p.passages_done:,}/{p.passages_total:,} passages, {rate:.1f}/s"
                )
                bar.update(task, completed=p.passages_done, total=p.passages_total or None, counts=counts)

            yield update
    else:
        yield ProgressLines(settings.progress_interval).update


class ProgressLines:
    """For logs and pipes: a line every `interval` seconds with counts, rate and time left, so a long ingest
    run from cron or CI shows it is alive (nothing for an ingest shorter than that)."""

    def __init__(self, interval: float):
        self.interval = interval
        self.start = self.last = time.monotonic()

    def update(self, p: IngestProgress) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        rate = p.passages_done / max(now - self.start, 1e-9)
        left = p.passages_total - p.passages_done
        eta = _duration(left / rate) if rate > 0 else "unknown"
        err.print(
            f"ingest: {p.articles_done:,}/{p.articles_total:,} articles, "
            f"{p.passages_done:,}/{p.passages_total:,} passages embedded, {rate:.1f} passages/s, ETA {eta}",
            highlight=False,
        )


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _print_ingest(stats: IngestStats) -> None:
    err.print(
        f"articles: {stats.added} added, {stats.updated} updated, {stats.skipped} unchanged, "
        f"{stats.removed} removed, {len(stats.failures)} failed"
        + (f", {stats.repaired} interrupted earlier and cleaned" if stats.repaired else "")
        + f"; sentences: {stats.sentences} added; chunks: {stats.chunks} added",
        highlight=False,
    )
    if stats.upgraded:
        err.print(
            f"rewrote {stats.upgraded} article(s) stored by an older version as this one stores them (dates, "
            "outlets, wire-copy keys, planted-text flags, texts outside Chroma's full-text index; nothing "
            "re-embedded)",
            highlight=False,
        )
    for doc_id, other, similarity in stats.copies:
        err.print(f"wire copy: {doc_id} repeats {other} (similarity {similarity:.2f})", highlight=False)
    if stats.kept:
        err.print(
            f"kept {stats.kept} stored article(s) whose file is present but failed to load (not pruned)",
            highlight=False,
        )
    for path, reason in stats.skipped_files:
        err.print(Text(f"skipped {path}: {reason}", style="dim"), highlight=False)
    for path, reason in stats.failures:
        err.print(Text.assemble(("failed", "red"), f" {path}: {reason}"), highlight=False)
    if stats.compaction and stats.compaction.error:
        err.print(Text(stats.compaction.error, style="yellow"), highlight=False)


def _seed_if_empty(kb: Khabar) -> None:
    """Ingest the seeds into an empty store (one process does it; others starting at once wait and find it done)."""

    def starting(_: int) -> None:
        err.print(f"The store is empty: ingesting {kb.settings.seeds_dir}/ first.", highlight=False)

    if not kb.is_empty():  # the usual case: no progress display at all (ensure_seeded checks again, locked)
        return
    with _ingest_progress(kb.settings) as report:
        stats = kb.ensure_seeded(on_total=starting, on_progress=report, on_wait=_waiting)
    if stats is not None:
        _print_ingest(stats)


@app.command()
def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders (.txt, .md, .html, .htm, .jsonl), web pages and RSS/Atom feeds (http(s) URLs).",
            metavar="PATH_OR_URL...",
        ),
    ],
    prune: Annotated[
        bool, typer.Option(help="Remove stored articles that are not in PATHS any more (files only).")
    ] = False,
) -> None:
    """Add articles to the store; unchanged ones are skipped, changed ones replaced."""
    urls = [s for s in sources if is_url(s)]
    paths = [Path(s) for s in sources if not is_url(s)]
    if prune and urls:
        err.print("Not pruning: --prune works on files and folders only; ingest URLs without it.")
        raise typer.Exit(1)
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        err.print(f"[red]failed[/red] {path}: no such file or folder", highlight=False)
    existing = [p for p in paths if p.exists()]
    if prune and missing:
        err.print("Not pruning: some paths are missing, and pruning would delete their articles.")
        raise typer.Exit(1)
    settings = Settings()
    kb = _open(settings, writable=True)
    if not urls and not any(True for _ in iter_files(existing)) and not missing:
        err.print("No .txt, .md, .html, .htm or .jsonl files found.")
        raise typer.Exit(1)
    if urls:
        err.print(f"Fetching {len(urls)} web page(s) and feed(s)...", highlight=False)
    with _store_errors(), _ingest_progress(settings) as report:
        stats = kb.ingest(existing, prune=prune, on_progress=report, on_wait=_waiting, urls=urls)
    _print_ingest(stats)
    if stats.failures or missing:
        raise typer.Exit(1)


@app.command()
def watch(
    feeds: Annotated[list[str], typer.Argument(help="RSS or Atom feed URLs.", metavar="FEED_URL...")],
    every: Annotated[str, typer.Option(help="Time between rounds: 15m, 1h, 1h30m, 90s.")] = "15m",
    once: Annotated[bool, typer.Option(help="One round, then exit (for cron).")] = False,
) -> None:
    """Keep feeds in sync: each round fetches only new items (conditional GET) and stores their pages.

    One line per feed per round on stdout; failures in detail on stderr. Ctrl-C or SIGTERM stops after the
    feed in progress (a second one stops at once). With --once the exit code is 1 if anything failed.
    """
    bad = [f for f in feeds if not is_url(f)]
    if bad:
        raise typer.BadParameter(f"not an http(s) URL: {bad[0]}", param_hint="FEED_URL")
    try:
        interval = parse_interval(every)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--every") from None
    settings = Settings()
    kb = _open(settings, writable=True)
    try:
        state = WatchState.load(watch_state_path(settings))
    except WatchStateError as exc:
        _error(exc)
        raise typer.Exit(1) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err.print("Stopping after the feed in progress (again to stop at once).", highlight=False)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed = False
    try:
        with Fetcher(fetch_limits(settings)) as fetcher:
            while not stop.is_set():
                if not kb.store.server:
                    kb.reopen()  # another process may have written to the embedded store since the last round
                for url in feeds:
                    if stop.is_set():
                        break
                    failed |= _watch_feed(kb, fetcher, state, url)
                if once:
                    break
                stop.wait(interval)
    except KeyboardInterrupt:
        err.print("Stopped.", highlight=False)
        raise typer.Exit(130) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if once and failed:
        raise typer.Exit(1)


def watch_state_path(settings: Settings) -> Path:
    path = Path(settings.watch_state_file)
    return path if path.is_absolute() else Path(settings.data_dir) / path


def _watch_feed(kb: Khabar, fetcher: Fetcher, state: WatchState, url: str) -> bool:
    """One feed's round and its line; True when something failed."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    try:
        result, stats = kb.sync_feed(fetcher, state, url)
    except (
        StoreError,
        OSError,
    ) as exc:  # the store (or the state file) failed: the items are taken next round
        console.print(f"{stamp} {url}: error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return True
    console.print(
        f"{stamp} {url}: {_round_summary(result, stats)}", highlight=False, markup=False, soft_wrap=True
    )
    for link, reason in stats.failures:
        err.print(Text.assemble(("failed", "red"), f" {link}: {reason}"), highlight=False)
    for item in result.given_up:
        err.print(f"gave up on {item.link} after {kb.settings.watch_max_attempts} attempts", highlight=False)
    return bool(result.error or stats.failures)


def _round_summary(result: SyncResult, stats: IngestStats) -> str:
    if result.error:
        return f"error: {result.error}"
    if result.not_modified:
        return "not modified"
    new = len(result.report.articles) + len(result.report.failures)
    if not new:
        return "no new items"
    return (
        f"{new} new item(s): {stats.added} added, {stats.updated} updated, {stats.skipped} unchanged, "
        f"{len(stats.failures)} failed"
    )


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question; read from stdin when omitted.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    since: Annotated[str | None, typer.Option(help=SINCE_HELP)] = None,
    until: Annotated[str | None, typer.Option(help=UNTIL_HELP)] = None,
) -> None:
    """Answer one question with cited source sentences."""
    window = date_window(since, until)
    if question is None and not sys.stdin.isatty():
        question = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    question = question or ""
    if not question.strip():
        err.print(phrases("en")["empty_question"] + "\n" + phrases("ar")["empty_question"])
        raise typer.Exit(2)
    settings = Settings()
    kb = _open(settings)
    printer = _printer(settings)
    with _store_errors():
        _seed_if_empty(kb)
        try:
            if as_json:
                answer = kb.ask(question, window=window)
            elif kb.generative:
                answer = _stream_answer(kb, printer, question, window=window)
            else:
                answer = kb.ask(question, window=window)
                render_answer(printer, answer)
        except EmptyQuestion:
            err.print(phrases(detect_language(question))["empty_question"])
            raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))


SINCE_HELP = (
    "Only articles published on or after this day: 2021-11-01, 2021-11 (from the 1st), 7d, yesterday."
)
UNTIL_HELP = "Only articles published on or before this day: 2021-11-30, 2021-11 (to the 30th), today."


def date_window(since: str | None, until: str | None) -> DateRange | None:
    """The --since/--until window (an open end reaches as far as dates go), or None when neither is given."""
    if since is None and until is None:
        return None
    try:
        start = parse_bound(since, end=False) if since else date.min
        end = parse_bound(until, end=True) if until else date.max
    except DateError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since/--until") from None
    if start > end:
        raise typer.BadParameter(f"--since {since} is after --until {until}", param_hint="--since/--until")
    return DateRange(start, end)


def _stream_answer(
    kb: Khabar,
    printer: Printer,
    question: str,
    history: History | None = None,
    sources: bool = True,
    window: DateRange | None = None,
) -> Answer:
    """Print the LLM's reply as it comes, then what verification kept: the verified answer and its sources.

    The streamed text is the model's draft; when verification removed or replaced anything, the verified
    answer is printed after it under its own heading, so what the sources support is always the last word.
    """

    def restart(notice: str) -> None:
        printer.stream("\n")
        printer.line(notice, style="yellow")

    answer = kb.run(question, history, on_token=printer.stream, on_restart=restart, window=window).answer
    printer.stream("\n")
    for sentence in answer.sentences:
        if not sentence.supported and sentence.reason != "abstention":
            printer.line(f"✗ {sentence.text} ({sentence.reason})", style="dim red")
    if answer.mode == "llm" and not answer.notice:
        if sources:
            render_sources(printer, answer)
        else:
            render_source_lines(printer, answer)
        return answer
    printer.line(phrases(answer.lang)["verified"], style="bold")
    render_answer(printer, answer, show_sources=sources)
    if not sources:
        render_source_lines(printer, answer)
    return answer


CHAT_TURNS = 6  # earlier turns a follow-up question is read with

HELP = """Type a question in Arabic or English. Commands:
  /sources  show the full sources of the last answer
  /since DATE, /until DATE   search only articles published then (2021-11-01, 2021-11, 7d); "/since off"
  /reset    forget the conversation
  /help     this help
  /exit     leave (or Ctrl-D)"""


def _read_lines(settings: Settings):
    """Questions from a prompt_toolkit prompt with history, or plain lines when stdin is not a terminal
    (undecodable bytes become U+FFFD instead of ending the chat)."""
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession

        session: PromptSession[str] = PromptSession(history=_prompt_history(settings))
        while True:
            try:
                yield session.prompt("؟ > ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                return
    else:
        for line in io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"):
            yield line.rstrip("\n")


def _prompt_history(settings: Settings):
    """The chat's input history in the data dir, or in memory when the data dir is read-only."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = settings.data_dir / "chat_history"
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


@app.command()
def chat(
    since: Annotated[str | None, typer.Option(help=SINCE_HELP)] = None,
    until: Annotated[str | None, typer.Option(help=UNTIL_HELP)] = None,
) -> None:
    """Interactive chat over the articles: /sources /since /until /reset /help /exit."""
    settings = Settings()
    kb = _open(settings)
    session = _ChatSession(
        kb, _printer(settings), {"since": since, "until": until}, date_window(since, until)
    )
    with _store_errors():
        _seed_if_empty(kb)
    session.printer.line(HELP)
    for line in _read_lines(settings):
        command = line.strip().lower()
        if command in ("/exit", "/quit"):
            break
        if command:
            session.handle(line, command)


@dataclass
class _ChatSession:
    """One terminal conversation: its history, last answer, date window and whether the store must reopen."""

    kb: Khabar
    printer: Printer
    bounds: dict[str, str | None]
    window: DateRange | None
    last: Answer | None = None
    history: History = field(default_factory=list)  # (question, answer): follow-ups are read with them
    reopen: bool = False  # the store failed on the last question: open it again before the next one

    def handle(self, line: str, command: str) -> None:
        if command == "/help":
            self.printer.line(HELP)
        elif command == "/sources":
            render_sources(self.printer, self.last)
        elif command == "/reset":
            self.last = None
            self.history.clear()
            self.printer.line("Conversation cleared.", style="dim")
        elif command.split()[0] in ("/since", "/until"):
            self.set_bound(line)
        else:
            self.ask(line)

    def set_bound(self, line: str) -> None:
        """`/since DATE`, `/until DATE`, or either with `off`: the window of publication dates searched."""
        name, _, value = line.strip().partition(" ")
        value = value.strip()
        changed = {**self.bounds, name[1:].lower(): None if value.lower() in ("", "off") else value}
        try:
            self.window = date_window(changed["since"], changed["until"])
        except typer.BadParameter as exc:
            self.printer.line(str(exc.message), style="red")
            return
        self.bounds = changed
        self.printer.line(f"Published: {self.window.span() if self.window else 'any time'}", style="dim")

    def ask(self, line: str) -> None:
        kb, printer, turns = self.kb, self.printer, self.history[-CHAT_TURNS:]
        try:
            if self.reopen:
                kb.reopen()
                self.reopen = False
            if kb.generative:
                answer = _stream_answer(kb, printer, line, turns, sources=False, window=self.window)
            else:
                answer = kb.ask(line, turns, window=self.window)
                render_answer(printer, answer, show_sources=False)
                render_source_lines(printer, answer)
        except EmptyQuestion:
            return
        except StoreError as exc:  # the chat, its history and the last sources survive; retried next time
            _error(exc)
            err.print("The conversation is kept: ask again once the store is back.", highlight=False)
            self.reopen = True
            return
        except KeyboardInterrupt:  # Ctrl-C while an answer streams stops that answer, not the chat
            printer.stream("\n")
            printer.line("Stopped.", style="dim")
            return
        self.last = answer
        self.history.append((line.strip(), answer.answer))


@app.command()
def stats() -> None:
    """What the store holds and where: counts, dates, wire copies, planted text."""
    kb = _open()
    with _store_errors():
        s = kb.stats()
    console.print(
        f"articles:  {s.articles} ({s.from_web} from the web, {s.undated} without a date)\n"
        f"sentences: {s.sentences}\nchunks:    {s.chunks}\n"
        + (f"pending:   {s.pending} (interrupted; the next ingest cleans them)\n" if s.pending else "")
        + f"store:     {s.location}\nembedder:  {s.embedder}",
        highlight=False,
        markup=False,
    )
    _print_store_checks(s)


def _print_store_checks(s: StoreStats) -> None:
    """Wire copies and planted text, listed for an operator (article text printed as is, never as markup)."""
    console.print(
        f"wire copies: {len(s.duplicate_groups)} group(s) of near-duplicate articles, "
        f"{s.shared_sentences} sentence(s) printed in two or more articles",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for group in s.duplicate_groups:
        console.print("  " + ", ".join(group), highlight=False, markup=False, soft_wrap=True)
    console.print(
        f"planted text: {len(s.planted)} sentence(s), never given to a language model nor quoted",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for sentence_id, reason, text in s.planted:
        console.print(f"  {sentence_id}: {reason}", highlight=False, markup=False, soft_wrap=True)
        console.print(f"    {text}", highlight=False, markup=False, soft_wrap=True)
    if s.older_format:
        console.print(
            f"older format: {s.older_format} article(s) stored by an older version; they answer as before, "
            "and the next `khabar ingest` rewrites them as this version stores them (nothing is re-embedded)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


app.command("eval")(eval_command)


@app.command()
def telegram() -> None:
    """Run the Telegram bot: long polling, or a webhook when KHABAR_TELEGRAM_WEBHOOK_URL is set."""
    from bot.telegram import main  # PTB is only imported by the command that needs it

    main(Settings())


if __name__ == "__main__":
    app()
