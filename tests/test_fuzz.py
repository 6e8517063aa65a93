"""Fuzz: hundreds of generated bad articles and questions, and no traceback, no hang, no change to the store.

Most cases run in-process (400 articles through the loaders, the markup stripper and the splitter; 250
questions through question cleaning, a share of them through a real store), then against a real store
(rejected files must leave it exactly as it was, even with --prune; accepted odd articles must be quoted
verbatim); a smaller share goes through the real CLI (40 files, 23 chat lines, 2 asks), whose output must
never hold a traceback. Each case has a time bound. The generator is seeded, so a failure can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from retrieval.corpus.files import load_articles
from retrieval.index.manifest import read_generation, read_manifest
from retrieval.index.sentence_text import get_with_texts
from retrieval.pipeline import EmptyQuestion, Khabar, clean_question
from retrieval.text.arabic import MAX_SENTENCE_CHARS, tokenize
from retrieval.text.language import detect_language
from tests.conftest import ROOT, SEEDS, make_settings

KHABAR = str(Path(sys.executable).with_name("khabar"))
SEED = 20211107
CASE_LIMIT = 5.0  # seconds one in-process case may take: a hang detector, generous for a loaded machine
MAX_CHARS = 100_000  # the article cap in these tests, so that huge inputs are also tried just under it

WORDS = {
    "arabic": "قال المتحدث باسم الوزارة إن الهجوم وقع صباح الأحد في بغداد والبصرة والموصل مُحَمَّد قاآني".split(),
    "latin": "the minister said Dr. U.S. attack on Sunday 8. Nov e.g. i.e. café naïve".split(),
    "cyrillic": "министр сказал что атака произошла".split(),
    "hebrew": "השר אמר שהתקיפה התרחשה".split(),
    "cjk": "部长 表示 袭击 发生 在 星期日".split(),
    "digits": "٢٠٢١ 2021 3.5 ١٢ 7 ۱۴۰۰".split(),
    "emoji": "🙂 🔥 👨‍👩‍👧 🇮🇶 ✊🏽".split(),
}
MARKS = [
    "\u200f",
    "\u200e",
    "\u202e",
    "\u202b",
    "\u2067",
    "\u2069",
    "\u200d",
    "\u200c",
    "\ufeff",
    "\u0640",
    "\u061c",
]
CONTROLS = [chr(c) for c in range(32) if c != 10] + ["\x7f", "\x85", "\x9b", "\u2028", "\u2029"]
PUNCT = [".", ". ", "...", "؟", "؛", "!", "…", ".,", "،", '."', "».", "]", "[", "(", ")", "-", "—", ":"]
MARKUP = ["<p>", "</p>", "<b>", "</b>", "<br/>", "<!--", "-->", "<script>", "&amp;", "&#1575;", "&bogus;",
          "**", "*", "_", "__", "`", "[x](", "](http://a)", "# ", "> ", "<https://a.b>", "\\*", "~~"]  # fmt: skip


def text(rng: random.Random, size: int) -> str:
    """Words of mixed scripts with punctuation, bidi marks, control characters and markup in between."""
    pieces: list[str] = []
    length = 0
    while length < size:
        roll = rng.random()
        if roll < 0.55:
            pieces.append(rng.choice(WORDS[rng.choice(list(WORDS))]))
        elif roll < 0.75:
            pieces.append(rng.choice(PUNCT))
        elif roll < 0.83:
            pieces.append(rng.choice(MARKS))
        elif roll < 0.88:
            pieces.append(rng.choice(CONTROLS))
        elif roll < 0.95:
            pieces.append(rng.choice(MARKUP))
        else:
            pieces.append("\n" * rng.randint(1, 3))
        pieces.append(" " * rng.choice((0, 1, 1, 1, 2)))
        length += len(pieces[-1]) + len(pieces[-2])
    return "".join(pieces)


def article_case(rng: random.Random) -> tuple[str, bytes]:
    """(file suffix, file content) of one generated article, most of them broken in some way."""
    kind = rng.choice(
        [
            "bytes",
            "mixed",
            "mixed",
            "huge_line",
            "dots",
            "controls",
            "markup",
            "jsonl",
            "jsonl",
            "empty",
            "encoded",
        ]
    )
    suffix = rng.choice([".txt", ".md"])
    if kind == "bytes":
        return suffix, rng.randbytes(rng.randint(0, 3000))
    if kind == "mixed":
        return suffix, text(rng, rng.randint(1, 3000)).encode("utf-8")
    if kind == "huge_line":  # one line without a newline, just under or over the cap
        unit = rng.choice(["كلمة ", "x", "word, ", "🙂", "\u200f", ". ", "Dr. "])
        return suffix, (unit * (rng.randint(MAX_CHARS // 2, MAX_CHARS * 2) // len(unit))).encode("utf-8")
    if kind == "dots":
        unit = rng.choice([".", ".x", "...\n", "؟؟", "…", "e.g. "])
        return suffix, (unit * rng.randint(1, 40_000)).encode("utf-8")
    if kind == "controls":
        return suffix, "".join(rng.choice(CONTROLS + MARKS) for _ in range(rng.randint(1, 500))).encode(
            "utf-8"
        )
    if kind == "markup":
        return suffix, "".join(
            rng.choice(MARKUP) + text(rng, 5) for _ in range(rng.randint(1, 3000))
        ).encode()
    if kind == "empty":
        return suffix, rng.choice([b"", b"   \n\n\t", "\ufeff".encode(), b"<p></p>", b"**", b"\r\n\r\n"])
    if kind == "encoded":
        body = text(rng, rng.randint(1, 500))
        return suffix, rng.choice(
            [body.encode("utf-16"), body.encode("utf-8") + b"\xed\xa0\x80", b"\x00" + body.encode()]
        )
    lines = []
    for _ in range(rng.randint(1, 8)):
        roll = rng.random()
        if roll < 0.3:
            record = {"id": text(rng, rng.randint(0, 40)), "title": text(rng, 30), "text": text(rng, 300)}
            lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.5))
        elif roll < 0.45:
            lines.append(f'{{"id": "s{rng.randint(0, 99)}", "text": "bad \\udc80 surrogate"}}')
        elif roll < 0.6:
            lines.append(json.dumps({"id": "x" * rng.randint(150, 400), "text": "t."}))
        elif roll < 0.75:
            lines.append(
                json.dumps(
                    rng.choice([[1, 2], "text", None, 3, {"id": 5}, {"text": 5}, {"id": "a", "text": ""}])
                )
            )
        else:
            lines.append(text(rng, rng.randint(0, 80)).replace("\n", " "))
    return ".jsonl", "\n".join(lines).encode("utf-8", errors="surrogatepass")


def question_case(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.5:
        return text(rng, rng.randint(0, 200))
    if kind < 0.6:
        return text(rng, rng.randint(5_000, 30_000))
    if kind < 0.7:
        return "".join(rng.choice(CONTROLS + MARKS) for _ in range(rng.randint(0, 50)))
    if kind < 0.8:  # lone surrogates, as undecodable bytes in argv or a bad terminal give them to Python
        return rng.choice(WORDS["arabic"]) + "\udcff\ud800 " + rng.choice(WORDS["latin"])
    if kind < 0.9:
        return rng.choice(
            ["", " ", "?", "؟", "\u200f", "🙂" * rng.randint(1, 300), "[1]", "<b>من</b> هو قاآني؟"]
        )
    return " ".join(rng.choice(WORDS["arabic"] + WORDS["latin"]) for _ in range(rng.randint(1, 30))) + "؟"


@contextmanager
def bounded(case: str) -> Iterator[None]:
    """Fail (not hang) if one case runs far past the limit; assert it stays within CASE_LIMIT."""

    def stop(*_: object) -> None:
        raise TimeoutError(f"{case} ran past {4 * CASE_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, 4 * CASE_LIMIT)
    start = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - start < CASE_LIMIT, f"{case} took {time.perf_counter() - start:.1f} s"


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """400 generated article files, loaded one by one, sorted into rejected and accepted."""
    rng = random.Random(SEED)
    folder = tmp_path_factory.mktemp("fuzz")
    sorted_cases: dict[str, list[Path]] = {"rejected": [], "accepted": []}
    names = ["c", "name with spaces", "اسم", "-dash", "n" * 150, "tab\tname", "new\nline", "x" * 200]
    for i in range(400):
        suffix, data = article_case(rng)
        path = folder / f"{i:03d}{rng.choice(names)}{suffix}"
        path.write_bytes(data)
        with bounded(f"article case {i} ({path.name!r})"):
            report = load_articles([path], max_chars=MAX_CHARS)
        for _, reason in report.failures:
            assert reason and "\n" not in reason and "Traceback" not in reason, (i, reason)
        for article in report.articles:
            assert article.title.strip() and article.doc_id
            previous_end = 0
            for sentence in article.sentences():
                assert article.text[sentence.start : sentence.end] == sentence.text
                assert previous_end <= sentence.start < sentence.end
                assert len(sentence.text) <= MAX_SENTENCE_CHARS
                previous_end = sentence.end
        whole = report.articles and not report.failures
        sorted_cases["accepted" if whole else "rejected" if not report.articles else "partial"] = [
            *sorted_cases.get("accepted" if whole else "rejected" if not report.articles else "partial", []),
            path,
        ]
    assert len(sorted_cases["rejected"]) > 100 and len(sorted_cases["accepted"]) > 50, {
        k: len(v) for k, v in sorted_cases.items()
    }
    return sorted_cases


def test_generated_questions_are_cleaned_and_answered_without_error(seeded_kb: Khabar) -> None:
    rng = random.Random(SEED + 1)
    answered = 0
    for i in range(250):
        question = question_case(rng)
        with bounded(f"question case {i} ({question[:40]!r})"):
            try:
                cleaned, _ = clean_question(question, 1000)
            except EmptyQuestion:
                continue
            assert len(cleaned) <= 1000 and cleaned == cleaned.strip()
            assert not any("\ud800" <= ch <= "\udfff" or ord(ch) < 32 for ch in cleaned)
            detect_language(cleaned)
            tokenize(cleaned)
            if i % 8 == 0:  # an eighth go through the whole answer path against the real store
                answer = seeded_kb.ask(question)
                answered += 1
                json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")  # printable as --json
                for citation in answer.citations:
                    assert citation.text in (SEEDS / f"{citation.doc_id}.txt").read_text("utf-8")
    assert answered > 20


def test_rejected_files_leave_the_store_unchanged_and_odd_articles_are_quoted_verbatim(
    cases: dict[str, list[Path]], seeded_copy: Path, tmp_path: Path
) -> None:
    kb = Khabar(make_settings(seeded_copy, max_article_chars=MAX_CHARS))

    def snapshot() -> tuple:
        manifest = {
            k: (v.content_hash, v.status, v.sentences, v.chunks) for k, v in read_manifest(kb.store).items()
        }
        return manifest, sorted(kb.store.sentences.get()["ids"]), sorted(kb.store.chunks.get()["ids"])

    before, generation = snapshot(), read_generation(kb.store)
    rejected = tmp_path / "rejected"
    rejected.mkdir()
    for path in cases["rejected"]:
        shutil.copy(path, rejected / path.name)
    # Broken versions of the stored seeds: present, unreadable, so even --prune must keep the stored ones.
    (rejected / "000_65fb7c15639e4525.txt").write_bytes(b"\xff\xfe broken")
    (rejected / "004_3ff3aaad62e032cf.txt").write_text("x" * (MAX_CHARS + 1), "utf-8")
    stats = kb.ingest([rejected], prune=True)
    assert (stats.added, stats.updated, stats.removed, stats.kept) == (0, 0, 0, 2)
    assert len(stats.failures) >= len(cases["rejected"]) + 2
    assert snapshot() == before and read_generation(kb.store) == generation

    accepted = tmp_path / "accepted"
    accepted.mkdir()
    small = [p for p in cases["accepted"] if p.stat().st_size < 1500][:25]
    for path in small:
        shutil.copy(path, accepted / path.name)
    stats = kb.ingest([accepted])
    assert stats.failures == [] and stats.added == len(small)
    articles = {a.doc_id: a for a in load_articles([accepted]).articles}
    rows = get_with_texts(kb.store.sentences, where={"doc_id": {"$in": list(articles)}})
    assert len(rows["ids"]) == sum(len(a.sentences()) for a in articles.values())
    for sid, stored, meta in zip(rows["ids"], rows["texts"], rows["metadatas"], strict=True):
        article = articles[meta["doc_id"]]
        sentence = article.sentences()[meta["n"]]  # the stored record names its sentence by number
        assert sentence.id == sid and stored == article.text[sentence.start : sentence.end], sid


def test_generated_files_and_questions_through_the_cli(
    cases: dict[str, list[Path]], seeded_copy: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED + 2)
    folder = tmp_path / "in"
    folder.mkdir()
    for path in rng.sample(cases["rejected"], 35) + cases.get("partial", [])[:5]:
        shutil.copy(path, folder / path.name)

    def start(*args: str | bytes, stdin: bytes = b"") -> tuple[subprocess.Popen[bytes], bytes]:
        """A command on its own copy of the store, so that the four run at once."""
        data = tmp_path / f"data{len(started)}"
        shutil.copytree(seeded_copy, data)
        env = {**os.environ, "KHABAR_DATA_DIR": str(data), "KHABAR_SEEDS_DIR": str(SEEDS)}
        env["KHABAR_MAX_ARTICLE_CHARS"] = str(MAX_CHARS)
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        return subprocess.Popen([KHABAR, *args], env=env, cwd=ROOT, **pipes), stdin

    questions = []
    for _ in range(20):
        question = question_case(rng).replace("\n", " ").replace("\r", " ").replace("\u2028", " ")
        questions.append(question.encode("utf-8", errors="surrogatepass")[:300])  # lone surrogates as bytes
    questions += [
        b"\xff\xfe\xfd bad bytes",
        b"\xed\xa0\x80 encoded surrogate",
        b"\x1b[2J\x1b]0;title\x07 escape",
    ]
    started: list[tuple[subprocess.Popen[bytes], bytes]] = []
    started.append(start("ingest", str(folder)))
    started.append(start("chat", stdin=b"\n".join(questions) + b"\n/exit\n"))
    started.append(start("ask", "--json", os.fsencode("من هو \udcff\udcfe قاآني؟")))
    started.append(
        start("ask", "--json", stdin=b"\xff\xfe\x00\x1b[31m \xd8\xa8\xd8\xba\xd8\xaf\xd8\xa7\xd8\xaf?")
    )
    done = []
    for proc, stdin in started:
        out, errors = proc.communicate(stdin, timeout=180)  # the bound on each command: no hang
        assert b"Traceback" not in out + errors, errors.decode(errors="replace")[-3000:]
        done.append((proc.returncode, out, errors.decode("utf-8", errors="replace")))
    (ingested, _, ingest_errors), (chatted, _, _), (asked, asked_out, _), (piped, piped_out, _) = done

    assert ingested == 1
    assert sum(line.startswith("failed ") for line in ingest_errors.splitlines()) >= 35
    assert chatted == 0
    assert asked == 0 and json.loads(asked_out)["question"] == "من هو \ufffd\ufffd قاآني؟"
    assert piped == 0 and json.loads(piped_out)["question"].endswith("بغداد?")
