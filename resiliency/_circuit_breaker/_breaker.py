"""``CircuitBreaker``: the breaker's runtime around ``BreakerCore`` (the decorator is in ``_decorator``).

The decisions (admit, record, release, the transitions) are ``BreakerCore``'s; this
module reads the clock, classifies outcomes and builds the two layers. A
``CircuitBreaker`` *is* its core (a subclass, not a wrapper around one): one object per
breaker keeps a consecutive-failures breaker under 300 bytes.

Per call, on the closed path of a consecutive-failures breaker: one state read, the
call, one lock-free success count; no clock read, no allocation, no event unless a
listener is subscribed. The clock is read when the breaker is not closed, when a call
fails, when a window needs the time, and around every call in slow-call mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from typing_extensions import Unpack

from .._clock import Clock, get_clock
from .._decorators import Target, apply_strategy
from .._engine import AsyncLayer, Strategy, SyncLayer, async_leaf, drive_async, drive_sync, sync_leaf
from .._errors import CircuitOpenError
from .._events import CallIgnored, CallRecorded, CallRejected, CircuitStateChanged
from .._outcome import Failure
from .._registry import Registry, default_registry
from .._store import Store, check_store, shared_store
from .._validate import message
from ._decorator import CircuitBreakerFields, check_name, resolve_policy
from ._metrics import _CLOSED, CircuitBreakerMetrics, CircuitState, metrics_from
from ._policy import CircuitBreakerPolicy
from ._state import BreakerCore, Transition

__all__ = ["CircuitBreaker"]

T = TypeVar("T")
_NAMED, _CRITICAL = 1, 2  # the bits of CircuitBreaker._flags


class CircuitBreaker(BreakerCore, Strategy):
    """A circuit breaker: a decorator, a strategy, and the state shared by its call sites.

    Closed, calls run and their outcomes are counted; when a trip condition of the
    policy holds it opens and rejects calls with ``CircuitOpenError`` (``.breaker``,
    ``.retry_after``) without running them; ``reset_timeout`` seconds later it lets up
    to ``half_open_max_calls`` probes through: ``success_threshold`` successes close it,
    a failure opens it again. The transitions and defaults are in
    ``CircuitBreakerPolicy``. An exception matching ``failure_on`` (and not
    ``ignore_on``) is a failure; an ignored one, or a cancelled call, counts for
    nothing; any other outcome is a success. In slow-call mode each call is timed
    through the clock.

    Thread-safe and safe on asyncio and trio; no lock is held while the protected call
    runs. One breaker may decorate many callables (``@breaker`` or ``breaker(fn)``),
    which then share its state. A named breaker is recorded in its registry
    (``registry.breaker(name)``); an unnamed one is private.

    Args:
        name: registry name (None: private, unregistered).
        policy: a ``CircuitBreakerPolicy`` (default: the policy defaults).
        clock: the ``Clock`` read for time (default: the process clock, read per call).
        registry: where a named breaker is recorded and events go (default
            ``resiliency.registry``).
        critical: whether the service cannot work while this breaker is open: an open
            critical breaker makes ``registry.health()`` "unhealthy", any other open
            breaker only "degraded" (default False).
        store: shares the breaker's state and counts with every process on the store
            (``resiliency.stores``; default: the registry's ``store`` for a named
            breaker, else local state). A shared breaker needs a name.
        **fields: ``CircuitBreakerPolicy`` fields; beside ``policy=`` they override it.

    Raises:
        TypeError, ValueError: a bad field, name, clock, registry or critical (the
            message names it); ``ValueError`` also when another breaker already has
            ``name``.
    """

    # Two flags share one slot (a breaker is kept under 300 bytes): whether it is named
    # in the registry, and whether it is critical.
    __slots__ = ("_clock", "_flags", "label", "last_failure", "registry")
    kind = "circuit_breaker"

    def __new__(cls, name: str | None = None, *, store: Any = None, registry: Registry | None = None, **_: Any) -> Any:
        # A breaker on a shared store is a SharedCircuitBreaker (same decisions, synced).
        table = registry if isinstance(registry, Registry) else default_registry
        target = cls
        if cls is CircuitBreaker and (store if store is not None else table.store if name else None) is not None:
            from ._shared import SharedCircuitBreaker

            if shared_store(check_store(store), table, name is not None) is not None:
                target = SharedCircuitBreaker
        return super().__new__(target)

    def __init__(
        self,
        name: str | None = None,
        *,
        policy: CircuitBreakerPolicy | None = None,
        clock: Clock | None = None,
        registry: Registry | None = None,
        critical: bool = False,
        store: Store | None = None,
        **fields: Unpack[CircuitBreakerFields],
    ) -> None:
        checked = check_name(name)
        if not isinstance(critical, bool):
            raise TypeError(message("critical", "a bool", critical))
        resolved, _ = resolve_policy(policy, fields)
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(message("clock", "a Clock with monotonic(), sleep() and asleep()", clock))
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        BreakerCore.__init__(self, resolved)
        self._flags = (_NAMED if checked is not None else 0) | (_CRITICAL if critical else 0)
        self.last_failure: BaseException | None = None
        self.label = checked
        self._clock = clock
        self.registry = registry if registry is not None else default_registry
        if checked is not None:
            self.registry.add("breaker", checked, self, resolved)
        shared = shared_store(check_store(store), self.registry, checked is not None)
        if shared is not None:
            self._share(shared)

    def _share(self, store: Store) -> None:
        """Share state through ``store`` (``SharedCircuitBreaker`` does; see ``_shared``)."""
        raise TypeError(f"{type(self).__name__} cannot share its state through a store (got store={store!r})")

    # -- the public face -------------------------------------------------------------

    @property
    def name(self) -> str | None:
        """The registry name, or None for a private breaker."""
        return self.label if self._flags & _NAMED else None

    @property
    def critical(self) -> bool:
        """Whether ``registry.health()`` is "unhealthy" while this breaker is open."""
        return bool(self._flags & _CRITICAL)

    @property
    def policy(self) -> CircuitBreakerPolicy:
        """The ``CircuitBreakerPolicy`` this breaker applies."""
        return self._policy

    def _now(self) -> float:
        return (self._clock or get_clock()).monotonic()

    @property
    def state(self) -> CircuitState:
        """The state a call would meet now: ``HALF_OPEN`` once an open breaker's ``reset_timeout`` passed."""
        if self._state is _CLOSED:
            return _CLOSED
        return self.state_at(self._now())

    @property
    def retry_after(self) -> float:
        """Seconds until a probe may go through: 0.0 unless open, ``inf`` when forced open."""
        return self.metrics().retry_after

    def metrics(self) -> CircuitBreakerMetrics:
        """Return a snapshot of the counters and rates (see ``CircuitBreakerMetrics``)."""
        return metrics_from(self.snapshot(self._now()), self._window is not None)

    def force_open(self, now: float | None = None) -> None:
        """Open the breaker and hold it open, rejecting every call, until ``reset()``.

        Args:
            now: monotonic seconds of the change (default: read from the clock).
        """
        BreakerCore.force_open(self, self._now() if now is None else now)

    def reset(self, now: float | None = None) -> None:
        """Close the breaker and clear every counter, as if it were new.

        Args:
            now: monotonic seconds of the change (default: read from the clock).
        """
        BreakerCore.reset(self, self._now() if now is None else now)
        self.last_failure = None

    # -- one-off calls (pybreaker's ``call`` and ``calling``) ----------------------------

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call ``fn(*args, **kwargs)`` through this breaker; return its value or raise.

        Raises:
            CircuitOpenError: the breaker refused the call.
            Exception: ``fn``'s own exception, unchanged.
        """
        result: T = drive_sync(self.sync_layer(sync_leaf(fn)), args, kwargs)
        return result

    async def acall(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` through this breaker; return its value or raise."""
        result: T = await drive_async(self.async_layer(async_leaf(fn)), args, kwargs)
        return result

    def calling(self) -> _Calling:
        """Guard a block: ``with breaker.calling(): ...`` (or ``async with``).

        Entering asks the breaker (raising ``CircuitOpenError`` when it refuses); leaving
        records the block's outcome: an exception the policy counts is a failure, a
        cancellation is released, anything else is a success.
        """
        return _Calling(self)

    def _enter_block(self) -> tuple[float, float]:
        """Admit a ``calling()`` block: return (probe ticket, start time) or raise ``CircuitOpenError``.

        The ticket is 0.0 for a closed-state call, else the half-open round's (negative).
        """
        timed = self._policy.slow_call_duration is not None
        if self._state is _CLOSED:
            return 0.0, self._now() if timed else 0.0
        verdict = self.admit(0.0 if self._forced else self._now())
        if verdict is not None and verdict >= 0.0:
            if self.registry.listeners:
                self.registry.emit(CallRejected(self.name, verdict))
            raise CircuitOpenError(self, verdict)
        return 0.0 if verdict is None else verdict, self._now() if timed else 0.0

    def _exit_block(self, probe: float, start: float, error: BaseException | None) -> None:
        if error is not None and not isinstance(error, Exception):
            self.release(probe)  # cancelled or interrupted: counts for nothing
            return
        outcome = Failure(error) if error is not None else None
        if self._policy.slow_call_duration is not None:
            end = self._now()
            self._settle(outcome, probe, end, end - start)
        else:
            self._settle(outcome, probe, None, 0.0)

    def __call__(self, fn: Target, /) -> Target:
        """Decorate ``fn`` (sync or async function, method, classmethod, ...) with this breaker."""
        result: Target = apply_strategy(fn, self)
        return result

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<CircuitBreaker{label} state={self._state.value} policy={self._policy!r}>"

    # -- events ----------------------------------------------------------------------

    def _notify(self, transition: Transition) -> None:
        BreakerCore._notify(self, transition)
        if self.registry.listeners:
            self.registry.emit(CircuitStateChanged(self.label, *transition))

    def _settle(self, outcome: Any, probe: float, now: float | None, duration: float) -> None:
        """Record (or release) the outcome of an admitted call; ``now`` None: read the clock.

        ``probe``: the probe's ticket from ``admit`` (negative), 0.0 for a closed-state call.
        """
        failed = False
        error = None
        if type(outcome) is Failure:
            error = outcome.error
            if self._policy.is_ignored(error):
                self.release(probe)
                if self.registry.listeners:
                    self.registry.emit(CallIgnored(self.label, error))
                return
            failed = self._policy.is_failure(error)
        self._count(failed, probe, now, duration, error)

    async def _asettle(self, outcome: Any, probe: float, now: float | None, duration: float) -> None:
        """``_settle`` for a policy with an ``async def`` filter, which is awaited."""
        failed: bool | None = False
        error = None
        if type(outcome) is Failure:
            error = outcome.error
            failed = await self._policy._aclassify(error)
            if failed is None:
                self.release(probe)
                return
        self._count(bool(failed), probe, now, duration, error)

    def _count(
        self, failed: bool, probe: float, now: float | None, duration: float, error: BaseException | None
    ) -> None:
        if failed:
            self.last_failure = error
        self.record(self._now() if now is None else now, failed, duration, probe)
        if self.registry.listeners:
            limit = self._policy.slow_call_duration
            slow = limit is not None and duration >= limit
            self.registry.emit(CallRecorded(self.label, not failed, duration, slow, error))

    # -- layers ----------------------------------------------------------------------
    #
    # The closed state of a lean breaker (no window, no slow-call mode) is the hot path:
    # call, then count a success the way BreakerCore.record's lock-free path does
    # (inlined: the method call was a sixth of the layer's cost). Every other admitted
    # call goes through ``run``: time it if needed, release it if it is cancelled,
    # settle its outcome.

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Admit, run ``inner``, record its outcome; a rejection is a ``Failure``.

        Raises:
            TypeError: an ``async def`` ``failure_on`` or ``ignore_on`` on a sync callable.
        """
        for param in self._policy._async_filters():
            predicate = getattr(self._policy, param)
            raise TypeError(f"{param} must be a plain function for a sync callable (got async {predicate!r})")
        timed = self._policy.slow_call_duration is not None
        lean = not timed and self._window is None
        admit, release, settle, clock = self.admit, self.release, self._settle, self._clock
        failure, error, registry = Failure, CircuitOpenError, self.registry
        success: list[CallRecorded] = []  # immutable, so made once (with the first listener), not per call

        def run(args: tuple[Any, ...], kwargs: dict[str, Any], probe: float) -> Any:
            if timed:
                read = (clock or get_clock()).monotonic
                start = read()
            try:
                outcome = inner(args, kwargs)
            except BaseException:
                release(probe)  # a cancelled or interrupted probe frees its slot
                raise
            if timed:
                end = read()
                settle(outcome, probe, end, end - start)
            else:
                settle(outcome, probe, None, 0.0)
            return outcome

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if self._state is _CLOSED:
                if not lean:
                    return run(args, kwargs, 0.0)
                outcome = inner(args, kwargs)
                if type(outcome) is not failure and self._state is _CLOSED:
                    self._consecutive_failures = 0
                    next(self._fast_successes)
                    if registry.listeners:
                        if not success:
                            success.append(CallRecorded(self.label, True, 0.0))
                        registry.emit(success[0])
                    return outcome
                settle(outcome, 0.0, None, 0.0)
                return outcome
            # Held open, the answer does not depend on the time: no clock read.
            verdict = admit(0.0 if self._forced else (clock or get_clock()).monotonic())
            if verdict is None or verdict < 0.0:
                return run(args, kwargs, 0.0 if verdict is None else verdict)  # a probe's ticket
            if registry.listeners:
                registry.emit(CallRejected(self.label, verdict))
            return failure(error(self, verdict))  # a fresh error each time; inf: forced open

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form of ``sync_layer``; a cancelled call is released, not recorded.

        An ``async def`` ``failure_on`` or ``ignore_on`` is awaited to classify a failure.
        """
        timed = self._policy.slow_call_duration is not None
        awaits = bool(self._policy._async_filters())
        lean = not timed and self._window is None and not awaits
        admit, release, settle, clock = self.admit, self.release, self._settle, self._clock
        asettle = self._asettle
        failure, error, registry = Failure, CircuitOpenError, self.registry
        success: list[CallRecorded] = []  # immutable, so made once (with the first listener), not per call

        async def run(args: tuple[Any, ...], kwargs: dict[str, Any], probe: float) -> Any:
            if timed:
                read = (clock or get_clock()).monotonic
                start = read()
            try:
                outcome = await inner(args, kwargs)
            except BaseException:
                release(probe)  # a cancelled probe frees its slot
                raise
            now, duration = None, 0.0
            if timed:
                now = read()
                duration = now - start
            if awaits:
                await asettle(outcome, probe, now, duration)
            else:
                settle(outcome, probe, now, duration)
            return outcome

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if self._state is _CLOSED:
                if not lean:
                    return await run(args, kwargs, 0.0)
                outcome = await inner(args, kwargs)
                if type(outcome) is not failure and self._state is _CLOSED:
                    self._consecutive_failures = 0
                    next(self._fast_successes)
                    if registry.listeners:
                        if not success:
                            success.append(CallRecorded(self.label, True, 0.0))
                        registry.emit(success[0])
                    return outcome
                settle(outcome, 0.0, None, 0.0)
                return outcome
            verdict = admit(0.0 if self._forced else (clock or get_clock()).monotonic())
            if verdict is None or verdict < 0.0:
                return await run(args, kwargs, 0.0 if verdict is None else verdict)
            if registry.listeners:
                registry.emit(CallRejected(self.label, verdict))
            return failure(error(self, verdict))  # a fresh error each time; inf: forced open

        return layer


class _Calling:
    """The context manager of ``CircuitBreaker.calling()``, for ``with`` and ``async with``."""

    __slots__ = ("_breaker", "_probe", "_start")

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker
        self._probe = 0.0
        self._start = 0.0

    def __enter__(self) -> _Calling:
        self._probe, self._start = self._breaker._enter_block()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._breaker._exit_block(self._probe, self._start, error)

    async def __aenter__(self) -> _Calling:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, error, tb)
