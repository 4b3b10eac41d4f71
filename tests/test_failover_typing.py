"""mypy --strict accepts tests/typing/pass_failover.py, and rejects a wrong call of an entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRONG = """
from resiliency import failover_group


class FileService:
    @failover_group("storage", op="upload")
    async def upload(self, key: str, data: bytes) -> str:
        raise NotImplementedError


async def main() -> None:
    await FileService().upload("k", "not bytes")
    size: int = await FileService().upload("k", b"")
"""


def mypy(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-pretty", "--show-error-codes", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.timeout(120)
def test_failover_group_keeps_the_signature_for_mypy(tmp_path: Path) -> None:
    passing = mypy("tests/typing/pass_failover.py")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    wrong = tmp_path / "wrong_failover.py"
    wrong.write_text(WRONG)
    failing = mypy(str(wrong))
    errors = [line for line in failing.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 2, failing.stdout
    assert "[arg-type]" in errors[0]
    assert "[assignment]" in errors[1]
