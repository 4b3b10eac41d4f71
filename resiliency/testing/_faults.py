"""Injected faults: what goes wrong on a call, decided per call, deterministic.

A fault only decides (pure, no I/O): ``plan()`` returns what this call suffers, or
``None``. ``FaultyProvider`` (``_faulty.py``) carries the decision out, sync or async.
Every fault counts the calls it sees, and ``after`` / ``times`` choose which of them it
hits: calls ``after + 1`` to ``after + times`` (all calls after the first ``after``
when ``times`` is None).
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from .._clock import Clock
from .._validate import check_count, check_duration, check_rate, message

if TYPE_CHECKING:
    from ._faulty import FaultyProvider

__all__ = ["Action", "Fault", "Hang", "Raise", "Return", "Sleep", "faults"]

ErrorSpec: TypeAlias = "BaseException | type[BaseException] | Callable[[], BaseException]"


@dataclass(frozen=True, slots=True)
class Raise:
    """Action: the call raises ``error`` (the target is not called)."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class Sleep:
    """Action: the call first sleeps ``seconds`` on ``clock`` (None: the process clock)."""

    seconds: float
    clock: Clock | None


@dataclass(frozen=True, slots=True)
class Hang:
    """Action: the call waits until cancelled (async) or until ``fault.release()`` (sync)."""

    fault: HangFault


@dataclass(frozen=True, slots=True)
class Return:
    """Action: the call returns ``value`` at once (the target is not called)."""

    value: Any


Action: TypeAlias = Raise | Sleep | Hang | Return


def _error_factory(exc: object) -> Callable[[], BaseException]:
    """Turn ``exc`` into a maker of a fresh exception per raise (a copy of an instance)."""
    if isinstance(exc, type) and issubclass(exc, BaseException):
        exc_type = exc
        return lambda: exc_type("injected fault")
    if isinstance(exc, BaseException):
        instance = exc

        def fresh() -> BaseException:
            try:
                return copy.copy(instance)
            except Exception:  # an exception class that cannot be copied: reuse it
                return instance.with_traceback(None)

        return fresh
    if callable(exc):
        return exc
    raise TypeError(message("exc", "an exception, an exception type or a factory () -> exception", exc))


