"""Articles from files (.txt, .md, .jsonl) into sentences with stable ids; broken files are reported, not fatal."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.markup import strip_markup
from retrieval.text import split_sentences

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl")
MAX_ARTICLE_CHARS = 1_000_000
"""Default cap on one article's length (about 10,000 sentences; a long news article is 20,000 characters)."""
MAX_ID_CHARS = 200
MAX_TITLE_CHARS = 300
MAX_FIELD_CHARS = 2000  # url, published, source
_BAD_ID_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


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
    """An article as loaded; `text` is what is stored and quoted (a text file's words without its markup),
    `path` the resolved file it came from, `content_hash` detects changes."""

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
    """What a load found: the articles, and each file (or line) that failed with the reason.

    `failed_files` holds the resolved path of every file that is present but could not be read whole (a bad
    file, a bad line of a .jsonl, a refused article): its stored articles must not be taken for deleted.
    """

    articles: list[Article] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed_files: set[str] = field(default_factory=set)

    def fail(self, path: Path | str, reason: str) -> None:
        self.failures.append((str(path), reason))
        self.failed_files.add(resolved(path))


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


def resolved(path: Path | str) -> str:
    """The absolute form of a path, the key by which stored articles remember their file."""
    return str(Path(path).resolve())


def load_articles(paths: Iterable[Path], max_chars: int = MAX_ARTICLE_CHARS) -> LoadReport:
    """Load every article; a file that is missing, empty, not UTF-8, binary, malformed or longer than
    `max_chars` becomes a failure, and so does each bad line of a .jsonl file."""
    report = LoadReport()
    seen: dict[str, str] = {}
    for path in iter_files(paths):
        try:
            if is_question_set(path):
                report.skipped.append((str(path), "a question set, not articles"))
                continue
            articles, problems = _load_file(path, max_chars)
        except (CorpusError, OSError) as exc:
            report.fail(path, _one_line(str(exc)))
            continue
        for problem in problems:
            report.fail(path, problem)
        for article in articles:
            if article.doc_id in seen:
                report.fail(path, f"duplicate id {article.doc_id!r} (also in {seen[article.doc_id]})")
                continue
            seen[article.doc_id] = str(path)
            report.articles.append(article)
    return report


def source_ids(path: str) -> set[str]:
    """The article ids a file holds now (none if it is gone): a text file holds the id of its name, a .jsonl
    file the ids of its parseable lines. Used to tell a clash of ids from a file that moved."""
    source = Path(path)
    if not source.is_file():
        return set()
    if source.suffix.lower() != ".jsonl":
        return {source.stem}
    ids = set()
    with source.open("rb") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                ids.add(str(record.get("id") or "").strip())
    return ids


def _one_line(text: str) -> str:
    return " ".join(text.split())


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


def _read_text(path: Path, max_chars: int) -> str:
    if not path.exists():
        raise CorpusError("no such file or folder")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError(f"unsupported file type (use {', '.join(SUPPORTED_SUFFIXES)})")
    size = path.stat().st_size
    if path.suffix.lower() != ".jsonl" and size > 4 * max_chars:  # UTF-8 has at most 4 bytes a character
        raise CorpusError(_too_long(f"{size:,} bytes", max_chars))
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


def _too_long(size: str, max_chars: int) -> str:
    return (
        f"article too long ({size}; the limit is {max_chars:,} characters, KHABAR_MAX_ARTICLE_CHARS): "
        "split it into several articles or raise the limit"
    )


def _check_id(doc_id: str) -> None:
    if len(doc_id) > MAX_ID_CHARS:
        raise ValueError(f"id longer than {MAX_ID_CHARS} characters")
    if _BAD_ID_CHARS.search(doc_id) or _SURROGATE.search(doc_id):
        raise ValueError("id holds control characters or invalid Unicode")


def _first_line_title(text: str, markdown: bool) -> str:
    """A text file's title: its first non-empty line."""
    title = next(line.strip() for line in text.splitlines() if line.strip())
    if markdown:
        title = title.lstrip("#").strip() or title
    return _short_title(title)


def _short_title(title: str) -> str:
    """At most MAX_TITLE_CHARS characters (cut at a space): every sentence and citation carries its title."""
    if len(title) > MAX_TITLE_CHARS:
        cut = title[:MAX_TITLE_CHARS]
        title = (cut[: cut.rindex(" ")] if " " in cut[MAX_TITLE_CHARS // 2 :] else cut) + "…"
    return title


def _load_file(path: Path, max_chars: int) -> tuple[list[Article], list[str]]:
    """The file's articles and the problems of a .jsonl file's bad lines (the good lines are kept)."""
    text = _read_text(path, max_chars)
    if path.suffix.lower() == ".jsonl":
        return _load_jsonl(path, text, max_chars)
    if len(text) > max_chars:
        raise CorpusError(_too_long(f"{len(text):,} characters", max_chars))
    try:
        _check_id(path.stem)
    except ValueError as exc:
        raise CorpusError(f"file name not usable as an article id: {exc}") from None
    text = strip_markup(text, markdown=path.suffix.lower() == ".md")
    if not text.strip():
        raise CorpusError("no text left once markup is removed")
    article = Article(
        doc_id=path.stem,
        title=_first_line_title(text, markdown=path.suffix.lower() == ".md"),
        text=text,
        path=resolved(path),
    )
    return [article], []


def _load_jsonl(path: Path, text: str, max_chars: int) -> tuple[list[Article], list[str]]:
    articles, errors = [], []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON strings may hold U+2028
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            doc_id, body = str(record.get("id") or "").strip(), record.get("text")
            if not doc_id or not isinstance(body, str) or not body.strip():
                raise ValueError("needs a non-empty 'id' and 'text'")
            _check_id(doc_id)
            if len(body) > max_chars:
                raise ValueError(_too_long(f"{len(body):,} characters", max_chars))
            fields = {key: str(record.get(key) or "") for key in ("title", "url", "published", "source")}
            for key, value in [("text", body), *fields.items()]:
                if _SURROGATE.search(value):
                    raise ValueError(f"'{key}' holds invalid Unicode (a lone surrogate escape)")
                if key != "text" and len(value) > MAX_FIELD_CHARS:
                    raise ValueError(f"'{key}' longer than {MAX_FIELD_CHARS} characters")
        except ValueError as exc:
            errors.append(f"line {number}: {_one_line(str(exc))}")
            continue
        articles.append(
            Article(
                doc_id=doc_id,
                title=_short_title(fields["title"]) if fields["title"] else doc_id,
                text=body,
                url=fields["url"],
                published=fields["published"],
                source=fields["source"],
                path=resolved(path),
            )
        )
    if errors and not articles:
        raise CorpusError("; ".join(errors[:3]) + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""))
    return articles, errors
