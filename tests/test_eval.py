"""`khabar eval` end to end on the seeds (real store, real embedder, real LlamaIndex baseline), kept small."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prompts import phrases
from retrieval.evaluation.baseline import Retrieved
from retrieval.evaluation.metrics import GROUPS, METRIC_KEYS, compute
from retrieval.evaluation.questions import Evidence, Question, load_questions
from retrieval.evaluation.run import (
    BaselineRunner,
    EvalError,
    KhabarRunner,
    Passage,
    Response,
    open_eval_store,
    run_method,
    score,
    split_hidden,
)
from retrieval.index.manifest import corpus_fingerprint
from tests.conftest import SEEDS, make_settings

DOC_A, DOC_B = "000_65fb7c15639e4525", "004_3ff3aaad62e032cf"

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


TINY = [
    {
        "id": "n1",
        "title": "ميناء",
        "text": "افتتح ميناء جديد في العقبة يوم الاثنين. وقال الوزير إن كلفته بلغت 300 مليون.",
    },
    {"id": "n2", "title": "مطر", "text": "هطلت أمطار غزيرة على عمّان. وأغلقت المدارس أبوابها."},
    {
        "id": "n3",
        "title": "قطار",
        "text": "بدأ تشغيل قطار سريع بين مدينتين. وتبلغ سرعته 250 كيلومتراً في الساعة.",
    },
]


def _tiny_corpus(tmp_path: Path, articles: list[dict]) -> Path:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles) + "\n", "utf-8")
    return corpus


def test_a_copy_of_the_evidence_sentence_in_another_article_is_gold(tmp_path: Path) -> None:
    """A twin article (a wire copy) prints the gold sentence word for word: quoting it there is the same
    evidence, for khabar's sentence and the baseline's chunk alike; its other sentences are not."""
    twin = "وقال الوزير إن كلفته بلغت 300 مليون."
    articles = [TINY[0], {"id": "n4", "title": "العقبة", "text": f"{twin} وحضر الافتتاح مسؤولون من دول عدة."}]
    store = open_eval_store(make_settings(tmp_path / "data"), _tiny_corpus(tmp_path, articles))
    q = Question("cost", "كم بلغت كلفة الميناء؟", "ar", True, ("300 مليون",), (Evidence("n1", "300 مليون"),))
    (asked,) = store.questions([q])
    assert len(asked.evidence_sentences) == 1  # n1's sentence holding the span, as the store split it

    def cited(text: str) -> Response:
        return Response(
            "", False, [Passage("n4:x", "n4", text)], ["n4", "n1"], [Passage("n4:x", "n4", text)], 1.0
        )

    copy_cited = score(asked, cited(twin))
    assert copy_cited.record.citation_gold == (True,) and copy_cited.record.passage_gold_rank == 1
    assert copy_cited.row["citations"][0]["copy"] is True
    assert score(q, cited(twin)).record.citation_gold == (False,)  # by article id alone it was a miss
    assert score(asked, cited("وحضر الافتتاح مسؤولون من دول عدة.")).record.citation_gold == (False,)
    assert score(asked, cited(f"{twin} وحضر الافتتاح")).record.citation_gold == (True,)  # a chunk holding it
    # khabar ranks one copy of a sentence printed twice; whichever it quotes counts.
    asked_khabar = KhabarRunner(store.kb)(asked)
    assert asked_khabar.record.citation_gold[:1] == (True,), asked_khabar.row

    # With n1 hidden (seed 1), the question keeps its answer in n4: it stays answerable, with n4 as its evidence;
    # a question whose answer sentence has no copy becomes a hidden-article negative.
    rain = Question("rain", "ماذا حدث في عمّان؟", "ar", True, evidence=(Evidence("n2", "أمطار غزيرة"),))
    hidden = open_eval_store(
        make_settings(tmp_path / "data"),
        _tiny_corpus(tmp_path, [*articles, TINY[1]]),
        hide_share=0.34,
        seed=1,
    )
    assert hidden.hidden is not None and hidden.hidden.docs == {"n1"}
    cost, rain_kept = hidden.questions([q, rain])
    assert cost.answerable and cost.gold_docs == {"n4"} and not cost.hidden_gold
    assert rain_kept.answerable  # n2 is kept
    lone = Question("lone", "ماذا افتتح؟", "ar", True, evidence=(Evidence("n1", "افتتح ميناء جديد"),))
    (gone,) = hidden.questions([lone])
    assert not gone.answerable and gone.hidden_gold  # its sentence is printed nowhere else


def test_eval_separate_corpus_store_is_cached_and_bad_lines_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _tiny_corpus(tmp_path, TINY[:2])
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

    from retrieval.corpus.files import load_articles

    expected = corpus_fingerprint((a.doc_id, a.content_hash) for a in load_articles([corpus]).articles)
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


def test_doc_ranking_is_the_same_whatever_the_gold(seeded_dir: Path) -> None:
    """The deeper search extends every ranking alike: it used to run only when the gold article was missing."""
    from retrieval.pipeline import Khabar

    runner = KhabarRunner(Khabar(make_settings(seeded_dir, top_docs=1)))
    text = "ما الذي طالب به خطيب زاده الولايات المتحدة؟"
    asked = [
        Question("here", text, "ar", True, evidence=(Evidence(DOC_B, "أن تخرج مصدر الانفلات الأمني"),)),
        Question("there", text, "ar", True, evidence=(Evidence(DOC_A, "جو بايدن"),)),
        Question("none", text, "ar", False),
    ]
    outcomes = [runner(q) for q in asked]
    assert (
        outcomes[0].row["answer_path_docs"] == 1
    )  # the answer path saw one article; the rest is the deep search
    assert {o.record.doc_ranking for o in outcomes} == {(DOC_B, DOC_A)}
    assert [compute([o.record])["doc_hit@1"] for o in outcomes[:2]] == [1.0, 0.0]


class _OneChunk:
    """A baseline that always retrieves the same chunk (the shape of retrieval.evaluation.baseline.Baseline.retrieve)."""

    def __init__(self, text: str):
        self.text = text

    def retrieve(self, question: str, top_k: int) -> tuple[list[Retrieved], float]:
        return [Retrieved(DOC_B, "chunk-1", self.text, 0.9)], 1.0


def test_one_answer_language_rule_for_khabar_and_the_baseline(seeded_kb) -> None:
    """Language is read from each answer's own prose, never from what the method says its language is."""
    question = Question(
        "drones",
        "How many drones were used in the attack on Kadhimi's house?",
        "en",
        True,
        evidence=(Evidence(DOC_B, "تمت بثلاث طائرات مسيرة"),),
    )
    kb = copy.copy(seeded_kb)
    khabar = KhabarRunner(kb)
    right = khabar(question)
    assert right.row["answer"].startswith(phrases("en")["framing"]) and right.row["citations"]
    assert right.record.answer_lang == "en"  # English framing, Arabic quotes set aside

    real_run = kb.run

    def arabic_framing(
        text, *args, **kwargs
    ):  # the same quotes, framed in Arabic; Answer.lang still says "en"
        turn = real_run(text, *args, **kwargs)
        turn.answer.answer = turn.answer.answer.replace(phrases("en")["framing"], phrases("ar")["framing"])
        assert turn.answer.lang == "en"
        return turn

    kb.run = arabic_framing
    wrong = khabar(question)
    assert wrong.record.answer_lang == "ar"
    assert compute([wrong.record])["language_accuracy"] == 0.0

    # The baseline's answer is only its quoted chunk: Arabic text for an English question is Arabic, wrong.
    sentence = next(c["text"] for c in right.row["citations"])
    baseline = BaselineRunner(_OneChunk(sentence))  # type: ignore[arg-type]
    quoted = baseline(question)
    assert (
        quoted.record.answer_lang == "ar"
        and quoted.row["citations"][0]["gold"] == right.row["citations"][0]["gold"]
    )
    arabic = baseline(
        Question("ar", "كم طائرة مسيرة استخدمت في الهجوم؟", "ar", True, evidence=question.evidence)
    )
    assert arabic.record.answer_lang == "ar"