class Fault:
    """One way a call goes wrong, for ``FaultyProvider`` or as a decorator.

    Made by the ``faults`` factories. A fault keeps state (the calls it saw, its seeded
    random stream), so one fault object on two callables counts their calls together.
    Used as a decorator (``@faults.fail_times(2)``), it wraps the function in a
    ``FaultyProvider`` with this one fault.

    Args:
        after: calls let through untouched before the fault starts (int >= 0).
        times: calls it hits after that (None: every one).
    """

    def __init__(self, *, after: int = 0, times: int | None = None) -> None:
        self.after: int = check_count("after", after, minimum=0)
        self.times: int | None = check_count("times", times, allow_none=True)
        self.seen = 0
        self._lock = threading.Lock()

    def plan(self) -> Action | None:
        """Count one call; return what it suffers (None: nothing)."""
        with self._lock:
            self.seen += 1
            n = self.seen - self.after
            if n <= 0 or (self.times is not None and n > self.times):
                return None
            return self._act()

    def _act(self) -> Action | None:  # called with the lock held
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the calls seen (and restart a seeded random stream)."""
        with self._lock:
            self.seen = 0
            self._restart()

    def _restart(self) -> None:
        pass

    def __call__(self, fn: Callable[..., Any]) -> FaultyProvider:
        """Decorate ``fn``: return ``FaultyProvider(fn, self)``."""
        from ._faulty import FaultyProvider

        return FaultyProvider(fn, self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} after={self.after} times={self.times} seen={self.seen}>"


class FailFault(Fault):
    """Raise a fresh exception on the calls it hits (``fail_times``, ``fail_always``)."""

    def __init__(self, exc: ErrorSpec, *, after: int = 0, times: int | None = None) -> None:
        super().__init__(after=after, times=times)
        self._make = _error_factory(exc)

    def _act(self) -> Action | None:
        return Raise(self._make())


class RateFault(FailFault):
    """Raise on a seeded random ``rate`` of the calls it hits (``fail_rate``)."""

    def __init__(self, rate: float, seed: int | None, exc: ErrorSpec, *, after: int = 0) -> None:
        super().__init__(exc, after=after)
        self.rate: float = check_rate("rate", rate)
        self.seed = seed
        self._random = random.Random(seed)

    def _act(self) -> Action | None:
        return Raise(self._make()) if self._random.random() < self.rate else None

    def _restart(self) -> None:
        self._random = random.Random(self.seed)


class LatencyFault(Fault):
    """Sleep ``seconds`` on the clock before the call goes on (``latency``)."""

    def __init__(
        self, seconds: float | timedelta, clock: Clock | None, *, after: int = 0, times: int | None = None
    ) -> None:
        super().__init__(after=after, times=times)
        self.seconds: float = check_duration("seconds", seconds)
        self.clock = clock

    def _act(self) -> Action:
        return Sleep(self.seconds, self.clock)


class HangFault(Fault):
    """Never answer: async calls wait on the clock until cancelled (``hang``).

    A thread cannot be cancelled, so a sync call waits until ``release()``; then it,
    and every later one, goes on to the target.
    """

    def __init__(self, clock: Clock | None, *, after: int = 0, times: int | None = None) -> None:
        super().__init__(after=after, times=times)
        self.clock = clock
        self.released = threading.Event()

    def _act(self) -> Action:
        return Hang(self)

    def release(self) -> None:
        """Let sync calls that hang (now or later) go on."""
        self.released.set()


class ResultFault(Fault):
    """Return ``value`` instead of calling the target (``bad_result``)."""

    def __init__(self, value: object, *, after: int = 0, times: int | None = None) -> None:
        super().__init__(after=after, times=times)
        self.value = value

    def _act(self) -> Action:
        return Return(self.value)


_DEFAULT_ERROR = ConnectionError("injected fault")


class _Faults:
    """Factories of injected faults, and ``inject()`` to put several on a callable.

    Each factory returns a ``Fault``: pass faults to ``FaultyProvider(target, *faults)``
    or to ``faults.inject(...)``, or use one as a decorator. They apply in the order
    given, on every call: a latency sleeps and goes on; a failure, a hang or a bad
    result ends the list (a failure or a bad result without calling the target).
    ``exc`` is an exception instance (copied for each raise), an exception type
    (instantiated with "injected fault") or a factory; the default is
    ``ConnectionError("injected fault")``.
    """

    @staticmethod
    def fail_times(n: int, exc: ErrorSpec = _DEFAULT_ERROR, *, after: int = 0) -> Fault:
        """Fail ``n`` calls (after the first ``after``), then let calls through.

        Raises:
            TypeError, ValueError: ``n`` is not an int >= 1, or ``exc`` is not an exception.
        """
        return FailFault(exc, after=after, times=check_count("n", n))

    @staticmethod
    def fail_always(exc: ErrorSpec = _DEFAULT_ERROR, *, after: int = 0) -> Fault:
        """Fail every call (after the first ``after``)."""
        return FailFault(exc, after=after)

    @staticmethod
    def fail_rate(rate: float, seed: int | None = 0, exc: ErrorSpec = _DEFAULT_ERROR, *, after: int = 0) -> Fault:
        """Fail each call with probability ``rate`` in (0, 1], from a ``random.Random(seed)`` stream.

        The same seed fails the same calls on every run (``seed=None``: not reproducible).
        """
        return RateFault(rate, seed, exc, after=after)

    @staticmethod
    def latency(
        seconds: float | timedelta, clock: Clock | None = None, *, after: int = 0, times: int | None = None
    ) -> Fault:
        """Sleep ``seconds`` (float or timedelta, >= 0) before each call, on ``clock`` (default: the process clock).

        Under a ``FakeClock`` the sleep is virtual: it advances the clock, and a
        ``@timeout`` on the same clock fires at its own virtual deadline.
        """
        return LatencyFault(seconds, clock, after=after, times=times)

    @staticmethod
    def hang(clock: Clock | None = None, *, after: int = 0, times: int | None = None) -> HangFault:
        """Never answer: an async call sleeps on ``clock`` until cancelled (a timeout, a race lost).

        A sync call blocks its thread until the fault's ``release()``.
        """
        return HangFault(clock, after=after, times=times)

    @staticmethod
    def bad_result(value: object, *, after: int = 0, times: int | None = None) -> Fault:
        """Return ``value`` instead of calling the target (a provider answering garbage)."""
        return ResultFault(value, after=after, times=times)

    @staticmethod
    def inject(*faults: Fault, name: str | None = None) -> Callable[[Callable[..., Any]], FaultyProvider]:
        """Return a decorator putting ``faults`` (in order) on a function: ``FaultyProvider(fn, *faults)``."""
        from ._faulty import FaultyProvider

        def decorate(fn: Callable[..., Any]) -> FaultyProvider:
            return FaultyProvider(fn, *faults, name=name)

        return decorate

    def __repr__(self) -> str:
        return "resiliency.testing.faults"


faults = _Faults()
"""The fault factories: ``fail_times``, ``fail_always``, ``fail_rate``, ``latency``, ``hang``, ``bad_result``.

And ``inject(*faults)``, a decorator applying several.
"""
