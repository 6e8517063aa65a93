"""Articles from files (.txt, .md, .html, .jsonl) into sentences with stable ids; broken files are reported,
not fatal. A text file may open with front matter (`---`, `url:`, `published:`, `source:`, `title:`, `---`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from retrieval.corpus.article import Article, LoadReport, Sentence, resolved
from retrieval.corpus.fetch import megabytes
from retrieval.corpus.pages import MAX_PAGE_BYTES, MIN_CHARS, PAGE_SUFFIXES, ExtractionError, read_page_file
from retrieval.corpus.web import is_url
from retrieval.text.dates import parse_published
from retrieval.text.markup import strip_markup

__all__ = ["Article", "CorpusError", "LoadReport", "Sentence", "load_articles", "resolved"]

SUPPORTED_SUFFIXES = (".txt", ".md", *PAGE_SUFFIXES, ".jsonl")
MAX_ARTICLE_CHARS = 1_000_000
"""Default cap on one article's length (about 10,000 sentences; a long news article is 20,000 characters)."""
MAX_ID_CHARS = 200
MAX_TITLE_CHARS = 300
MAX_FIELD_CHARS = 2000  # url, published, source
_BAD_ID_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def load_articles(
    paths: Iterable[Path],
    max_chars: int = MAX_ARTICLE_CHARS,
    min_page_chars: int = MIN_CHARS,
    max_page_bytes: int = MAX_PAGE_BYTES,
) -> LoadReport:
    """Load every article; a file that is missing, empty, not UTF-8, binary, malformed or longer than
    `max_chars` becomes a failure, and so does each bad line of a .jsonl file. A saved web page (.html,
    .htm) over `max_page_bytes`, or with under `min_page_chars` of article text (or a paywall stub), fails."""
    report = LoadReport()
    seen: dict[str, str] = {}
    for path in iter_files(paths):
        try:
            if is_question_set(path):
                report.skipped.append((str(path), "a question set, not articles"))
                continue
            if path.suffix.lower() in PAGE_SUFFIXES:
                articles, problems = [_load_page(path, max_chars, min_page_chars, max_page_bytes)], []
            else:
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


def _check_file(path: Path) -> int:
    """The file's size, once it is known to exist and to be of a supported type."""
    if not path.exists():
        raise CorpusError("no such file or folder")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError(f"unsupported file type (use {', '.join(SUPPORTED_SUFFIXES)})")
    return path.stat().st_size


def _read_text(path: Path, max_chars: int) -> str:
    size = _check_file(path)
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
    markdown = path.suffix.lower() == ".md"
    fields, text = split_front_matter(text, strict=not markdown)
    fields.update(read_sidecar(path))
    text = strip_markup(text, markdown=markdown)
    if not text.strip():
        raise CorpusError("no text left once markup is removed")
    article = Article(
        doc_id=path.stem,
        title=_short_title(fields["title"]) if fields.get("title") else _first_line_title(text, markdown),
        text=text,
        url=fields.get("url", ""),
        published=fields.get("published", ""),
        source=fields.get("source", ""),
        path=resolved(path),
    )
    return [article], []


def _load_page(path: Path, max_chars: int, min_chars: int, max_bytes: int) -> Article:
    """A saved web page: its main text and metadata, as for a fetched page; its id is the file name."""
    size = _check_file(path)
    if size > max_bytes:
        raise CorpusError(
            f"page too large ({size:,} bytes; the limit is {megabytes(max_bytes)}, KHABAR_FETCH_MAX_MB)"
        )
    try:
        _check_id(path.stem)
    except ValueError as exc:
        raise CorpusError(f"file name not usable as an article id: {exc}") from None
    if b"\x00" in path.read_bytes()[:65536]:
        raise CorpusError("binary file (contains NUL bytes)")
    try:
        article = read_page_file(path, min_chars).article
    except ExtractionError as exc:
        raise CorpusError(str(exc)) from None
    if len(article.text) > max_chars:
        raise CorpusError(_too_long(f"{len(article.text):,} characters of article text", max_chars))
    article.path = resolved(path)
    article.title = _short_title(article.title)
    for key, value in read_sidecar(path).items():
        setattr(article, key, _short_title(value) if key == "title" else value)
    return article


