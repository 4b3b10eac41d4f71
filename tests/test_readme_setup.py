"""The README's set-up: the Python it needs, a virtual environment, then the two commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEMO = "pip install -e '.[demo]' && python -m resiliency demo"
TESTS = "pip install -e '.[dev]' && python -m pytest"


def test_the_two_commands_are_there_exactly_as_ci_runs_them() -> None:
    assert f"```bash\n{DEMO}\n```" in README
    assert f"```bash\n{TESTS}\n```" in README


def test_it_states_the_python_it_needs_as_pyproject_does() -> None:
    needed = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert needed == ">=3.11"
    first_command = README.index(DEMO)
    assert re.search(r"Python 3\.11 or newer", README[:first_command])


def test_a_virtual_environment_is_made_and_activated_before_the_commands() -> None:
    first_command = README.index(DEMO)
    before = README[:first_command]
    assert "python3 -m venv .venv" in before
    assert "source .venv/bin/activate" in before
