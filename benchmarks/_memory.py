"""Memory measurements: allocator bytes per call, and bytes each extra object keeps alive.

Allocation per call: with ``tracemalloc`` on, each call runs after ``reset_peak()``; the
peak above the memory in use before the call is that call's working memory (median over
calls), and memory still held after all calls, divided by their number, is the retained
bytes per call (0 for a well-behaved wrapper). Objects taken from CPython's free lists
(small tuples, frames in 3.11) never reach the allocator and are not counted.

Size per object: ``make()`` builds and exercises one object (a breaker after 100
successful calls); with ``tracemalloc`` on, ``k`` objects are kept alive and the memory
in use grows by ``bytes per object * k`` (shared, one-time allocations excluded by a
first ``make()`` before tracing).
"""

from __future__ import annotations

import gc
import statistics
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any


def alloc_per_call(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Return (median peak bytes per call, retained bytes per call) over ``calls`` calls of ``fn``."""
    peaks = [0] * calls
    traced = tracemalloc.get_traced_memory
    reset = tracemalloc.reset_peak
    tracemalloc.start()
    try:
        fn()
        base = traced()[0]
        for i in range(calls):
            before = traced()[0]
            reset()
            fn()
            peaks[i] = traced()[1] - before
        retained = (traced()[0] - base) / calls
    finally:
        tracemalloc.stop()
    return statistics.median(peaks), max(retained, 0.0)


def size_per_object(make: Callable[[], Any], k: int) -> float:
    """Return the bytes each object built by ``make()`` keeps alive, averaged over ``k`` objects."""
    make()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep: list[Any] = [None] * k
        for i in range(k):
            keep[i] = make()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before - sys.getsizeof(keep)) / k


async def asize_per_object(make: Callable[[], Any], k: int) -> float:
    """Async form of :func:`size_per_object` (``make`` is a coroutine function)."""
    await make()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep: list[Any] = [None] * k
        for i in range(k):
            keep[i] = await make()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before - sys.getsizeof(keep)) / k
