"""A `khabar chat` subprocess that a test talks to line by line, reading what each line produced."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.test_llm_cli import Reader

KHABAR = str(Path(sys.executable).with_name("khabar"))


class ChatProcess:
    """stdout and stderr together, as a user at a terminal would read them."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [KHABAR, "chat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
        )
        self.out = Reader(self.proc)

    def say(self, line: str, until: str, limit: float = 60.0) -> str:
        """Send a line; the output it produced, once `until` is in it (the limit only stops a hung test)."""
        before = len(self.out.text)
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + limit
        while (
            until not in self.out.text[before:] and time.monotonic() < deadline and self.proc.poll() is None
        ):
            time.sleep(0.05)
        return self.out.text[before:]

    def __enter__(self) -> ChatProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.proc.kill()  # a failed test leaves no chat behind

    def close(self) -> str:
        """/exit; the whole output, once the chat ended with code 0 and no traceback."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"/exit\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        text = self.out.finish()
        assert self.proc.returncode == 0, text
        assert "Traceback" not in text
        return text
