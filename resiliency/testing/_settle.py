"""What ``FakeClock`` needs of the event loop: "are the others idle?", and sleepers to wake from any thread.

Autojump moves virtual time only once every other task of the loop is blocked, so a
task that is about to register a shorter sleep gets to do so first. anyio offers
``wait_all_tasks_blocked()``, but on asyncio it polls with real 0.1 s sleeps, which a
test cannot afford; so each backend's own primitive is used here:

- trio: ``trio.testing.wait_all_tasks_blocked()``, exact, and made for this.
- asyncio: the test anyio's asyncio backend makes (every other task waits on a pending
  future), run after each zero sleep instead of after a real 0.1 s one, for at most
  ``MAX_PASSES`` passes so a task that polls in a loop cannot stall virtual time.

anyio runs on asyncio or trio, so "not asyncio" means trio.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel

__all__ = ["MAX_PASSES", "Timer", "Waiter", "settle"]

MAX_PASSES = 1000
"""asyncio: zero sleeps at most before deciding that the other tasks are idle."""

_running_loop = asyncio._get_running_loop  # C function: cheap test for asyncio
_settling: set[object] = set()  # asyncio tasks inside settle(): idle as far as others can tell
_settling_lock = threading.Lock()


def _idle(task: asyncio.Task[Any], me: object) -> bool:
    if task is me or task in _settling:
        return True
    waiter = getattr(task, "_fut_waiter", None)  # the future the task waits on, as anyio reads it
    return waiter is not None and not waiter.done()


async def settle() -> None:
    """Return once every other task of this event loop is blocked (a checkpoint)."""
    if _running_loop() is None:
        import trio.testing

        await trio.testing.wait_all_tasks_blocked()
        return
    me = asyncio.current_task()
    with _settling_lock:
        _settling.add(me)
    try:
        for _ in range(MAX_PASSES):
            await anyio.lowlevel.checkpoint()
            if all(_idle(task, me) for task in asyncio.all_tasks()):
                return
    finally:
        with _settling_lock:
            _settling.discard(me)


def _call_soon_threadsafe() -> Callable[[Callable[[], object]], object]:
    """Return a function that runs a callback soon in the current event loop, from any thread."""
    loop = _running_loop()
    if loop is not None:
        return loop.call_soon_threadsafe
    import trio.lowlevel

    run_sync_soon: Callable[[Callable[[], object]], object] = trio.lowlevel.current_trio_token().run_sync_soon
    return run_sync_soon


class Timer:
    """A ``call_at`` handle: ``cancel()`` stops the callback from running."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Stop the callback from running (harmless once it ran)."""
        self.cancelled = True


class Waiter:
    """One task in ``asleep``: its deadline and the event that wakes (or prods) it."""

    __slots__ = ("call_soon", "deadline", "event", "gone", "thread", "woken")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.event = anyio.Event()
        self.gone = False  # woken, or left (cancelled): no longer in the queue's live set
        self.woken = False  # its deadline came (it has yet to say so, in asleep's finally)
        self.thread = threading.get_ident()
        self.call_soon = _call_soon_threadsafe()

    def notify(self) -> None:
        """Set the current event, from any thread."""
        event = self.event
        if threading.get_ident() == self.thread:
            event.set()
            return
        try:
            self.call_soon(event.set)
        except RuntimeError:  # its event loop has closed: no one is left to wake
            pass
