"""The pytest plugin (entry point ``pytest11``): fixtures for code that uses resiliency.

Fixtures:
    fake_clock: a ``FakeClock`` installed as the process clock for the test (strategies
        without ``clock=`` sleep in virtual time, with autojump across tasks).
    isolated_registry: a fresh ``Registry`` to pass as ``registry=`` to decorators
        and groups, so names and listeners never leak between tests.
    instant_retries: retries wait zero seconds during the test (``instant()``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .._registry import Registry
from ._fake_clock import FakeClock
from ._switches import instant

__all__ = ["fake_clock", "instant_retries", "isolated_registry"]


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    """A ``FakeClock`` that is the process clock for the test, restored afterwards."""
    with FakeClock() as clock:
        yield clock


@pytest.fixture
def isolated_registry() -> Registry:
    """A fresh ``Registry`` to pass as ``registry=``, so names never collide across tests."""
    return Registry()


@pytest.fixture
def instant_retries() -> Iterator[None]:
    """Every retry wait is zero for the duration of the test."""
    with instant():
        yield
