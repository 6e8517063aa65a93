"""User-facing phrasings and LLM prompts, kept as files so they can be read and edited without touching code."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources


@cache
def phrases(lang: str) -> dict[str, str]:
    """The fixed phrasings (framings, abstention, hints) for "ar" or "en"."""
    table = tomllib.loads(resources.files(__package__).joinpath("phrases.toml").read_text("utf-8"))
    return table[lang if lang in table else "en"]


def load(name: str) -> str:
    """A prompt file from this package, e.g. `load("answer_en.txt")`."""
    return resources.files(__package__).joinpath(name).read_text("utf-8")