SIDECAR_SUFFIX = ".meta.json"


def sidecar_path(path: Path) -> Path:
    """Where a file's metadata may sit beside it: `report.txt` -> `report.meta.json`."""
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> dict[str, str]:
    """Metadata beside a text or page file ({"url", "published", "source", "title"}), for files that must
    stay as they are (an archive's originals, the seed articles); it wins over front matter and the page's own."""
    meta = sidecar_path(path)
    if not meta.is_file():
        return {}
    try:
        record = json.loads(meta.read_text("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorpusError(f"{meta.name}: not a JSON object ({_one_line(str(exc))})") from None
    if not isinstance(record, dict):
        raise CorpusError(f"{meta.name}: not a JSON object")
    unknown = sorted(set(record) - {"url", "published", "source", "title"})
    if unknown:
        raise CorpusError(f"{meta.name}: unknown field {unknown[0]!r} (use published, source, title, url)")
    fields = {key: " ".join(str(value or "").split()) for key, value in record.items()}
    try:
        check_metadata(fields)
    except CorpusError as exc:
        raise CorpusError(f"{meta.name}: {exc}") from None
    return {key: value for key, value in fields.items() if value}


# `---` alone on the first line, `key: value` lines, `---` alone: metadata ahead of a text file's title.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>(?:.*\r?\n){0,40}?)---[ \t]*(?:\r?\n|\Z)")
_FRONT_LINE = re.compile(r"\s*(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*")
_FRONT_KEYS = {
    "url": "url",
    "published": "published",
    "date": "published",
    "source": "source",
    "title": "title",
}


def split_front_matter(text: str, strict: bool = True) -> tuple[dict[str, str], str]:
    """A text file's front matter (url, published, source, title) and the text after it.

    Text that does not open with a well-formed block is returned whole, with no metadata. `strict` (.txt)
    refuses a field khabar does not know, so a misspelt `pubished:` is reported instead of silently lost;
    Markdown front matter often carries other fields (layout, tags), which are then ignored. A date must be
    ISO 8601 (2021-11-07 or 2021-11-07T08:30:00+03:00) and a link an http(s) address.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields: dict[str, str] = {}
    for line in match.group("body").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parsed = _FRONT_LINE.fullmatch(line)
        if parsed is None:
            return {}, text  # not a metadata block: a text that happens to open with a rule
        key, value = parsed.group("key").lower(), parsed.group("value").strip("\"'")
        if key not in _FRONT_KEYS:
            if strict:
                raise CorpusError(
                    f"front matter: unknown field {key!r} (use {', '.join(sorted(set(_FRONT_KEYS)))})"
                )
            continue
        fields[_FRONT_KEYS[key]] = " ".join(value.split())
    check_metadata(fields)
    return fields, text[match.end() :]


def check_metadata(fields: dict[str, str]) -> None:
    """Refuse a `published` that is not an ISO 8601 date and a `url` that is not a web address."""
    for key, value in fields.items():
        if len(value) > MAX_FIELD_CHARS:
            raise CorpusError(f"'{key}' longer than {MAX_FIELD_CHARS} characters")
    published, url = fields.get("published", ""), fields.get("url", "")
    if published and parse_published(published) is None:
        raise CorpusError(
            f"'published' is not an ISO 8601 date (2021-11-07 or 2021-11-07T08:30:00+03:00): {published[:40]!r}"
        )
    if url and not is_url(url.strip()):
        raise CorpusError(f"'url' is not an http(s) address: {url[:80]!r}")


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
            check_metadata(fields)
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
