"""The typing suite, run by pytest: mypy --strict accepts pass_signatures.py and rejects fail_*.py."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

TYPING = Path(__file__).resolve().parent / "typing"
ROOT = TYPING.parent.parent
ERROR_LINE = re.compile(r"^[^:\n]+:(\d+): error: ")

@pytest.fixture(scope="module")
def pass_result() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-pretty", "tests/typing/pass_signatures.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def check_failures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_failures", TYPING / "check_failures.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(60)
def test_pass_signatures_type_checks(pass_result: subprocess.CompletedProcess[str]) -> None:
    assert pass_result.returncode == 0, pass_result.stdout + pass_result.stderr


@pytest.mark.timeout(60)
def test_every_fail_file_is_rejected_for_its_marked_error(check_failures: ModuleType) -> None:
    files = sorted(TYPING.glob("fail_*.py"))
    assert len(files) >= 10
    problems, output = check_failures.check(files)
    assert not problems, output


@pytest.mark.timeout(60)
def test_check_failures_script_exits_zero() -> None:
    process = subprocess.run(
        [sys.executable, str(TYPING / "check_failures.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert process.returncode == 0, process.stdout


def test_every_fail_file_marks_its_expected_error(check_failures: ModuleType) -> None:
    for path in TYPING.glob("fail_*.py"):
        assert check_failures.expected_errors(path), path.name
