"""Check that mypy --strict rejects every ``tests/typing/fail_*.py``, for the intended reason.

Each fail file marks the line that must be rejected with ``# expect: <error-code>``.
A file fails this check when mypy reports no error on a marked line with that code (the
wrong call type-checks), or reports an error on a line that is not marked (the file is
rejected for another reason, which could hide the one it tests).

Usage: ``python tests/typing/check_failures.py`` (from anywhere). Exit status 0 when every
file is rejected as intended, 1 otherwise, listing the offending files.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXPECT = re.compile(r"#\s*expect:\s*([a-z-]+)")
ERROR = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def expected_errors(path: Path) -> set[tuple[int, str]]:
    """Return the ``(line, code)`` pairs a fail file marks with ``# expect: code``."""
    found: set[tuple[int, str]] = set()
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECT.search(text)
        if match:
            found.add((number, match.group(1)))
    return found


def reported_errors(files: list[Path]) -> tuple[dict[str, set[tuple[int, str]]], str]:
    """Run mypy --strict once over ``files``; return each file's ``(line, code)`` errors and the output."""
    process = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-pretty", "--show-error-codes", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = process.stdout + process.stderr
    if process.returncode not in (0, 1):  # 2: mypy itself failed (crash, bad config)
        raise RuntimeError(f"mypy did not run (exit {process.returncode}):\n{output}")
    errors: dict[str, set[tuple[int, str]]] = {}
    for line in output.splitlines():
        match = ERROR.match(line.strip())
        if match:
            name = Path(match.group("path")).name
            errors.setdefault(name, set()).add((int(match.group("line")), match.group("code")))
    return errors, output


def check(files: list[Path]) -> tuple[dict[str, list[str]], str]:
    """Run mypy over fail ``files``; return the problems found per file name, and mypy's output."""
    errors, output = reported_errors([f.relative_to(ROOT) for f in files])
    problems: dict[str, list[str]] = {}
    for path in files:
        expected = expected_errors(path)
        reported = errors.get(path.name, set())
        found: list[str] = []
        if not expected:
            found.append("no '# expect: <code>' marker")
        missing = expected - reported
        marked_lines = {line for line, _ in expected}
        unexpected = {(line, code) for line, code in reported if line not in marked_lines}
        if missing:
            found.append(f"mypy accepted what it must reject: {sorted(missing)}")
        if unexpected:
            found.append(f"mypy rejected other lines: {sorted(unexpected)}")
        if found:
            problems[path.name] = found
    return problems, output


def main() -> int:
    """Check every fail file; print the ones mypy does not reject as intended."""
    files = sorted(HERE.glob("fail_*.py"))
    if not files:
        print("no tests/typing/fail_*.py files found")
        return 1
    problems, output = check(files)
    if problems:
        print("typing failures not rejected as intended:")
        for name, found in problems.items():
            for problem in found:
                print(f"  {name}: {problem}")
        print("\nmypy output:\n" + output)
        return 1
    print(f"ok: mypy --strict rejects all {len(files)} fail files as intended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
