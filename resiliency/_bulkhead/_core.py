"""The bulkhead's decision core: ``max_concurrent`` slot tokens and a FIFO queue of waiters.

One core serves sync callers (threads) and async callers (tasks on asyncio or trio)
alike. It never blocks and never sleeps; how a caller waits is the business of its
waiter object (``SyncWaiter``: a ``threading.Event``; ``AsyncWaiter``: an
``anyio.Event`` of the caller's event loop), woken after the lock is released.

The fast path takes no lock: a call pops a ``Slot`` from the ``free`` list and pushes
it back when done (``list.pop``/``list.append`` are atomic), then looks at the queue.
Slots are made on demand, under the lock, when the free list is empty and fewer than
``max_concurrent`` exist: a bulkhead costs what its peak concurrency costs, never what
``max_concurrent`` is (``sys.maxsize`` is fine).
A measured choice: a ``threading.Lock`` taken to enter and again to leave cost ~3x as
much per call as the pop/push pair. Everything else (queueing, hand-off, time-outs,
cancellation) runs under ``lock``. No wake-up is lost: a leaving call pushes its slot
*then* looks at the queue, and a caller that queues *then* looks for a free slot
(``dispatch``), so one of the two always sees the other.

Rules the core keeps:

- at most ``max_concurrent`` calls hold a slot at once (there are only that many);
- at most ``max_queue`` callers wait; free slots go to waiters first in, first out,
  one waiter woken per slot; a waiter that leaves (timed out, cancelled) leaves the
  queue, and one that leaves just after being handed a slot hands it on: none is lost;
- ``completed`` is exact without a shared counter: each slot counts the calls it
  carried (only its holder writes it), and ``metrics()`` sums them;
- a slot kept by work its call left running (an abandoned timeout worker, see
  ``resiliency._holds``) goes back only when the last such work ends (``retire``,
  ``let_go``).

With threads, a newcomer may take a slot pushed back in the instant before ``dispatch``
hands it to a waiter (barging, as a non-fair semaphore allows); waiters among
themselves are always served in FIFO order. Tasks of one event loop never barge: the
push and the hand-off happen without a checkpoint between them.

A waiter's ``state`` moves once from WAITING, under the lock, to GRANTED (then HOLDING
when it runs, or RETURNED when it gives the slot back unused), EXPIRED or CANCELLED.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio

from ._policy import BulkheadMetrics, BulkheadPolicy

__all__ = ["QUEUED", "AsyncWaiter", "Slot", "Slots", "SyncWaiter"]

WAITING, GRANTED, HOLDING, RETURNED, EXPIRED, CANCELLED = range(6)
QUEUED = "queued"


class Slot:
    """One of a bulkhead's ``max_concurrent`` tokens, and a ``Hold`` of ``resiliency._holds``.

    Attributes:
        uses: calls it carried to the end.
        outer: the hold its current call runs under (the thread's chain).
        workers: work its calls left running (kept, not yet let go); under the lock.
        parked: its call ended while ``workers`` ran on: it goes back when they end.
    """

    __slots__ = ("core", "outer", "parked", "uses", "workers")

    def __init__(self, core: Slots) -> None:
        self.core = core
        self.uses = 0
        self.outer: Any = None
        self.workers = 0
        self.parked = False

    def keep(self) -> None:
        """Stay taken past the end of the call until ``let_go`` (an abandoned worker runs on)."""
        with self.core.lock:
            self.workers += 1

    def let_go(self) -> None:
        """Undo one ``keep``; the last one gives a parked slot back."""
        core = self.core
        with core.lock:
            self.workers -= 1
            if self.workers or not self.parked:
                return
            self.parked = False
        core.free.append(self)
        core.dispatch()


class SyncWaiter:
    """A thread waiting for a slot: blocks on a ``threading.Event``."""

    __slots__ = ("event", "slot", "state")

    def __init__(self) -> None:
        self.state = WAITING
        self.slot: Slot | None = None
        self.event = threading.Event()

    def wake(self) -> bool:
        """Wake the waiting thread (from any thread); always succeeds."""
        self.event.set()
        return True


def _loop_poster() -> Callable[[Callable[[], object]], object]:
    """Return a function that runs a callback soon on the current event loop, from any thread.

    anyio offers no non-blocking "call soon, thread-safe" (``anyio.from_thread.run_sync``
    blocks the calling thread until the loop has run it, which could deadlock a releasing
    thread against a loop blocked on the same bulkhead), so this uses each backend's
    native primitive: ``loop.call_soon_threadsafe`` or ``TrioToken.run_sync_soon``.
    """
    loop = asyncio._get_running_loop()
    if loop is not None:
        return loop.call_soon_threadsafe
    import trio

    return trio.lowlevel.current_trio_token().run_sync_soon


class AsyncWaiter:
    """A task waiting for a slot: awaits an ``anyio.Event`` of its own event loop."""

    __slots__ = ("event", "post", "slot", "state", "thread")

    def __init__(self) -> None:
        self.state = WAITING
        self.slot: Slot | None = None
        self.event = anyio.Event()
        self.thread = threading.get_ident()
        self.post = _loop_poster()

    def wake(self) -> bool:
        """Wake the waiting task; from another thread, through its loop.

        Returns:
            False when the task's event loop is gone (nobody will take the slot).
        """
        if threading.get_ident() == self.thread:
            self.event.set()
            return True
        try:
            self.post(self.event.set)
        except Exception:  # RuntimeError (asyncio loop closed) or trio.RunFinishedError
            return False
        return True


Waiter = SyncWaiter | AsyncWaiter


class Slots:
    """The slot tokens, the free list and the FIFO queue of one bulkhead; thread-safe.

    The layers use ``free`` and ``queue`` directly for the fast path (pop a slot; push it
    back, then ``dispatch()`` if anyone waits); everything else goes through the methods.
    """

    __slots__ = ("free", "lock", "made", "max_concurrent", "max_queue", "queue", "rejected")

    def __init__(self, policy: BulkheadPolicy) -> None:
        self.lock = threading.Lock()
        self.max_concurrent = policy.max_concurrent
        self.max_queue = policy.max_queue
        self.made: list[Slot] = []  # every slot made so far (at most max_concurrent)
        self.free: list[Slot] = []
        self.queue: deque[Any] = deque()
        self.rejected = 0

    def _take_locked(self) -> Slot | None:
        """A free slot, or a new one while fewer than ``max_concurrent`` exist (the lock is held)."""
        try:
            return self.free.pop()
        except IndexError:
            pass
        if len(self.made) >= self.max_concurrent:
            return None
        slot = Slot(self)
        self.made.append(slot)
        return slot

    def admit(self, waiter: Waiter, may_wait: bool) -> Slot | str:
        """Take a free slot, or queue ``waiter``, or refuse.

        Args:
            waiter: the caller's waiter, queued if no slot is free.
            may_wait: False when the caller has no time left to wait.

        Returns:
            A ``Slot`` (held now), ``QUEUED`` (wait on ``waiter``, then ``settle``), or
            the rejection reason: "full" or "queue_timeout".
        """
        with self.lock:
            slot = self._take_locked()
            if slot is not None:
                return slot
            if len(self.queue) >= self.max_queue:
                self.rejected += 1
                return "full"
            if not may_wait:
                self.rejected += 1
                return "queue_timeout"
            self.queue.append(waiter)
        self.dispatch()  # a slot pushed back since the pop above is not left unused
        return QUEUED

    def dispatch(self) -> None:
        """Hand free slots to waiters, first in first out, waking each one handed a slot."""
        while True:
            with self.lock:
                if not self.queue:
                    return
                slot = self._take_locked()
                if slot is None:
                    return
                waiter = self.queue.popleft()
                waiter.slot = slot
                waiter.state = GRANTED
            if not waiter.wake():
                # Its event loop is gone: nobody will use the slot, so it goes back.
                with self.lock:
                    if waiter.state == GRANTED:
                        waiter.state = RETURNED
                        self.free.append(slot)

    def settle(self, waiter: Waiter) -> Slot | None:
        """After a wait: return the slot ``waiter`` was handed; else it leaves, rejected."""
        with self.lock:
            if waiter.state == GRANTED:
                waiter.state = HOLDING
                return waiter.slot
            if waiter.state == WAITING:  # its time ran out before a slot came
                self.queue.remove(waiter)
                waiter.state = EXPIRED
                self.rejected += 1
            return None

    def expire(self, waiter: Waiter) -> None:
        """Time is up for ``waiter`` (a clock timer): reject it if it still waits, wake it."""
        with self.lock:
            if waiter.state != WAITING:
                return
            self.queue.remove(waiter)
            waiter.state = EXPIRED
            self.rejected += 1
        waiter.wake()

    def withdraw(self, waiter: Waiter) -> None:
        """``waiter`` leaves without running (cancelled): drop it, or hand its slot on."""
        with self.lock:
            if waiter.state == WAITING:
                self.queue.remove(waiter)
                waiter.state = CANCELLED
                return
            if waiter.state != GRANTED:
                return
            waiter.state = RETURNED
            slot = waiter.slot
            if slot is not None:
                self.free.append(slot)
        self.dispatch()

    def retire(self, slot: Slot) -> None:
        """The call holding ``slot`` ended: give it back, or park it while work it left runs."""
        with self.lock:
            if slot.workers:
                slot.parked = True
                return
        self.free.append(slot)
        self.dispatch()

    def metrics(self) -> BulkheadMetrics:
        """Return a snapshot of the counts (exact whenever no call is mid-way in or out).

        Its cost grows with the slots made (the peak concurrency), not ``max_concurrent``.
        """
        with self.lock:
            active = len(self.made) - len(self.free)
            return BulkheadMetrics(
                active=active,
                queued=len(self.queue),
                available=self.max_concurrent - active,
                completed=sum(slot.uses for slot in self.made),
                rejected=self.rejected,
                max_concurrent=self.max_concurrent,
                max_queue=self.max_queue,
            )
