"""Telegram latency benchmark (a script, not a test): time from update to reply through the fake Bot API server.

    python benchmarks/telegram_latency.py                    # 40 questions one by one, then 50 chats at once
    python benchmarks/telegram_latency.py --questions 100 --chats 50

It starts tests/fake_telegram.py on 127.0.0.1 and the real `khabar telegram` process (seeds ingested into a
temporary data dir by the bot itself), exactly as the end-to-end tests do, then measures:
- one at a time: each question in a fresh private chat; latency = the fake server receiving the reply minus
  the test injecting the update. This includes the long-poll hand-over, the answer (`Khabar.ask` in a worker
  thread), rendering, the rate limiter and HTTP both ways;
- a burst: `--chats` private chats each inject one question at the same moment; total wall time until every
  chat has its answer, and the per-chat latency spread;
- for scale, `Khabar.ask` alone on the same questions in this process (before the bot starts).
Questions cycle through seeds/questions.jsonl (Arabic and English). The 1-minute load average is printed,
because on a shared 2-core machine it moves every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.pipeline import Khabar  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.telegram_process import TOKEN, start_bot  # noqa: E402

SEEDS = ROOT / "seeds"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name}: n={len(ms)}  p50={percentile(ms, 0.5):.0f} ms  p90={percentile(ms, 0.9):.0f} ms  "
        f"mean={statistics.mean(ms):.0f} ms  max={max(ms):.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=40, help="questions asked one at a time")
    parser.add_argument("--chats", type=int, default=50, help="chats asking at once")
    args = parser.parse_args()
    questions = [
        json.loads(line)["question"] for line in (SEEDS / "questions.jsonl").read_text("utf-8").splitlines()
    ]

    with tempfile.TemporaryDirectory() as tmp, FakeTelegram(TOKEN) as fake:
        data_dir = Path(tmp) / "data"
        kb = Khabar(Settings(_env_file=None, data_dir=data_dir, seeds_dir=SEEDS))
        kb.ensure_seeded()
        kb.ask("warm up")
        direct = []
        for i in range(args.questions):
            start = time.perf_counter()
            kb.ask(questions[i % len(questions)])
            direct.append(time.perf_counter() - start)

        started = time.monotonic()
        bot = start_bot(fake, data_dir, Path(tmp) / "work", telegram_log_level="INFO")
        print(
            f"bot ready (polling) {time.monotonic() - started:.1f}s after start; load {os.getloadavg()[0]:.2f}"
        )
        try:
            one_by_one = []
            for i in range(args.questions):
                chat = 10_000 + i
                update = fake.send_text(chat, questions[i % len(questions)])
                [reply] = fake.wait_messages(chat, 1, timeout=120)
                one_by_one.append(reply.at - fake.injected_at(update["update_id"]))

            chats = range(20_000, 20_000 + args.chats)
            injected = {}
            burst_start = time.monotonic()
            for i, chat in enumerate(chats):
                injected[chat] = fake.injected_at(
                    fake.send_text(chat, questions[i % len(questions)])["update_id"]
                )
            fake.wait_for(
                lambda: all(fake.messages(c) for c in chats), timeout=600, what=f"{args.chats} answers"
            )
            firsts = {c: fake.messages(c)[0] for c in chats}
            burst_wall = max(m.at for m in firsts.values()) - burst_start
            burst = [firsts[c].at - injected[c] for c in chats]
            answered = sum(1 for m in firsts.values() if m.text)
        finally:
            code = bot.stop()

    print(summary("Khabar.ask alone (in process)          ", direct))
    print(summary("update -> reply, one chat at a time    ", one_by_one))
    print(summary(f"update -> reply, {args.chats} chats at once        ", burst))
    print(
        f"{args.chats} chats at once: {answered}/{args.chats} answered, all within {burst_wall:.2f}s wall time; "
        f"load {os.getloadavg()[0]:.2f}; bot exit code {code}"
    )


if __name__ == "__main__":
    main()
