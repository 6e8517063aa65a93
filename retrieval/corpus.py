"""Articles from files (.txt, .md, .jsonl) into sentences with stable ids; broken files are reported, not fatal."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.text import split_sentences

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl")


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article: `id` is `<doc_id>:<n>`, `start`/`end` index the article's original text."""

    id: str
    doc_id: str
    n: int
    start: int
    end: int
    text: str


@dataclass
class Article:
    """An article as loaded; `text` is kept exactly as published, `content_hash` detects changes."""

    doc_id: str
    title: str
    text: str
    url: str = ""
    published: str = ""
    source: str = ""
    path: str = ""

    @property
    def content_hash(self) -> str:
        payload = json.dumps(
            [self.title, self.text, self.url, self.published, self.source], ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]

    def sentences(self) -> list[Sentence]:
        return [
            Sentence(f"{self.doc_id}:{n}", self.doc_id, n, s.start, s.end, self.text[s.start : s.end])
            for n, s in enumerate(split_sentences(self.text))
        ]


@dataclass
class LoadReport:
    """What a load found: the articles, and each file (or line) that failed with the reason."""

    articles: list[Article] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class CorpusError(ValueError):
    """A file or line that cannot be read as an article."""


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Supported files under the given files and folders, sorted for a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
        else:
            yield path


def load_articles(paths: Iterable[Path]) -> LoadReport:
    """Load every article; a file that is missing, empty, not UTF-8, binary or malformed becomes a failure."""
    report = LoadReport()
    seen: dict[str, str] = {}
    for path in iter_files(paths):
        try:
            if is_question_set(path):
                report.skipped.append((str(path), "a question set, not articles"))
                continue
            articles, problems = _load_file(path)
        except (CorpusError, OSError) as exc:
            report.failures.append((str(path), str(exc)))
            continue
        report.failures.extend((str(path), problem) for problem in problems)
        for article in articles:
            if article.doc_id in seen:
                report.failures.append(
                    (str(path), f"duplicate id {article.doc_id!r} (also in {seen[article.doc_id]})")
                )
                continue
            seen[article.doc_id] = str(path)
            report.articles.append(article)
    return report


def is_question_set(path: Path) -> bool:
    """A .jsonl whose first record has a "question" and no "text" (like seeds/questions.jsonl) is not a corpus."""
    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return False
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    try:
        record = json.loads(first.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and "question" in record and "text" not in record


def _read_text(path: Path) -> str:
    if not path.exists():
        raise CorpusError("no such file or folder")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError(f"unsupported file type (use {', '.join(SUPPORTED_SUFFIXES)})")
    data = path.read_bytes()
    if b"\x00" in data:
        raise CorpusError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise CorpusError("empty file")
    return text


def _load_file(path: Path) -> tuple[list[Article], list[str]]:
    """The file's articles and the problems of a .jsonl file's bad lines (the good lines are kept)."""
    text = _read_text(path)
    if path.suffix.lower() == ".jsonl":
        return _load_jsonl(path, text)
    title = next(line.strip() for line in text.splitlines() if line.strip())
    if path.suffix.lower() == ".md":
        title = title.lstrip("#").strip() or title
    return [Article(doc_id=path.stem, title=title, text=text, path=str(path))], []


def _load_jsonl(path: Path, text: str) -> tuple[list[Article], list[str]]:
    articles, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            doc_id, body = str(record.get("id") or "").strip(), record.get("text")
            if not doc_id or not isinstance(body, str) or not body.strip():
                raise ValueError("needs a non-empty 'id' and 'text'")
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
            continue
        articles.append(
            Article(
                doc_id=doc_id,
                title=str(record.get("title") or doc_id),
                text=body,
                url=str(record.get("url") or ""),
                published=str(record.get("published") or ""),
                source=str(record.get("source") or ""),
                path=str(path),
            )
        )
    if errors and not articles:
        raise CorpusError("; ".join(errors[:3]) + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""))
    return articles, errors
