"""Work a call leaves running, and the bulkhead slots that must stay taken until it ends.

A bulkhead bounds the work done on a dependency, not only the callers waiting for it. A
thread-mode ``@timeout`` stops waiting at its deadline while its worker thread runs on
inside the dependency; that worker is still work under the caller's bulkhead slot. So:

- a layer that may leave work running is marked (``mark_leaves_work``); the engine
  marks every layer over a marked one, so a bulkhead sees at decoration time whether
  anything below it may leave work behind (a thread-mode timeout, however deep in the
  same stack). Only then do its sync calls push their slot on this thread's chain of
  holds while they run (``chain.top``, each hold linking to the ``outer`` one): other
  bulkheads pay nothing for this;
- a timeout worker thread starts with its caller's chain, so work it leaves behind in
  turn counts against the same slots;
- a timeout that abandons a worker calls ``keep_until_done(future)``: every hold of the
  chain stays taken until the worker's future is done.

Async calls are cancelled, never abandoned, so async bulkhead calls push nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

__all__ = ["Hold", "chain", "keep_until_done", "leaves_work", "mark_leaves_work"]

_MARK = "_resiliency_leaves_work"


class Hold(Protocol):
    """Something work runs under (a bulkhead slot) that stays taken while kept."""

    outer: Hold | None

    def keep(self) -> None:
        """Stay taken, even past the end of the call that holds it, until ``let_go``."""

    def let_go(self) -> None:
        """Undo one ``keep``."""


class _Chain(threading.local):
    top: Hold | None = None


chain = _Chain()
"""This thread's innermost hold (None: no bulkhead call is running in this thread)."""


def mark_leaves_work(layer: Callable[..., Any]) -> None:
    """Mark ``layer`` as one that may leave work running after it returns."""
    setattr(layer, _MARK, True)


def leaves_work(layer: Callable[..., Any]) -> bool:
    """Whether ``layer`` (or a layer inside it) may leave work running after it returns."""
    return getattr(layer, _MARK, False) is True


def keep_until_done(future: Future[Any]) -> None:
    """Keep every hold of this thread's chain taken until ``future`` is done."""
    held: list[Hold] = []
    hold = chain.top
    while hold is not None:
        hold.keep()
        held.append(hold)
        hold = hold.outer
    if held:
        future.add_done_callback(lambda _: _let_go(held))


def _let_go(held: list[Hold]) -> None:
    for hold in held:
        hold.let_go()
