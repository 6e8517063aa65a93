"""`khabar eval`: a question set through khabar (and the LlamaIndex baseline), with a progress bar and a summary.

It only parses options, shows progress and prints tables; running and scoring live in retrieval/evaluation/run.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from retrieval.evaluation.metrics import METRIC_KEYS
from retrieval.evaluation.questions import QuestionSet, QuestionSetError, load_questions
from retrieval.evaluation.report import fmt, measurement_info, ratio, write_outputs
from retrieval.evaluation.run import EvalError, EvalStore, evaluate, open_eval_store, store_articles
from retrieval.index.store import StoreError
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.evaluation.baseline import Baseline

console = Console()
err = Console(stderr=True, soft_wrap=True)
SUMMARY_KEYS = tuple(k for k in METRIC_KEYS if k not in ("doc_hit@5", "evidence_hit@3"))  # the terminal table


class _Bar:
    """retrieval.evaluation.run.Progress on a rich progress bar: one task per phase."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


def _summary(metrics: dict[str, Any]) -> Table:
    methods = [m for m in ("khabar", "baseline") if m in metrics]
    table = Table(title="overall (ar / en in brackets)", title_justify="left", pad_edge=False)
    table.add_column("metric")
    for method in methods:
        table.add_column(method, justify="right")
    if len(methods) == 2:
        table.add_column("ratio", justify="right")
    for key in SUMMARY_KEYS:
        cells = []
        for method in methods:
            groups = metrics[method]
            by_lang = [fmt(key, groups[lang][key]) for lang in ("ar", "en") if groups[lang]["n"]]
            cells.append(
                fmt(key, groups["overall"][key]) + (f" ({' / '.join(by_lang)})" if len(by_lang) > 1 else "")
            )
        if len(methods) == 2 and key not in ("n", "errors"):
            cells.append(ratio(metrics["khabar"]["overall"][key], metrics["baseline"]["overall"][key]))
        elif len(methods) == 2:
            cells.append("")
        table.add_row(key, *cells)
    return table


def eval_command(
    question_set: Annotated[Path, typer.Argument(help="Question set (.jsonl, the ../shared/eval format).")],
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="Articles to evaluate against (file or folder); a separate store cached by content hash."
        ),
    ] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also run the plain LlamaIndex baseline, side by side.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Output folder; default reports/<question set name>/.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions (quick runs).")] = None,
    k: Annotated[int, typer.Option(min=1, max=10, help="Baseline: how many top chunks it cites.")] = 1,
    hide_articles: Annotated[
        float | None,
        typer.Option(
            help="Leave this share of the articles out of the store (seeded, by article); questions whose gold "
            "articles are all hidden must then be abstained on.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="With --hide-articles: the seed of the split.")] = 0,
) -> None:
    """Evaluate khabar on a question set: retrieval, citation, answer and cost metrics, with a report."""
    loaded = _load(question_set)
    questions = loaded.questions[:limit] if limit else loaded.questions
    name = question_set.name.removesuffix(".jsonl")
    if hide_articles is not None:
        if not 0 < hide_articles < 1:
            err.print(
                "[red]error:[/red] --hide-articles is a share of the articles, between 0 and 1 (e.g. 0.5)."
            )
            raise typer.Exit(2)
        name = f"{name}-hide{hide_articles:g}-seed{seed}"
    bar = Progress(
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    try:
        with bar:
            hooks = _Bar(bar)
            store = open_eval_store(Settings(), corpus, hooks, hide_articles, seed)
            base = _baseline(store, hooks) if baseline else None
            base_info = {"chunks": base.chunks, "tokenizer": base.tokenizer_name, "k": k} if base else None
            info = measurement_info(store, question_set, len(questions), loaded.problems, base_info, limit)
            result = evaluate(store, questions, base, k=k, progress=hooks, info=info)
    except (EvalError, StoreError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    for path, reason in store.ingest_failures:
        err.print(f"[yellow]corpus problem[/yellow] {path}: {reason}", highlight=False)
    paths = write_outputs(result, out or Path("reports") / name, name)
    _print_results(result.metrics())
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}", highlight=False)


def _load(question_set: Path) -> QuestionSet:
    """The question set, or one error line and exit code 1; lines it cannot use are listed and skipped."""
    try:
        loaded = load_questions(question_set)
    except QuestionSetError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    for number, reason in loaded.problems:
        err.print(f"[yellow]skipped[/yellow] {question_set}:{number}: {reason}", highlight=False)
    return loaded


def _baseline(store: EvalStore, hooks: _Bar) -> Baseline:
    """The LlamaIndex baseline over the same articles (imported here: llama-index's core is slow to load)."""
    from retrieval.evaluation.baseline import Baseline

    hooks.start("building baseline", None)
    articles = store.articles if store.articles is not None else store_articles(store.kb)
    return Baseline.load_or_build(store.folder / "baseline", articles, store.kb.embedder)


def _print_results(metrics: dict[str, Any]) -> None:
    console.print(_summary(metrics))
    if "hidden_articles" in metrics:
        h = metrics["hidden_articles"]
        console.print(
            f"hidden articles: {h['articles_hidden']} of {h['articles_hidden'] + h['articles_kept']} "
            f"(seed {h['seed']}), {h['questions_made_unanswerable']} questions made unanswerable",
            highlight=False,
        )
        for method in ("khabar", "baseline"):
            if method in metrics:
                refused = metrics[method]["answerable"]["answerable_refused"]
                abstained = metrics[method]["hidden"]["unanswerable_abstained"]
                console.print(
                    f"{method}: answerable refused {fmt('answerable_refused', refused)}, hidden-article "
                    f"negatives abstained {fmt('unanswerable_abstained', abstained)}",
                    highlight=False,
                )
    for method, t in metrics["throughput"].items():
        console.print(f"{method}: {t['questions_per_second']} questions/s", highlight=False)
