"""Every ```python block of README.md and docs/*.md type-checks with mypy (issue 9 item 15).

A page's blocks are checked as one module, in order, as tests/test_docs.py runs them;
each block keeps its Markdown line numbers, so an error reads ``docs/x.md:LINE``. The
check is mypy's default plus ``check_untyped_defs``: it finds what a user who copies
a snippet would meet (``empty-body`` on a ``...`` body, a wrong argument, a missing
attribute), not missing annotations. Skipped blocks (``<!-- skip-test -->``) are
left out, as the runner leaves them out.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_docs import ROOT, documented_files, python_blocks

CONFIG = """\
[mypy]
python_version = 3.11
check_untyped_defs = True
show_error_codes = True

[mypy-wrapt.*]
ignore_missing_imports = True
"""
ERROR = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: (?P<text>.*)$")


def page_module(path: Path) -> str | None:
    """The page's runnable blocks as one module whose line N is the page's line N (None: no block)."""
    blocks = [b for b in python_blocks(path.read_text(encoding="utf-8")) if not b.skip]
    if not blocks:
        return None
    lines: list[str] = []
    for block in blocks:
        lines.extend([""] * (block.line - 1 - len(lines)))
        lines.extend(block.code.splitlines())
    return "\n".join(lines) + "\n"


def test_page_module_keeps_markdown_line_numbers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# t\n\n```python\nx = 1\n```\n\ntext\n\n```python\ny: str = x\n```\n")
    module = page_module(page)
    assert module is not None
    assert module.splitlines()[3] == "x = 1"
    assert module.splitlines()[9] == "y: str = x"


@pytest.mark.timeout(180)
def test_documented_python_type_checks(tmp_path: Path) -> None:
    modules: dict[Path, Path] = {}
    for path in documented_files():
        source = page_module(path)
        if source is None:
            continue
        name = re.sub(r"\W", "_", str(path.relative_to(ROOT).with_suffix("")))
        module = tmp_path / f"{name}.py"
        module.write_text(source, encoding="utf-8")
        modules[module] = path
    assert modules
    config = tmp_path / "mypy.ini"
    config.write_text(CONFIG)
    process = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-error-summary", *map(str, modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=170,
    )
    problems = []
    for line in process.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            page = modules.get(Path(match["path"]))
            where = page.relative_to(ROOT) if page is not None else match["path"]
            problems.append(f"{where}:{match['line']}: {match['text']}")
    assert not problems, "documented Python that mypy rejects:\n" + "\n".join(problems)
    assert process.returncode == 0, process.stdout + process.stderr  # 2: mypy itself failed
