"""Real servers for the integration tests, started on free loopback ports.

One module per server (``redis_servers``, ``prometheus_server``, ``dns_server``,
``http_servers``); each defines session- or function-scoped fixtures that start the real
binary, wait until it answers, and stop it afterwards. ``tests/conftest.py`` loads them
all through ``pytest_plugins`` so every test file can ask for them by name.

A missing binary skips the test locally with the package to install; under CI
(``CI=true``) it is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable

import pytest

__all__ = ["free_port", "require_binary", "stop_process", "wait_until"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def require_binary(name: str, package: str) -> str:
    """The path of ``name``; skip (locally) or fail (under CI) when it is not installed."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        message = f"{name} is not installed (Debian package {package!r}: apt-get install -y {package})"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI needs a real server: {message}", pytrace=False)
        pytest.skip(message)
    return path


def wait_until(ready: Callable[[], bool], *, timeout: float = 10.0, what: str = "server") -> None:
    """Poll ``ready()`` until it returns true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except Exception as exc:  # the server is still starting
            last = exc
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not become ready within {timeout}s (last error: {last!r})")


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 5.0) -> None:
    """Terminate ``proc`` and reap it; kill it if it does not stop in ``timeout`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
