"""``FaultyProvider``: a callable or an object whose calls suffer injected faults.

The faults decide (``_faults.py``); the two thin drivers here carry the decisions out,
``_call_sync`` with ``clock.sleep`` and ``_call_async`` with ``await clock.asleep``.
"""

from __future__ import annotations

import functools
import math
import threading
import types
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from .._clock import get_clock
from .._decorators import is_async_callable
from .._validate import message
from ._faults import Fault, Hang, Raise, Return, Sleep

if TYPE_CHECKING:
    from .._failover import CallableProvider

__all__ = ["FaultyProvider"]


class _Counts:
    __slots__ = ("calls", "failures", "injected", "lock", "reached", "successes")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = self.reached = self.successes = self.failures = self.injected = 0


class FaultyProvider:
    """Wrap a callable, or an object's methods, so that calls suffer ``faults`` first.

    A callable target (sync or async function, bound method, callable object) gives a
    callable of the same kind: ``inspect.signature``, ``__name__`` and async-ness carry
    over, so strategies and ``provider_from_callable`` take it like the original. Any
    other object gives a proxy whose public methods (or the ones named in ``methods``)
    carry the faults; other attributes pass through. Faults run in order on each call
    (see ``faults``); latency and hangs sleep on the fault's clock, or the process
    clock read at call time, so a ``FakeClock`` makes them virtual.

    Args:
        target: the callable or object to wrap.
        *faults: ``Fault`` objects from the ``faults`` factories, applied in order.
        name: the provider's name (default: the target's ``__name__``, else its type's).
        methods: the method names that carry the faults (default: none for a callable
            target, every public method for another object).

    Raises:
        TypeError: a fault is not a ``Fault``, or ``methods`` is a str.
    """

    def __new__(
        cls, target: Any, *faults: Fault, name: str | None = None, methods: Collection[str] | None = None
    ) -> Any:
        """Pick the async variant for an async callable target."""
        variant = _AsyncFaultyProvider if cls is FaultyProvider and is_async_callable(target) else cls
        return object.__new__(variant)

    def __init__(
        self,
        target: Any,
        *faults: Fault,
        name: str | None = None,
        methods: Collection[str] | None = None,
    ) -> None:
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(message("faults", "Fault objects from resiliency.testing.faults", fault))
        if isinstance(methods, str):
            raise TypeError(message("methods", "a collection of method names", methods))
        self._target = target
        self.faults: tuple[Fault, ...] = faults
        self.name: str = name or getattr(target, "__name__", None) or type(target).__name__
        self._callable = callable(target)
        self._methods = None if methods is None else frozenset(methods)
        self._counts = _Counts()
        self._function: Callable[..., Any] | None = None
        if self._callable:
            functools.update_wrapper(self, target, updated=())

    # -- counters ---------------------------------------------------------------------

    @property
    def target(self) -> Any:
        """The wrapped callable or object."""
        return self._target

    @property
    def calls(self) -> int:
        """Calls made, whatever became of them."""
        return self._counts.calls

    @property
    def reached(self) -> int:
        """Calls that got through the faults to the target."""
        return self._counts.reached

    @property
    def successes(self) -> int:
        """Calls that returned (an injected bad result included)."""
        return self._counts.successes

    @property
    def failures(self) -> int:
        """Calls that raised an ``Exception``, injected or the target's own."""
        return self._counts.failures

    @property
    def injected(self) -> int:
        """Calls that an injected fault made fail."""
        return self._counts.injected

    def reset(self) -> None:
        """Set the counters to zero and reset every fault (its call count, its seed)."""
        with self._counts.lock:
            counts = self._counts
            counts.calls = counts.reached = counts.successes = counts.failures = counts.injected = 0
        for fault in self.faults:
            fault.reset()

    def _count(self, field: str) -> None:
        counts = self._counts
        with counts.lock:
            setattr(counts, field, getattr(counts, field) + 1)

    # -- the drivers --------------------------------------------------------------------

    def _fail(self, action: Raise) -> BaseException:
        with self._counts.lock:
            self._counts.injected += 1
            self._counts.failures += 1
        return action.error

    def _call_sync(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._count("calls")
        for fault in self.faults:
            action = fault.plan()
            if action is None:
                continue
            if type(action) is Sleep:
                (action.clock or get_clock()).sleep(action.seconds)
            elif type(action) is Raise:
                raise self._fail(action)
            elif type(action) is Return:
                self._count("successes")
                return action.value
            elif type(action) is Hang:
                action.fault.released.wait()
        self._count("reached")
        try:
            result = fn(*args, **kwargs)
        except Exception:
            self._count("failures")
            raise
        self._count("successes")
        return result

    async def _call_async(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._count("calls")
        for fault in self.faults:
            action = fault.plan()
            if action is None:
                continue
            if type(action) is Sleep:
                await (action.clock or get_clock()).asleep(action.seconds)
            elif type(action) is Raise:
                raise self._fail(action)
            elif type(action) is Return:
                self._count("successes")
                return action.value
            elif type(action) is Hang:
                await (action.fault.clock or get_clock()).asleep(math.inf)
        self._count("reached")
        try:
            result = await fn(*args, **kwargs)
        except Exception:
            self._count("failures")
            raise
        self._count("successes")
        return result

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A plain function calling ``fn`` through the faults (async when ``fn`` is)."""
        if is_async_callable(fn):

            async def call_async(*args: Any, **kwargs: Any) -> Any:
                return await self._call_async(fn, args, kwargs)

            wrapper: Callable[..., Any] = call_async
        else:

            def call_sync(*args: Any, **kwargs: Any) -> Any:
                return self._call_sync(fn, args, kwargs)

            wrapper = call_sync
        try:
            return functools.wraps(fn)(wrapper)
        except AttributeError:  # pragma: no cover - an exotic callable without a __dict__
            return wrapper

    # -- the callable ------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the target through the faults."""
        return self._call_sync(self._target, args, kwargs)

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        """Bind like a function, so a fault decorator works on a method."""
        if obj is None or not self._callable:
            return self
        if self._function is None:
            self._function = self._wrap(self._target)
        return types.MethodType(self._function, obj)

    def __getattr__(self, name: str) -> Any:
        """Pass attributes through to the target; a faulted method gets the faults."""
        if name.startswith("__") or name in {"_target", "_methods", "_callable"}:
            raise AttributeError(name)
        value = getattr(self._target, name)
        if self._methods is None:
            faulted = not self._callable and not name.startswith("_")
        else:
            faulted = name in self._methods
        return self._wrap(value) if faulted and callable(value) else value

    def as_provider(self, op: str = "default", *, priority: int = 0) -> CallableProvider:
        """Return ``provider_from_callable(self.name, self, op, priority=priority)`` for a group.

        Raises:
            TypeError: the target is not callable (wrap the callable, or a provider's client).
        """
        if not self._callable:
            raise TypeError(f"as_provider() needs a callable target (got {self._target!r})")
        from .._failover import provider_from_callable

        return provider_from_callable(self.name, self, op, priority=priority)

    def __repr__(self) -> str:
        counts = f"calls={self.calls} failures={self.failures}"
        return f"<FaultyProvider {self.name!r} {counts} faults={list(self.faults)!r}>"


class _AsyncFaultyProvider(FaultyProvider):
    """The variant for an async callable target: calling it gives a coroutine."""

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the target through the faults."""
        return await self._call_async(self._target, args, kwargs)
