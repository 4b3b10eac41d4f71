"""Measuring one entry: ns per call, allocated bytes per call, bytes per object.

Timing (like ``timeit``): build the callable, check its first result, warm up, pick a
loop count so one repeat lasts about ``target_ms``, then time ``repeat`` loops with
``time.perf_counter_ns`` around the whole loop; report the median ns per call (and the
minimum). The repeats of a case's entries are interleaved (see ``_time_group_sync``).
The garbage collector is off during a timed loop and run between cases. Async entries
run inside one event loop per case and runner (``asyncio.run`` or ``trio.run``), timing
``await fn()`` per iteration; the loop's own cost is in every row, bare included.

Allocation and size measurements are in ``_memory``.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.lowlevel

from ._harness import Case, Entry, Unavailable
from ._memory import alloc_per_call, asize_per_object, size_per_object

_ns = time.perf_counter_ns


@dataclass
class Config:
    """How hard to measure."""

    repeat: int = 15
    target_ms: float = 15.0  # length of one timed repeat
    warmup: int = 200  # calls before calibration
    max_number: int = 2_000_000
    alloc_calls: int = 400
    size_objects: int = 50
    smoke: bool = False

    @classmethod
    def for_smoke(cls) -> Config:
        """A run that only checks every entry builds, answers, and can be timed."""
        return cls(repeat=1, target_ms=0.0, warmup=1, max_number=2, alloc_calls=3, size_objects=2, smoke=True)


@dataclass
class Measurement:
    """The result of one entry (status "ok", "n/a" or "error")."""

    case: str
    library: str
    runner: str
    status: str = "ok"
    reason: str = ""
    ns: float | None = None
    samples: list[float] = field(default_factory=list)
    number: int = 0
    alloc_peak: float | None = None
    alloc_retained: float | None = None
    size: float | None = None
    note: str | None = None

    @property
    def best(self) -> float | None:
        """The fastest repeat's ns per call (the least disturbed by other processes)."""
        return min(self.samples) if self.samples else None


class CheckFailed(AssertionError):
    """The benchmarked callable did not give the expected answer."""


def _check(result: Any, expect: Any, label: str) -> None:
    ok = expect(result) if callable(expect) else result == expect
    if not ok:
        raise CheckFailed(f"{label}: first call returned {result!r}, expected {expect!r}")


# -- timing, interleaved ---------------------------------------------------------
#
# The entries of one case (per runner) are built, checked, warmed up and calibrated one
# by one, then timed round-robin: repeat r of every entry before repeat r+1 of any. A
# burst of load from another process then hits every row of the case alike, which keeps
# the ratios honest on a shared machine.


@dataclass
class _Live:
    entry: Entry
    m: Measurement
    fn: Any = None
    number: int = 0


def _fail(live: _Live, exc: BaseException) -> None:
    if isinstance(exc, Unavailable):
        live.m.status, live.m.reason = "n/a", str(exc)
        return
    live.m.status = "error"
    live.m.reason = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, CheckFailed):
        live.m.reason += "\n" + "".join(traceback.format_exception(exc)[-3:])


def _loop_sync(fn: Callable[[], Any], number: int) -> int:
    it = range(number)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = _ns()
        for _ in it:
            fn()
        return _ns() - start
    finally:
        if gc_was:
            gc.enable()


async def _loop_async(fn: Callable[[], Any], number: int) -> int:
    # A benchmarked coroutine returns without suspending, so the event loop runs no
    # iteration inside the loop; the checkpoint after it lets the loop do its
    # housekeeping (dropping the timers that timeouts scheduled and cancelled) between
    # repeats, as it would between the calls of a real program.
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = _ns()
        for _ in range(number):
            await fn()
        return _ns() - start
    finally:
        if gc_was:
            gc.enable()
        await anyio.lowlevel.checkpoint()


def _next_number(number: int, elapsed: int, cfg: Config) -> int | None:
    """None while calibrating (try ``number * 10``), else the loop count to use."""
    target = cfg.target_ms * 1e6
    if elapsed >= target / 10 or number >= cfg.max_number:
        return max(1, min(cfg.max_number, int(number * target / max(elapsed, 1))))
    return None


def _time_group_sync(lives: list[_Live], case: Case, cfg: Config) -> None:
    ready: list[_Live] = []
    for live in lives:
        try:
            live.fn = live.entry.factory()
            _check(live.fn(), case.expect, live.entry.label)
            _loop_sync(live.fn, cfg.warmup)
            number, chosen = 1, None if not cfg.smoke else cfg.max_number
            while chosen is None:
                chosen = _next_number(number, _loop_sync(live.fn, number), cfg)
                number *= 10
            live.number = chosen
            ready.append(live)
        except Exception as exc:
            _fail(live, exc)
    for _ in range(cfg.repeat):
        for live in list(ready):
            try:
                live.m.samples.append(_loop_sync(live.fn, live.number) / live.number)
            except Exception as exc:
                _fail(live, exc)
                ready.remove(live)
    if case.measure == "time+alloc":
        for live in ready:
            try:
                live.m.alloc_peak, live.m.alloc_retained = alloc_per_call(live.fn, cfg.alloc_calls)
            except Exception as exc:
                _fail(live, exc)


async def _time_group_async(lives: list[_Live], case: Case, cfg: Config) -> None:
    ready: list[_Live] = []
    for live in lives:
        try:
            built = live.entry.factory()
            live.fn = (await built) if inspect.isawaitable(built) else built
            if case.measure == "size":
                live.m.size = await asize_per_object(live.fn, cfg.size_objects)
                continue
            _check(await live.fn(), case.expect, live.entry.label)
            await _loop_async(live.fn, cfg.warmup)
            number, chosen = 1, None if not cfg.smoke else cfg.max_number
            while chosen is None:
                chosen = _next_number(number, await _loop_async(live.fn, number), cfg)
                number *= 10
            live.number = chosen
            ready.append(live)
        except Exception as exc:
            _fail(live, exc)
    for _ in range(cfg.repeat):
        for live in list(ready):
            try:
                live.m.samples.append(await _loop_async(live.fn, live.number) / live.number)
            except Exception as exc:
                _fail(live, exc)
                ready.remove(live)


# -- entry point -----------------------------------------------------------------


def run_case(case: Case, cfg: Config) -> list[Measurement]:
    """Measure every entry of a case; never raises for a library's failure (the status says it)."""
    lives = [_Live(e, Measurement(case.name, e.label, e.runner, note=e.note)) for e in case.entries]
    for runner in ("sync", "asyncio", "trio"):
        group = [live for live in lives if live.entry.runner == runner]
        if not group:
            continue
        try:
            if runner == "sync" and case.measure == "size":
                for live in group:
                    try:
                        live.m.size = size_per_object(live.entry.factory(), cfg.size_objects)
                    except Exception as exc:
                        _fail(live, exc)
            elif runner == "sync":
                _time_group_sync(group, case, cfg)
            elif runner == "asyncio":
                asyncio.run(_time_group_async(group, case, cfg))
            else:
                import trio

                trio.run(_time_group_async, group, case, cfg)
        except Exception as exc:  # the event loop itself failed: every unfinished entry fails
            for live in group:
                if live.m.status == "ok" and not live.m.samples and live.m.size is None:
                    _fail(live, exc)
        finally:
            gc.collect()
    for live in lives:
        if live.m.samples:
            live.m.ns = statistics.median(live.m.samples)
            live.m.number = live.number
    return [live.m for live in lives]
