"""Shared fixtures: both anyio backends, an isolated registry, a thread-leak check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import resiliency
from resiliency._failover._pool import pool as failover_pool

# Real servers (redis-server, a Redis Cluster, prometheus, dnsmasq, uvicorn), one module each.
pytest_plugins = [
    "servers.redis_servers",
    "servers.prometheus_server",
    "servers.dns_server",
    "servers.http_servers",
]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test on asyncio and on trio."""
    backend: str = request.param
    return backend


@pytest.fixture
def registry() -> resiliency.Registry:
    """A fresh registry, so named objects and listeners never leak between tests."""
    return resiliency.Registry()


def _our_threads() -> set[threading.Thread]:
    # Trio's own cached I/O worker ("Trio thread N", started on demand by anyio's trio
    # test runner and kept for 10 s of idleness) is not a test's thread.
    return {t for t in threading.enumerate() if not t.name.startswith("Trio thread")}


def _guard_threads(grace: float) -> Iterator[None]:
    """Fail the test if a thread it started is still alive ``grace`` seconds after it ends."""
    failover_pool.trim()  # so every pool thread the test uses is one it started
    before = _our_threads()
    yield
    deadline = time.monotonic() + grace
    while _our_threads() - before and time.monotonic() < deadline:
        # The failover pool keeps idle threads for reuse (0.25 s): ask the idle ones to
        # exit now; a pool thread still alive after the grace is busy in a provider.
        failover_pool.trim()
        time.sleep(0.0005)
    leaked = _our_threads() - before
    assert not leaked, f"threads leaked: {leaked}"


@pytest.fixture
def no_thread_leak() -> Iterator[None]:
    """Fail the test if a thread it started is still alive one second after it ends.

    An abandoned timeout worker released by the test ends within microseconds; a thread
    still running after a second has leaked.
    """
    yield from _guard_threads(1.0)


@pytest.fixture
def no_thread_leak_patient() -> Iterator[None]:
    """``no_thread_leak`` with five seconds of grace, for tests that hammer many threads."""
    yield from _guard_threads(5.0)
