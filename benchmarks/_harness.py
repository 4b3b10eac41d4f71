"""The benchmark model: cases, entries (one library's way to run a case) and helpers.

A *case* is one scenario (``retry_success_sync``, ``breaker_open_async``, ...); each
case module under ``benchmarks/cases/`` registers, per library, a factory that builds
the callable to time. The factory runs once, before timing:

- ``runner="sync"``: the factory returns a zero-argument callable; the harness times
  ``fn()`` in a plain loop.
- ``runner="asyncio"`` / ``"trio"``: the factory is called *inside* the event loop (so
  loop-bound objects, hyx's timeout for one, can be built) and returns a zero-argument
  coroutine function; the harness times ``await fn()`` in a loop in that one event loop.
  The factory may itself be a coroutine function (to open a breaker by failing calls).
- ``measure="size"``: the factory returns ``make()`` (sync or async) that builds and
  exercises one object; the harness reports the bytes each extra object keeps alive.

A factory that cannot express the case raises :class:`Unavailable` with the reason; the
reason becomes a footnote and the cell reads "n/a". A resiliency name that does not exist
yet (a strategy still being built) is reported the same way through :func:`need`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import resiliency

Runner = Literal["sync", "asyncio", "trio"]
Measure = Literal["time", "time+alloc", "size"]
ErrorTypes = type[BaseException] | tuple[type[BaseException], ...]

RESILIENCY = "resiliency"
ANSWER = 42  # what every benchmarked function returns; checked on the first call
REJECTED = "rejected"  # what a rejection case's callable returns once it caught the error


class Unavailable(Exception):
    """A library cannot express this case (the message says why)."""


@dataclass
class Target:
    """A goal from the performance issue: ``metric <= limit``.

    ``metric`` is "ns" (total ns per call, the bare call included), "overhead"
    (ns per call minus the bare call of the same runner) or "bytes".
    """

    limit: float
    metric: Literal["ns", "overhead", "bytes"] = "ns"

    def label(self) -> str:
        """Human form, e.g. ``<= 200 ns`` or ``<= 3,000 ns overhead``."""
        unit = {"ns": "ns", "overhead": "ns overhead", "bytes": "B"}[self.metric]
        return f"<= {self.limit:,.0f} {unit}"


@dataclass
class Entry:
    """One library's implementation of a case."""

    library: str
    factory: Callable[[], Any]
    runner: Runner = "sync"
    note: str | None = None  # a footnote shown even when the entry runs

    @property
    def label(self) -> str:
        """The row label: the library, with the event loop when it is not asyncio."""
        return f"{self.library} [trio]" if self.runner == "trio" else self.library


@dataclass
class Case:
    """One scenario and the libraries that run it."""

    name: str
    title: str
    description: str
    measure: Measure = "time"
    target: Target | None = None
    expect: Any = ANSWER  # the first call's answer, or a predicate on it
    entries: list[Entry] = field(default_factory=list)

    def add(self, library: str, runner: Runner = "sync", note: str | None = None) -> Callable[[Any], Any]:
        """Decorator registering ``factory`` as ``library``'s way to run this case."""

        def register(factory: Callable[[], Any]) -> Callable[[], Any]:
            self.entries.append(Entry(library, factory, runner, note))
            return factory

        return register

    def missing(self, library: str, reason: str, runner: Runner = "sync") -> None:
        """Record that ``library`` cannot express this case, and why."""

        def factory() -> Any:
            raise Unavailable(reason)

        self.entries.append(Entry(library, factory, runner))

    @property
    def is_async(self) -> bool:
        """Whether the case times coroutines (its entries run in an event loop)."""
        return any(e.runner != "sync" for e in self.entries)


CASES: list[Case] = []


def case(
    name: str,
    title: str,
    description: str,
    *,
    measure: Measure = "time",
    target: Target | None = None,
    expect: Any = ANSWER,
) -> Case:
    """Create and register a case (in module import order, which is report order)."""
    if any(c.name == name for c in CASES):
        raise ValueError(f"duplicate case name {name!r}")
    new = Case(name, title, description, measure, target, expect)
    CASES.append(new)
    return new


def select(patterns: list[str] | None) -> list[Case]:
    """The registered cases matching any of ``patterns`` (glob, or substring without wildcard)."""
    if not patterns:
        return list(CASES)

    def hit(name: str) -> bool:
        for pattern in patterns:
            if any(ch in pattern for ch in "*?["):
                if fnmatch.fnmatchcase(name, pattern):
                    return True
            elif pattern in name:
                return True
        return False

    return [c for c in CASES if hit(c.name)]


# -- helpers for case modules -------------------------------------------------------


def need(name: str) -> Any:
    """Return ``resiliency.<name>``, or raise :class:`Unavailable` if it does not exist yet."""
    obj = getattr(resiliency, name, None)
    if obj is None:
        raise Unavailable(f"`resiliency.{name}` is not available yet (not exported at run time)")
    return obj


def answer() -> int:
    """The bare sync function every case protects."""
    return ANSWER


async def aanswer() -> int:
    """The bare async function every case protects."""
    return ANSWER


class Flaky(Exception):
    """The error a failing attempt raises (a fresh instance each time)."""


def fail_fail_succeed() -> Callable[[], int]:
    """A function failing on attempts 1 and 2 of every 3, succeeding on the 3rd."""
    count = [0]

    def fn() -> int:
        count[0] += 1
        if count[0] % 3:
            raise Flaky
        return ANSWER

    return fn


def afail_fail_succeed() -> Callable[[], Any]:
    """Async form of :func:`fail_fail_succeed`."""
    count = [0]

    async def fn() -> int:
        count[0] += 1
        if count[0] % 3:
            raise Flaky
        return ANSWER

    return fn


def switchable() -> tuple[Callable[[], int], list[bool]]:
    """A function that raises :class:`Flaky` while ``flag[0]`` is true (to trip breakers)."""
    flag = [False]

    def fn() -> int:
        if flag[0]:
            raise Flaky
        return ANSWER

    return fn, flag


def aswitchable() -> tuple[Callable[[], Any], list[bool]]:
    """Async form of :func:`switchable`."""
    flag = [False]

    async def fn() -> int:
        if flag[0]:
            raise Flaky
        return ANSWER

    return fn, flag


def rejecting(fn: Callable[[], Any], error: ErrorTypes) -> Callable[[], Any]:
    """Wrap ``fn`` so a rejection ``error`` returns :data:`REJECTED` (anything else propagates)."""

    def call() -> Any:
        try:
            return fn()
        except error:
            return REJECTED

    return call


def arejecting(fn: Callable[[], Any], error: ErrorTypes) -> Callable[[], Any]:
    """Async form of :func:`rejecting`."""

    async def call() -> Any:
        try:
            return await fn()
        except error:
            return REJECTED

    return call


def trip_sync(fn: Callable[[], Any], flag: list[bool], times: int) -> None:
    """Make ``times`` failing calls through ``fn`` (a breaker-protected switchable)."""
    flag[0] = True
    for _ in range(times):
        try:
            fn()
        except Exception:
            pass
    flag[0] = False


async def trip_async(fn: Callable[[], Any], flag: list[bool], times: int) -> None:
    """Async form of :func:`trip_sync`."""
    flag[0] = True
    for _ in range(times):
        try:
            await fn()
        except Exception:
            pass
    flag[0] = False
