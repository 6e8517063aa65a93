"""Prompts as data: sections of a prompt file, untrusted text made inert inside it, and the time a call has left."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

from prompts import load


def prompt_sections(name: str) -> dict[str, str]:
    """A prompt file's `=== name ===` sections."""
    parts = re.split(r"^=== (\w+) ===\n", load(name), flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def as_data(text: str) -> str:
    """Untrusted text inside the prompt's delimiters: on one line, unable to close or open a tag."""
    return " ".join(text.replace("<", "‹").replace(">", "›").split())


def time_left(until: Callable[[], float]) -> float | None:
    """Seconds until the deadline `until()` gives (monotonic clock), or None for no deadline."""
    left = until() - time.monotonic()
    return None if math.isinf(left) else left
