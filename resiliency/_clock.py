"""Time as the library reads it: a ``Clock`` with monotonic time and two sleeps.

Strategies read the clock at call time through :func:`get_clock` (or the ``clock=``
they were given), never a clock bound at import, so a test can swap in
``resiliency.testing.FakeClock`` for one strategy or for the whole process.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "SystemClock", "get_clock", "set_clock"]


@runtime_checkable
class Clock(Protocol):
    """What a strategy needs of time: a monotonic reading and a sync and async sleep."""

    def monotonic(self) -> float:
        """Return monotonic seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.sleep`` and ``anyio.sleep``."""

    __slots__ = ()

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread with ``time.sleep``."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task with ``anyio.sleep`` (asyncio and trio)."""
        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
_current: Clock = SYSTEM_CLOCK
_lock = threading.Lock()


def get_clock() -> Clock:
    """Return the process-wide clock that strategies without ``clock=`` use."""
    return _current


def set_clock(clock: Clock | None) -> Clock:
    """Set the process-wide clock (``None`` restores the system clock); return the old one.

    Raises:
        TypeError: ``clock`` lacks ``monotonic``, ``sleep`` or ``asleep``.
    """
    global _current
    if clock is None:
        clock = SYSTEM_CLOCK
    if not isinstance(clock, Clock):
        raise TypeError(f"clock must be a Clock with monotonic(), sleep() and asleep() (got {clock!r})")
    with _lock:
        old, _current = _current, clock
    return old
