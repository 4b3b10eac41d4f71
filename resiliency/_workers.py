"""The worker threads that run sync calls under ``@timeout`` (thread mode).

Each call gets a daemon thread of its own, so nothing lingers after the call ends and a
hung call never blocks interpreter exit. At most ``limit`` workers run at once (64 by
default): a call that finds no free worker waits for one, and that wait counts against
its timeout. So the number of abandoned workers (calls still running after their caller
stopped waiting at the deadline) can never exceed ``limit``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["WorkerPool", "workers"]


class WorkerPool:
    """A bounded set of daemon worker threads, one per call."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.running = 0
        self.abandoned = 0

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], wait: float) -> Future[Any] | None:
        """Start ``fn(*args)`` on a worker; ``None`` when no worker freed up within ``wait`` s."""
        if not self._slots.acquire(timeout=max(wait, 0.0)):
            return None
        future: Future[Any] = Future()
        with self._lock:
            self.running += 1

        def run() -> None:
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args))
                    except BaseException as exc:  # handed to the caller through the future
                        future.set_exception(exc)
            finally:
                with self._lock:
                    self.running -= 1
                    if getattr(future, "_resiliency_abandoned", False):
                        self.abandoned -= 1
                self._slots.release()

        threading.Thread(target=run, name="resiliency-timeout-worker", daemon=True).start()
        return future

    def abandon(self, future: Future[Any]) -> None:
        """Record that the caller stopped waiting for ``future``'s worker."""
        if future.cancel():
            return
        with self._lock:
            if not future.done():
                future._resiliency_abandoned = True  # type: ignore[attr-defined]
                self.abandoned += 1


workers = WorkerPool()
