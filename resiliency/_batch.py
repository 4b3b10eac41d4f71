"""``map_concurrent`` / ``amap_concurrent``: run a function over many items, a few at a time.

Seed 001's concurrency manager and batch processing, built from the strategies: the
concurrency limit is a ``Bulkhead`` (seed 001's semaphore), the rate a ``RateLimiter``
(each attempt takes a token, waiting for it), the per-item retry a ``RetryStrategy``.
Per item the pipeline is bulkhead > retry > rate limiter > ``fn``: an item holds its
slot through its retries. ``limit`` workers pull items in input order; each item ends
as one ``Outcome`` at its input position. The async form runs its workers in an anyio
task group, so cancelling the caller cancels the items in flight.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import anyio

from ._bulkhead import Bulkhead
from ._clock import Clock, get_clock
from ._engine import async_leaf, sync_leaf
from ._failover import Outcome
from ._outcome import Failure
from ._rate_limit import RateLimiter
from ._retry import RetryStrategy, _Stats
from ._retry_policy import RetryPolicy
from ._validate import check_callable, check_count, check_duration, check_number, message

__all__ = ["amap_concurrent", "map_concurrent"]

logger = logging.getLogger("resiliency")
T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], object]


class _Plan:
    """The checked arguments of one map: strategies, batches, clock."""

    def __init__(
        self,
        fn: Callable[..., Any],
        items: Iterable[Any],
        limit: int | Bulkhead,
        rate: float | RateLimiter | None,
        batch_size: int | None,
        batch_pause: float,
        retry: RetryPolicy | None,
        on_progress: Progress | None,
        clock: Clock | None,
    ) -> None:
        self.fn = check_callable("fn", fn)
        self.items: Sequence[Any] = items if isinstance(items, (list, tuple)) else list(items)
        if isinstance(limit, Bulkhead):
            self.bulkhead = limit
            workers = limit.policy.max_concurrent
        else:
            workers = check_count("limit", limit)
            self.bulkhead = Bulkhead(max_concurrent=workers, clock=clock)
        self.workers = workers
        if rate is None or isinstance(rate, RateLimiter):
            self.limiter = rate
        else:
            per_second = check_number("rate", rate, "calls per second > 0 or a RateLimiter")
            if not 0.0 < per_second < float("inf"):
                raise ValueError(message("rate", "calls per second > 0 or a RateLimiter", rate))
            self.limiter = RateLimiter(rate=per_second, max_wait=float("inf"), clock=clock)
        self.batch_size = check_count("batch_size", batch_size, allow_none=True)
        self.batch_pause = check_duration("batch_pause", batch_pause)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(message("retry", "a RetryPolicy or None", retry))
        self.name = getattr(fn, "__qualname__", None) or repr(fn)
        self.retry = None if retry is None else RetryStrategy(retry, clock=clock, name=self.name)
        self.on_progress = check_callable("on_progress", on_progress, allow_none=True)
        self.clock = clock
        self.done = 0
        self._count_lock = threading.Lock()  # map_concurrent's workers are threads

    def batches(self) -> list[range]:
        total = len(self.items)
        size = self.batch_size or max(total, 1)
        return [range(start, min(start + size, total)) for start in range(0, total, size)]

    def outcome(self, result: Any, stats: _Stats, duration: float) -> Outcome:
        if type(result) is Failure:
            return Outcome(self.name, False, None, result.error, stats.attempts, duration)
        return Outcome(self.name, True, result, None, stats.attempts, duration)

    def progress(self) -> Any:
        with self._count_lock:
            self.done += 1
            done = self.done
        if self.on_progress is None:
            return None
        try:
            return self.on_progress(done, len(self.items))
        except Exception:
            logger.exception("on_progress callback %r raised", self.on_progress)
            return None


def map_concurrent(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    limit: int | Bulkhead = 10,
    rate: float | RateLimiter | None = None,
    batch_size: int | None = None,
    batch_pause: float = 0.0,
    retry: RetryPolicy | None = None,
    on_progress: Progress | None = None,
    clock: Clock | None = None,
) -> list[Outcome]:
    """Call ``fn(item)`` for every item on up to ``limit`` threads; one ``Outcome`` per item, in order.

    Args:
        fn: a sync callable taking one item.
        items: the items (any iterable; read once, up front).
        limit: calls at once, int >= 1, or a ``Bulkhead`` to share (default 10); a
            shared one runs ``max_concurrent`` workers per map and needs a ``max_queue``
            for the other maps' workers, or their items end as ``BulkheadFullError``.
        rate: at most this many calls per second (each attempt waits for its turn), or
            a ``RateLimiter`` to share (it keeps its own ``max_wait``; a call it
            refuses ends as a ``RateLimitedError``). Default: no limit.
        batch_size: run the items in batches of this many, each batch finished before
            the next starts (default: one batch).
        batch_pause: seconds slept between batches (default 0).
        retry: a ``RetryPolicy`` applied to each item (default: one attempt).
        on_progress: called as ``on_progress(done, total)`` after each item.
        clock: the ``Clock`` for sleeps (default: the process clock).

    Returns:
        ``list[Outcome]`` in input order: ``ok``, ``value`` or ``error`` (never raised),
        ``attempts``, ``duration``; ``provider`` is ``fn``'s qualified name.

    Raises:
        TypeError, ValueError: a bad argument (the message names it); an ``async def``
            ``fn`` (use ``amap_concurrent``).
    """
    if inspect.iscoroutinefunction(fn):
        raise TypeError(message("fn", "a sync callable (use amap_concurrent for async ones)", fn))
    plan = _Plan(fn, items, limit, rate, batch_size, batch_pause, retry, on_progress, clock)
    leaf = sync_leaf(plan.fn)
    if plan.limiter is not None:
        leaf = plan.limiter.sync_layer(leaf)
    retry_strategy = plan.retry

    def attempts(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        item, stats = args
        if retry_strategy is None:
            return leaf((item,), {})
        return retry_strategy.run_sync(leaf, (item,), {}, stats)

    chain = plan.bulkhead.sync_layer(attempts)
    results: list[Any] = [None] * len(plan.items)
    read = (clock or get_clock()).monotonic

    def run_batch(indexes: range) -> None:
        pending = iter(indexes)

        def worker() -> None:
            for index in pending:  # a shared iterator: next() on a range iterator is atomic
                stats = _Stats()
                start = read()
                result = chain((plan.items[index], stats), {})
                results[index] = plan.outcome(result, stats, read() - start)
                plan.progress()

        count = min(plan.workers, len(indexes))
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="resiliency-map") as pool:
            futures = [pool.submit(worker) for _ in range(count)]
        for future in futures:
            future.result()  # a BaseException a worker met (not an item's error) surfaces here

    for number, indexes in enumerate(plan.batches()):
        if number and plan.batch_pause:
            (clock or get_clock()).sleep(plan.batch_pause)
        run_batch(indexes)
    return results


async def amap_concurrent(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T],
    *,
    limit: int | Bulkhead = 10,
    rate: float | RateLimiter | None = None,
    batch_size: int | None = None,
    batch_pause: float = 0.0,
    retry: RetryPolicy | None = None,
    on_progress: Progress | None = None,
    clock: Clock | None = None,
) -> list[Outcome]:
    """Await ``fn(item)`` for every item, up to ``limit`` at once; one ``Outcome`` per item, in order.

    Runs on asyncio and trio (anyio). Cancelling the caller cancels the items in
    flight and starts no more. ``on_progress`` may be async. The arguments are those of
    ``map_concurrent``; ``fn`` is an async callable.

    Returns:
        ``list[Outcome]`` in input order (errors are in the outcomes, never raised).

    Raises:
        TypeError, ValueError: a bad argument (the message names it).
    """
    plan = _Plan(fn, items, limit, rate, batch_size, batch_pause, retry, on_progress, clock)
    leaf = async_leaf(plan.fn)
    if plan.limiter is not None:
        leaf = plan.limiter.async_layer(leaf)
    retry_strategy = plan.retry

    async def attempts(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        item, stats = args
        if retry_strategy is None:
            return await leaf((item,), {})
        return await retry_strategy.run_async(leaf, (item,), {}, stats)

    chain = plan.bulkhead.async_layer(attempts)
    results: list[Any] = [None] * len(plan.items)
    read = (clock or get_clock()).monotonic
    items = plan.items

    async def worker(pending: Iterable[int]) -> None:
        for index in pending:
            stats = _Stats()
            start = read()
            result = await chain((items[index], stats), {})
            results[index] = plan.outcome(result, stats, read() - start)
            reply = plan.progress()
            if reply is not None and hasattr(reply, "__await__"):
                await reply

    for number, indexes in enumerate(plan.batches()):
        if number and plan.batch_pause:
            await (clock or get_clock()).asleep(plan.batch_pause)
        pending = iter(indexes)
        async with anyio.create_task_group() as group:
            for _ in range(min(plan.workers, len(indexes))):
                group.start_soon(worker, pending)
    return results
