"""Adversarial LLM replies against the fake OpenAI server, and what the support check costs per answer.

Runs each scripted reply of tests/adversarial_cases.py (a weak or manipulated model: wrong numbers in every
spelling, wrong dates, places and people, negations, links and phone numbers, planted article text, overlong and
late replies, empty and unfinished replies, citation forms real models write) through the real pipeline (real
client over HTTP, real store and embedder over the seeds plus one planted article), checks that each ends in the
right verified result, and prints a table (class, language, reply, expected, got) and the counts per class. Then
times the support check alone over repeated real answers, in milliseconds per answer.

    python benchmarks/llm_adversarial.py [--repeats 30] [--only CLASS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.answer.citations import parse_answer  # noqa: E402
from retrieval.answer.extractive import Answer  # noqa: E402
from retrieval.answer.generate import answer_messages, choose_sources  # noqa: E402
from retrieval.pipeline import Khabar  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from tests.adversarial_cases import CASES, DRONES, PLANTED_ARTICLE, Q_DRONES_EN, Case  # noqa: E402
from tests.fake_openai import FakeOpenAI, source_number  # noqa: E402


def run_case(kb: Khabar, fake: FakeOpenAI, case: Case) -> tuple[bool, Answer]:
    """One case through the real pipeline; per-case settings (deadline, timeout) applied and restored."""
    assert kb.answerer is not None and kb.llm is not None
    saved = (kb.answerer.deadline, kb.llm.timeout)
    kb.answerer.deadline = case.settings.get("llm_deadline", saved[0])
    kb.llm.timeout = case.settings.get("llm_timeout", saved[1])
    try:
        fake.reset()
        fake.script(*case.replies)
        answer = kb.ask(case.question)
        # a reply left unused is fine only when khabar abstained without asking the model
        return case.check(answer) and not fake.errors and (fake.unused == 0 or answer.abstained), answer
    finally:
        kb.answerer.deadline, kb.llm.timeout = saved


def got(answer: Answer) -> str:
    """What happened, in a few words: kept sentences, or why not."""
    if answer.mode == "llm" and not answer.abstained:
        refused = [s.reason for s in answer.sentences if not s.supported]
        kept = sum(s.supported for s in answer.sentences)
        return f"llm: {kept} kept" + (f"; refused: {refused[0]}" if refused else "")
    if answer.mode == "fallback":
        reason = next((s.reason for s in answer.sentences if not s.supported), "")
        return f"fallback: {answer.notice[:48]}" + (f" ({reason})" if reason else "")
    return f"{answer.mode}{' abstained' if answer.abstained else ''}"


def reply_text(case: Case) -> str:
    first = case.replies[0]
    if callable(first):
        return "(cites a given sentence) " + (first.__doc__ or "")
    return getattr(first, "text", first) if not isinstance(first, str) else first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="answers timed for the support check")
    parser.add_argument("--only", help="run the cases of this class only")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or c.cls == args.only]
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        settings = Settings(
            _env_file=None,
            data_dir=Path(tmp),
            seeds_dir=ROOT / "seeds",
            llm_base_url=fake.url,
            llm_max_retries=0,
            llm_timeout=3,
        )
        kb = Khabar(settings)
        kb.ensure_seeded()
        planted = Path(tmp) / "planted.txt"
        planted.write_text(PLANTED_ARTICLE, encoding="utf-8")
        kb.ingest([planted])
        run_cases(kb, fake, cases)
        fake.reset()
        support_check_cost(kb, settings, args.repeats)


def run_cases(kb: Khabar, fake: FakeOpenAI, cases: list[Case]) -> None:
    print(f"## adversarial replies ({len(cases)})")
    print(f"{'':4} {'class':9} {'lang':4} {'case':42} {'expected':28} got")
    per_class: Counter[str] = Counter()
    passed_class: Counter[str] = Counter()
    for case in cases:
        ok, answer = run_case(kb, fake, case)
        per_class[case.cls] += 1
        passed_class[case.cls] += ok
        print(
            f"{'ok  ' if ok else 'FAIL'} {case.cls:9} {case.lang:4} {case.name[:42]:42} {case.expected[:28]:28} {got(answer)[:110]}"
        )
    total = sum(passed_class.values())
    print(f"\nended correctly: {total}/{len(cases)} ({total / len(cases):.0%})")
    for cls in per_class:
        langs = Counter(c.lang for c in cases if c.cls == cls)
        print(f"  {cls:9} {passed_class[cls]}/{per_class[cls]}  (en {langs['en']}, ar {langs['ar']})")


def support_check_cost(kb: Khabar, settings: Settings, repeats: int) -> None:
    print("\n## support check cost (3-sentence English answer, 8 given sources, stored vectors)")
    kb.searcher.refresh()
    hits = kb.searcher.search(Q_DRONES_EN).hits
    given = choose_sources(hits, settings.llm_sources)
    body = {
        "messages": [
            {"role": m.role.value, "content": m.content} for m in answer_messages(Q_DRONES_EN, "en", given)
        ]
    }
    n, m = source_number(body, DRONES), source_number(body, "الداخلية")
    reply = (
        f"Kadhimi's house was attacked with three drones [{n}]. It happened on Sunday 7 November 2021 [{m}]. "
        f"The drones were Russian [{n}]."
    )
    assert kb.answerer is not None
    kb.answerer.verify(reply, given, "en")  # warm-up
    claims = [c.plain for c in parse_answer(reply, [s.n for s in given])]
    costs, embeds = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        kb.answerer.verify(reply, given, "en")
        middle = time.perf_counter()
        kb.embedder.query_vectors(claims)
        costs.append((middle - start) * 1000)
        embeds.append((time.perf_counter() - middle) * 1000)
    costs.sort()
    print(
        f"ms per answer over {len(costs)} runs: median {statistics.median(costs):.1f}, "
        f"p90 {costs[int(0.9 * (len(costs) - 1))]:.1f}, min {costs[0]:.1f} "
        f"(of which embedding the {len(claims)} answer sentences: median {statistics.median(embeds):.1f})"
    )
    print(f"load average while timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
