"""The real `khabar telegram` entry point as a subprocess, pointed at a FakeTelegram server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SEEDS
from tests.fake_telegram import FakeTelegram

KHABAR = Path(sys.executable).with_name("khabar")
# Shaped like a real token, so the shape-based redaction is exercised as well as the exact one.
TOKEN = "7000000001:AAHfakeTokenForKhabarTests-0123456789x"


@dataclass
class BotProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send `sig` and wait for the exit code (kills and fails if it does not exit in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout, sig)

    def wait(self, timeout: float, sig: signal.Signals = signal.SIGTERM) -> int:
        """Wait for the exit code of a bot already told to stop: a second signal while it shuts down
        (after its event loop closed) would kill it by default, which is not what a test measures."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"bot did not exit within {timeout}s of {sig.name}:\n{self.output()[-3000:]}"
            ) from None


def start_bot(
    fake: FakeTelegram, data_dir: Path, workdir: Path, wait: bool = True, **settings: str
) -> BotProcess:
    """Start `khabar telegram` with its base URL at the fake server; by default wait until it long-polls.

    `settings` are extra KHABAR_* variables without the prefix, e.g. telegram_allowed_users="1,2".
    The process runs in `workdir` (so no developer .env is read) and logs at DEBUG: the most it can say.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHABAR_")}
    env.update(
        KHABAR_TELEGRAM_TOKEN=fake.token,
        KHABAR_TELEGRAM_BASE_URL=fake.base_url,
        KHABAR_DATA_DIR=str(data_dir),
        KHABAR_SEEDS_DIR=str(SEEDS),
        KHABAR_TELEGRAM_LOG_LEVEL="DEBUG",
    )
    env.update({f"KHABAR_{k.upper()}": v for k, v in settings.items()})
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"bot-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(KHABAR), "telegram"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    bot = BotProcess(proc, log_path)
    if wait:
        wait_ready(fake, bot)
    return bot


def wait_ready(fake: FakeTelegram, bot: BotProcess, timeout: float = 90.0) -> None:
    """Until the bot has set its commands and polls (or fail with its output if it exited)."""

    def ready() -> bool:
        if bot.proc.poll() is not None:
            raise AssertionError(f"bot exited with {bot.proc.returncode}:\n{bot.output()[-3000:]}")
        return bool(fake.calls("getUpdates")) and bool(fake.calls("setMyCommands"))

    fake.wait_for(ready, timeout, "the bot to start polling")
