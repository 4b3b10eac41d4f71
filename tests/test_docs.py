"""Every ```python block of README.md and docs/*.md runs, so no example can rot.

The blocks of one file run in order, in one shared namespace, in a fresh interpreter
(named objects in the default registry, the process clock and the testing switches
never leak from one page to another). A block is compiled under the page's own path
and line numbers, so a traceback points at the Markdown line that failed.

A block right after the line ``<!-- skip-test -->`` is not run: keep that for the few
that cannot run here (a network, a real service). Each file must run at least one
block.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARKER = "<!-- skip-test -->"
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_PYTHON = {"python", "py", "python3"}


@dataclass(frozen=True)
class Block:
    """One fenced Python block: where it starts (1-based line of its first code line)."""

    line: int
    code: str
    skip: bool


def python_blocks(text: str) -> list[Block]:
    """Return the fenced Python blocks of a Markdown text, in order.

    Fences may be indented (inside admonitions or content tabs); the indent is removed.
    The info string's first word picks the language (``python title="x"`` counts).
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    previous = ""
    while i < len(lines):
        match = _OPEN.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        words = info.split()
        language = words[0].lstrip("{.").rstrip("}").lower() if words else ""
        start = i + 1
        end = start
        while end < len(lines) and not _closes(lines[end], fence):
            end += 1
        if language in _PYTHON:
            body = [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines[start:end]]
            blocks.append(Block(start + 1, "\n".join(body) + "\n", previous == SKIP_MARKER))
        previous = ""
        i = end + 1
    return blocks


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened with ``fence`` (same character, as long or longer)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def documented_files() -> list[Path]:
    """README.md and every Markdown page under docs/, in a stable order."""
    files = [ROOT / "README.md"] if (ROOT / "README.md").exists() else []
    files += sorted((ROOT / "docs").rglob("*.md"))
    return files


# The runner executes in a fresh interpreter: stdin is a JSON list of [path, line, code]
# to run in order in one namespace; it prints a JSON summary as its last line.
_RUNNER = r"""
import json, sys, traceback
blocks = json.loads(sys.stdin.read())
namespace = {"__name__": "__docs__"}
ran = 0
for path, line, code in blocks:
    source = "\n" * (line - 1) + code
    try:
        exec(compile(source, path, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(json.dumps({"ran": ran, "failed_line": line}))
        sys.exit(1)
    ran += 1
print(json.dumps({"ran": ran, "failed_line": None}))
"""


def _run_file(path: Path) -> tuple[int, int]:
    """Run the file's blocks in a fresh interpreter; return (blocks run, blocks skipped).

    Fails the test naming the page and the line of the block that raised.
    """
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if not b.skip]
    payload = json.dumps([[str(path), b.line, b.code] for b in runnable])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", _RUNNER],
        input=payload,
        capture_output=True,
        text=True,
        timeout=55,
        cwd=ROOT,
        env=env,
        check=False,
    )
    summary_line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "{}"
    try:
        summary = json.loads(summary_line)
    except json.JSONDecodeError:
        summary = {}
    relative = path.relative_to(ROOT)
    if proc.returncode != 0:
        failed = summary.get("failed_line")
        where = f"the block at {relative}:{failed}" if failed else f"{relative}"
        pytest.fail(f"{where} failed (exit {proc.returncode}):\n{proc.stderr}\n{proc.stdout}", pytrace=False)
    return summary["ran"], len(blocks) - len(runnable)


_FILES = [p for p in documented_files() if python_blocks(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", _FILES, ids=[str(p.relative_to(ROOT)) for p in _FILES])
def test_python_blocks_run(path: Path) -> None:
    """Every non-skipped Python block of the file runs without error, in order."""
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    ran, skipped = _run_file(path)
    assert ran == len(blocks) - skipped
    assert ran > 0, f"{path.relative_to(ROOT)}: every Python block is skipped; run at least one"


def test_readme_has_runnable_examples() -> None:
    """The README's Quick start is executed: it holds Python blocks and none is skipped."""
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    assert not [b.line for b in blocks if b.skip]


def test_block_parser() -> None:
    """Fences: languages, indented fences, skip markers, line numbers."""
    text = "\n".join(
        [
            "# Title",  # 1
            "```python",  # 2
            "x = 1",  # 3
            "```",  # 4
            "<!-- skip-test -->",  # 5
            "",  # 6
            "```py",  # 7
            "import network",  # 8
            "```",  # 9
            "```bash",  # 10
            "echo no",  # 11
            "```",  # 12
            '=== "Tab"',  # 13
            "",  # 14
            '    ```python title="t.py"',  # 15
            "    def f():",  # 16
            "        return 2",  # 17
            "    ```",  # 18
            "````python",  # 19
            "s = '```'",  # 20
            "````",  # 21
            "```mermaid",  # 22
            "graph LR",  # 23
            "```",  # 24
        ]
    )
    blocks = python_blocks(text)
    assert [(b.line, b.skip) for b in blocks] == [(3, False), (8, True), (16, False), (20, False)]
    assert blocks[2].code == "def f():\n    return 2\n"
    assert blocks[3].code == "s = '```'\n"


def test_failure_names_the_markdown_line(tmp_path: Path) -> None:
    """A failing block's traceback points at the page and its line."""
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\nx = 1\n```\n\n```python\n\nraise RuntimeError('boom')\n```\n")
    blocks = [b for b in python_blocks(page.read_text()) if not b.skip]
    payload = json.dumps([[str(page), b.line, b.code] for b in blocks])
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER], input=payload, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    assert f'File "{page}", line 9' in proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"ran": 1, "failed_line": 8}
