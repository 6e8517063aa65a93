"""User-facing phrasings and LLM prompts, kept as files so they can be read and edited without touching code."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources


@cache
def phrasebook(name: str, lang: str) -> dict[str, str]:
    """One language's table ("ar" or "en"; English for any other) of a TOML phrase file in this package."""
    table = tomllib.loads(load(name))
    return table[lang if lang in table else "en"]


def phrases(lang: str) -> dict[str, str]:
    """The fixed phrasings of answers (framings, abstention, hints)."""
    return phrasebook("phrases.toml", lang)


def load(name: str) -> str:
    """A prompt file from this package, e.g. `load("answer_en.txt")`."""
    return resources.files(__package__).joinpath(name).read_text("utf-8")
