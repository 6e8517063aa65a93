"""`khabar eval` end to end on the seeds (real store, real embedder, real LlamaIndex baseline), kept small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retrieval.evaluate import KhabarRunner, articles_fingerprint, run_method
from retrieval.metrics import GROUPS, METRIC_KEYS
from retrieval.questions import Evidence, Question, load_questions
from tests.conftest import SEEDS

runner = CliRunner()


def _invoke(args: list[str], data_dir: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch):
    from bot.cli import app

    monkeypatch.chdir(cwd)  # no developer .env is read
    monkeypatch.setenv("KHABAR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KHABAR_SEEDS_DIR", str(SEEDS))
    return runner.invoke(app, ["eval", *args])


def test_eval_seeds_with_baseline_writes_every_output(
    seeded_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    result = _invoke(
        [str(SEEDS / "questions.jsonl"), "--baseline", "--limit", "8", "--out", str(out)],
        seeded_copy,
        tmp_path,
        monkeypatch,
    )
    assert result.exit_code == 0, result.output
    assert "doc_hit@1" in result.output  # the summary table
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    for method in ("khabar", "baseline"):
        assert list(metrics[method]) == list(GROUPS)
        for group in GROUPS:
            assert tuple(metrics[method][group]) == METRIC_KEYS
        assert metrics[method]["overall"]["n"] == 8
        assert metrics[method]["overall"]["errors"] == 0
    assert metrics["baseline"]["overall"]["abstention_accuracy"] is not None
    assert metrics["embedder"] and metrics["corpus"]["hash"] and metrics["versions"]["llama-index-core"]
    assert metrics["baseline_settings"]["tokenizer"].startswith("tiktoken cl100k_base")

    rows = [json.loads(line) for line in (out / "per_question.jsonl").read_text("utf-8").splitlines()]
    first8 = load_questions(SEEDS / "questions.jsonl").questions[:8]
    assert [r["id"] for r in rows] == [q.id for q in first8]
    # The metrics are the rows' own verdicts, recounted: evidence_hit@1 over answerable questions.
    answerable = [r for r in rows if r["answerable"]]
    hits = sum(1 for r in answerable if r["khabar"]["citations"] and r["khabar"]["citations"][0]["gold"])
    assert metrics["khabar"]["overall"]["evidence_hit@1"] == pytest.approx(round(hits / len(answerable), 4))
    # Every khabar citation is a verbatim sentence of its article.
    texts = {p.stem: p.read_text("utf-8") for p in SEEDS.glob("*.txt")}
    for row in rows:
        for c in row["khabar"]["citations"]:
            assert c["text"] in texts[c["doc_id"]]
        assert row["baseline"]["abstained"] is False
    report = (out / "report.md").read_text("utf-8")
    assert "| doc_hit@1 |" in report and "khabar / baseline" in report and "hit_at_k.png" in report
    assert (out / "hit_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_separate_corpus_store_is_cached_and_bad_lines_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    articles = [
        {
            "id": "n1",
            "title": "ميناء",
            "text": "افتتح ميناء جديد في العقبة يوم الاثنين. وقال الوزير إن كلفته بلغت 300 مليون.",
        },
        {"id": "n2", "title": "مطر", "text": "هطلت أمطار غزيرة على عمّان. وأغلقت المدارس أبوابها."},
    ]
    corpus.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles) + "\n", "utf-8")
    questions = tmp_path / "set.jsonl"
    lines = [
        {
            "id": "1",
            "question": "كم بلغت كلفة الميناء؟",
            "lang": "ar",
            "answerable": True,
            "answers": ["300 مليون"],
        },
        "this line is broken",
        {"id": "2", "question": "How much did the port cost?", "lang": "en", "answerable": True},
    ]
    lines[0]["evidence"] = [{"doc": "n1", "text": "300 مليون"}]
    lines[2]["evidence"] = [{"doc": "n1", "text": "300 مليون"}]
    questions.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
        "utf-8",
    )
    data_dir = tmp_path / "data"
    args = [str(questions), "--corpus", str(corpus), "--out", str(tmp_path / "out")]
    result = _invoke(args, data_dir, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert f"{questions}:2" in result.output  # the malformed line, by number

    from retrieval.corpus import load_articles

    expected = articles_fingerprint((a.doc_id, a.content_hash) for a in load_articles([corpus]).articles)
    assert [p.name for p in (data_dir / "eval").iterdir()] == [expected]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text("utf-8"))
    assert metrics["corpus"]["hash"] == expected and metrics["corpus"]["articles"] == 2
    assert metrics["khabar"]["overall"]["n"] == 2 and metrics["khabar"]["en"]["n"] == 1
    assert metrics["question_set"]["skipped_lines"][0]["line"] == 2
    chroma = data_dir / "eval" / expected / "chroma" / "chroma.sqlite3"
    before = chroma.stat().st_mtime_ns

    # A second run reuses the cached store (nothing re-ingested, so nothing written).
    result = _invoke(args, data_dir, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert chroma.stat().st_mtime_ns == before


def test_a_question_that_raises_is_an_error_not_a_crash(seeded_kb) -> None:
    blank = Question("blank", "   ", "en", True, evidence=(Evidence("004_3ff3aaad62e032cf", "x"),))
    real = load_questions(SEEDS / "questions.jsonl").questions[0]
    run = run_method("khabar", KhabarRunner(seeded_kb), [blank, real])
    first, second = run.outcomes
    assert first.record.error is not None and "EmptyQuestion" in first.record.error
    assert first.row["verdict"] == "error"
    assert second.record.error is None and second.record.latency_ms is not None
