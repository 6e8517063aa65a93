"""The house: retrieval/'s folders are the pipeline's floors, each importing only from floors below it, and the
README's "How it works" table names exactly those folders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RETRIEVAL = ROOT / "retrieval"
# Lowest first; modules at retrieval/'s top level are named by file.
FLOORS = ("text", "settings", "corpus", "index", "llm", "search", "answer", "pipeline", "evaluation")
MAX_FUNCTION_LINES = 60


def floor_of(path: Path) -> str:
    return path.relative_to(RETRIEVAL).with_suffix("").parts[0]


def test_every_module_sits_on_a_floor_and_imports_only_from_floors_below() -> None:
    rank = {name: i for i, name in enumerate(FLOORS)}
    rank["settings"] = rank["text"]  # the config object stands beside the ground floor
    upward = []
    for path in RETRIEVAL.rglob("*.py"):
        if path.parent == RETRIEVAL and path.name == "__init__.py":
            continue
        mine = floor_of(path)
        assert mine in rank, f"{path} is on no floor: add its folder to FLOORS and to the README table"
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("retrieval."):
                target = node.module.split(".")[1]
                if rank.get(target, -1) > rank[mine]:
                    upward.append(f"{path.relative_to(ROOT)} imports {node.module}")
    assert upward == []


def test_the_readme_table_names_each_folder_once() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`|]+)`", section, flags=re.MULTILINE)
    folders = sorted(f"retrieval/{p.name}/" for p in RETRIEVAL.iterdir() if (p / "__init__.py").is_file())
    assert sorted(r for r in rows if r.startswith("retrieval/") and r.endswith("/")) == folders
    named = set(re.findall(r"`([a-z_]+\.py)`", section))
    for folder in folders:
        for module in (ROOT / folder).glob("**/*.py"):
            if module.name != "__init__.py":
                assert module.name in named, f"{module.relative_to(ROOT)} is not in the README's table"


def test_no_source_function_is_over_sixty_lines() -> None:
    long = []
    for top in ("retrieval", "bot", "prompts", "benchmarks"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
