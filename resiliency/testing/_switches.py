"""``instant()`` and ``disabled()``: make retries free of waiting, or turn them off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .._retry_decision import testing_switch

__all__ = ["disabled", "instant"]


@contextmanager
def instant() -> Iterator[None]:
    """Within the block, every retry wait is zero; attempts still count.

    Backoff, jitter and Retry-After hints all become 0 s, so a ten-attempt retry runs
    in no time while ``max_attempts``, ``retry_on`` and results behave as in
    production (stamina's ``set_testing`` is the model). Process-wide and nestable;
    the switch is set under a lock.
    """
    with testing_switch.lock:
        before = testing_switch.instant
        testing_switch.instant = True
    try:
        yield
    finally:
        with testing_switch.lock:
            testing_switch.instant = before


@contextmanager
def disabled() -> Iterator[None]:
    """Within the block, retries are off: every call makes exactly one attempt."""
    with testing_switch.lock:
        before = testing_switch.disabled
        testing_switch.disabled = True
    try:
        yield
    finally:
        with testing_switch.lock:
            testing_switch.disabled = before
