"""The reused daemon threads of the sync parallel modes (and of sync providers in async calls).

Starting a thread costs ~100 us; ``execute_any_sync`` over three providers used to start
three per call. ``FailoverPool`` keeps up to ``size`` daemon threads and hands each job to
an idle one; a thread idle for ``idle_timeout`` seconds (0.25 s) exits, so nothing is left
running soon after the work, and ``trim()`` makes the idle ones exit at once (the test
suite's thread-leak guard calls it, so a thread still there afterwards is one still busy
in a provider: a real leak). When every kept thread is busy (hung providers, say), a job
gets a one-off daemon thread instead of waiting: a hung dependency can never starve the
pool. Daemon threads never delay the exit of the process.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any

__all__ = ["IDLE_TIMEOUT", "POOL_SIZE", "FailoverPool", "pool", "run_in_pool"]

POOL_SIZE = 32
"""Most threads the pool keeps (busy or idle); more work gets one-off threads."""

IDLE_TIMEOUT = 0.25
"""Seconds an idle kept thread waits for work before it exits."""

_STOP: Any = object()


class FailoverPool:
    """A bounded set of reused daemon threads.

    Args:
        size: the most threads kept (busy or idle).
        idle_timeout: seconds an idle thread waits for a job before it exits.
    """

    def __init__(self, size: int = POOL_SIZE, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.size = size
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._jobs: SimpleQueue[Any] = SimpleQueue()
        self._threads = 0  # kept threads alive
        self._idle = 0  # kept threads waiting for a job and not yet handed one

    def submit(self, job: Callable[[], object]) -> None:
        """Run ``job()`` on an idle kept thread, a new kept thread, or a one-off thread.

        ``job`` must not raise: what it raises is lost (the runners catch everything).
        """
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._jobs.put(job)
                return
            keep = self._threads < self.size
            if keep:
                self._threads += 1
        if keep:  # in a list the thread empties: Thread keeps its args until it ends
            threading.Thread(target=self._serve, args=([job],), name="resiliency-failover", daemon=True).start()
        else:
            threading.Thread(target=job, name="resiliency-failover", daemon=True).start()

    def _serve(self, first: list[Callable[[], object]]) -> None:
        jobs, lock = self._jobs, self._lock
        job = first.pop()
        while True:
            job()
            job = _STOP  # drop the finished job (and what it holds) before waiting
            with lock:
                self._idle += 1
            while True:
                try:
                    job = jobs.get(timeout=self.idle_timeout)
                    break
                except Empty:
                    with lock:
                        if jobs.empty():
                            self._idle -= 1
                            self._threads -= 1
                            return
                    # a job was handed to the idle threads meanwhile: take it
            if job is _STOP:
                with lock:
                    self._threads -= 1
                return

    def trim(self) -> None:
        """Make every idle kept thread exit now (busy ones keep running)."""
        with self._lock:
            idle, self._idle = self._idle, 0
            for _ in range(idle):
                self._jobs.put(_STOP)

    @property
    def threads(self) -> int:
        """Kept threads alive (busy or idle)."""
        return self._threads


pool = FailoverPool()
"""The process-wide pool."""


def _deliver(future: asyncio.Future[Any], box: list[Any]) -> None:
    if future.done():  # the caller was cancelled: the result is dropped
        return
    ok, value = box
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


async def run_in_pool(fn: Callable[..., Any], /, *args: Any) -> Any:
    """Run ``fn(*args)`` on a pool thread and return (or raise) what it does.

    The thread runs in a copy of the caller's context (its deadline). A cancelled
    caller stops waiting at once and the thread is abandoned: its result is dropped. This
    replaces ``anyio.to_thread.run_sync``, whose threads on asyncio are not daemon
    threads (a hung loser kept the process from exiting); waking the caller uses each
    backend's own thread-safe call (``call_soon_threadsafe``, trio's token).
    """
    context = contextvars.copy_context()
    box: list[Any] = []
    loop = asyncio._get_running_loop()
    if loop is not None:
        future: asyncio.Future[Any] = loop.create_future()

        def job() -> None:
            _run(context, fn, args, box)
            try:
                loop.call_soon_threadsafe(_deliver, future, box)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        pool.submit(job)
        return await future
    import trio  # not asyncio: anyio's other backend

    token = trio.lowlevel.current_trio_token()
    event = trio.Event()

    def trio_job() -> None:
        _run(context, fn, args, box)
        try:
            token.run_sync_soon(event.set)
        except trio.RunFinishedError:  # the run is over: nobody waits any more
            pass

    pool.submit(trio_job)
    await event.wait()
    ok, value = box
    box.clear()
    if ok:
        return value
    try:
        raise value
    finally:
        del value


def _run(context: contextvars.Context, fn: Callable[..., Any], args: tuple[Any, ...], box: list[Any]) -> None:
    try:
        box[:] = (True, context.run(fn, *args))
    except BaseException as exc:  # handed to the caller, never lost in the thread
        box[:] = (False, exc)
