"""Splitter benchmark (a script, not a test): sentence splitting and markup stripping time by article size.

    python benchmarks/splitter.py                          # 25 KB, 200 KB, 1 MB and 5 MB with the code here
    python benchmarks/splitter.py --reference 5e3e236      # the same sizes with retrieval/text/arabic.py of a commit too

The articles are the two seed articles, dirt included (".," separators, Arabic punctuation, dates, a very
long title line), repeated until the UTF-8 size is reached, so the splitter meets real text, not a synthetic
pattern. Each measurement runs in a fresh subprocess with a time limit (`--limit`, seconds): a splitter that
takes longer is stopped and its line says so ("> 300 s"), which is how a quadratic splitter's 5 MB run ends.
With `--reference`, both splitters run in the same invocation, one size after the other, so the ratio between
them is measured under the same machine load; where both finish, their sentence spans are compared.

Each line: size, characters, sentences, seconds to split (best of `--repeat`), and for this code also the
time of `strip_markup` (what loading a .txt adds), then the reference's seconds and whether the spans agree.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"25KB": 25_000, "200KB": 200_000, "1MB": 1_000_000, "5MB": 5_000_000}


def article(size: int) -> str:
    """The seeds, repeated (each copy a new paragraph) until `size` bytes of UTF-8."""
    seeds = "\n\n".join(p.read_text("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt")))
    copies = size // len(seeds.encode("utf-8")) + 1
    text = "\n\n".join([seeds] * copies).encode("utf-8")[:size].decode("utf-8", errors="ignore")
    return text


def measure(module_path: str, size: int, repeat: int, markup: bool) -> dict:
    """Run in a child process: load the splitter from `module_path`, split the article, time it."""
    spec = importlib.util.spec_from_file_location("splitter_under_test", module_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["splitter_under_test"] = module
    spec.loader.exec_module(module)
    text = article(size)
    best, spans = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        spans = module.split_sentences(text)
        best = min(best, time.perf_counter() - start)
    result = {
        "chars": len(text),
        "sentences": len(spans),
        "split_s": best,
        "spans_sha": hashlib.sha256(json.dumps([[s.start, s.end] for s in spans]).encode()).hexdigest()[:16],
    }
    if markup:
        sys.path.insert(0, str(ROOT))
        from retrieval.text.markup import strip_markup

        start = time.perf_counter()
        strip_markup(text)
        result["markup_s"] = time.perf_counter() - start
    return result


def run_child(module_path: str, size: int, repeat: int, markup: bool, limit: float) -> dict | None:
    """`measure` in a subprocess, or None when it ran past `limit` seconds (it is killed)."""
    command = [sys.executable, __file__, "--child", module_path, str(size), str(repeat), str(int(markup))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return None
    return json.loads(done.stdout)


def reference_module(revision: str, folder: Path) -> str:
    """retrieval/text/arabic.py as it was at `revision`, written to a file of its own."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:retrieval/text/arabic.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = folder / f"text_{revision}.py"
    path.write_text(source, "utf-8")
    return str(path)


def seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--reference", help="a git revision whose retrieval/text/arabic.py is timed too")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds before a run is stopped")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the best is kept)")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"# splitter benchmark at {commit}, load average {os.getloadavg()[0]:.2f}, limit {args.limit:g} s")
    with tempfile.TemporaryDirectory() as scratch:
        ours = str(ROOT / "retrieval" / "text" / "arabic.py")
        theirs = reference_module(args.reference, Path(scratch)) if args.reference else None
        for name in args.sizes:
            size = SIZES[name]
            now = run_child(ours, size, args.repeat, True, args.limit)
            line = f"{name:>6}: " + (
                f"{now['chars']:>9,} chars, {now['sentences']:>7,} sentences, split {seconds(now['split_s'])}, "
                f"markup {seconds(now['markup_s'])}"
                if now
                else f"split > {args.limit:g} s (stopped)"
            )
            if theirs:
                then = run_child(theirs, size, 1 if size > 200_000 else args.repeat, False, args.limit)
                if then is None:
                    line += f" | {args.reference}: > {args.limit:g} s (stopped)"
                else:
                    same = now is not None and then["spans_sha"] == now["spans_sha"]
                    ratio = f", {then['split_s'] / now['split_s']:.0f}x slower" if now else ""
                    line += (
                        f" | {args.reference}: split {seconds(then['split_s'])}{ratio}, same spans: {same}"
                    )
            print(line, flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, path, size, repeat, markup = sys.argv
        print(json.dumps(measure(path, int(size), int(repeat), markup == "1")))
    else:
        main()
