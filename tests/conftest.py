"""Shared fixtures: both anyio backends, an isolated registry, a thread-leak check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import resiliency


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test on asyncio and on trio."""
    backend: str = request.param
    return backend


@pytest.fixture
def registry() -> resiliency.Registry:
    """A fresh registry, so named objects and listeners never leak between tests."""
    return resiliency.Registry()


@pytest.fixture
def no_thread_leak() -> Iterator[None]:
    """Fail the test if a thread it started is still alive shortly after it ends.

    Threads get up to one second to finish (an abandoned timeout worker released by the
    test ends within microseconds); a thread still running after that has leaked.
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 1.0
    leaked: list[threading.Thread] = []
    for thread in set(threading.enumerate()) - before:
        if thread.name.startswith("Trio thread"):  # trio's own idle worker cache, kept 10 s
            continue
        thread.join(timeout=max(deadline - time.monotonic(), 0.0))
        if thread.is_alive():
            leaked.append(thread)
    assert not leaked, f"threads leaked: {leaked}"