def test_hidden_split_is_seeded_by_article_and_refuses_to_hide_nothing_or_everything() -> None:
    ids = [f"d{i:02d}" for i in range(20)]
    first = split_hidden(ids, 0.5, seed=3)
    assert len(first) == 10 and first == split_hidden(reversed(ids), 0.5, seed=3)
    assert any(split_hidden(ids, 0.5, seed=s) != first for s in range(4, 8))
    with pytest.raises(EvalError):
        split_hidden(ids, 0.01, seed=0)
    with pytest.raises(EvalError):
        split_hidden(ids, 0.99, seed=0)


def test_eval_hide_articles_makes_their_questions_unanswerable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _tiny_corpus(tmp_path, TINY)
    hidden = split_hidden([a["id"] for a in TINY], 0.34, seed=7)
    assert len(hidden) == 1
    (gone,) = hidden
    kept = sorted({"n1", "n2", "n3"} - hidden)
    spans = {"n1": "300 مليون", "n2": "أمطار غزيرة", "n3": "250 كيلومتراً"}
    questions = [
        {
            "id": doc,
            "question": f"ماذا ورد عن {spans[doc]}؟",
            "lang": "ar",
            "answerable": True,
            "answers": [spans[doc]],
            "evidence": [{"doc": doc, "text": spans[doc]}],
        }
        for doc in ("n1", "n2", "n3")
    ]
    questions.append(  # gold in a hidden and a kept article: still answerable
        {
            "id": "both",
            "question": "ماذا حدث؟",
            "lang": "ar",
            "answerable": True,
            "answers": [],
            "evidence": [{"doc": gone, "text": spans[gone]}, {"doc": kept[0], "text": spans[kept[0]]}],
        }
    )
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n", "utf-8")
    data_dir, out = tmp_path / "data", tmp_path / "out"
    args = [str(path), "--corpus", str(corpus), "--hide-articles", "0.34", "--seed", "7", "--baseline"]
    result = _invoke([*args, "--out", str(out)], data_dir, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "hidden-article negatives abstained" in result.output

    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    h = metrics["hidden_articles"]
    assert (h["share"], h["seed"], h["articles_hidden"], h["articles_kept"]) == (0.34, 7, 1, 2)
    assert h["questions_made_unanswerable"] == 1
    assert metrics["corpus"]["articles"] == 2
    for method in ("khabar", "baseline"):
        assert metrics[method]["hidden"]["n"] == 1 and metrics[method]["answerable"]["n"] == 3
        assert metrics[method]["answerable"]["answerable_refused"] is not None
    assert metrics["baseline"]["hidden"]["unanswerable_abstained"] == 0.0  # it never abstains
    rows = {r["id"]: r for r in map(json.loads, (out / "per_question.jsonl").read_text("utf-8").splitlines())}
    assert rows[gone]["hidden_gold"] and not rows[gone]["answerable"]
    assert rows[gone]["gold"]["evidence"] == [{"doc": gone, "text": spans[gone]}]
    assert "(gold article hidden)" in rows[gone]["khabar"]["verdict"]
    assert rows["both"]["answerable"] and not rows["both"]["hidden_gold"]
    for row in rows.values():  # neither method can see the hidden article
        assert gone not in row["khabar"]["doc_ranking"] and gone not in row["baseline"]["doc_ranking"]
    report = (out / "report.md").read_text("utf-8")
    assert "## Hidden articles" in report and "## hidden" in report

    # The store holds the kept articles only and is cached under their hash like any eval store.
    from retrieval.corpus.files import load_articles

    kept_hash = corpus_fingerprint(
        (a.doc_id, a.content_hash) for a in load_articles([corpus]).articles if a.doc_id not in hidden
    )
    assert metrics["corpus"]["hash"] == kept_hash
    assert [p.name for p in (data_dir / "eval").iterdir()] == [kept_hash]
    result = _invoke([*args, "--out", str(out)], data_dir, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert [p.name for p in (data_dir / "eval").iterdir()] == [kept_hash]
