"""What ingest works on: an article with its metadata, its sentences with stable ids, and a load report.

Files (`retrieval.corpus.files`), web pages and feeds (`retrieval.corpus.pages`, `retrieval.corpus.feeds`) all produce `Article`s;
this module holds the type so that none of them imports another to get it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.text.arabic import split_sentences
from retrieval.text.dates import day_key, parse_published


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

    @property
    def published_day(self) -> int:
        """The publication day as YYYYMMDD (0 when unknown): an int Chroma can compare with $gte/$lte."""
        return day_number(self.published)

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

    def extend(self, other: LoadReport) -> None:
        """Add another load's findings (files and URLs loaded in one ingest report together)."""
        self.articles.extend(other.articles)
        self.failures.extend(other.failures)
        self.skipped.extend(other.skipped)
        self.failed_files |= other.failed_files


def resolved(path: Path | str) -> str:
    """The absolute form of a path, the key by which stored articles remember their file."""
    return str(Path(path).resolve())


def day_number(published: str) -> int:
    """An ISO 8601 `published` value's day as YYYYMMDD, or 0 when there is none."""
    day = parse_published(published)
    return day_key(day) if day else 0
