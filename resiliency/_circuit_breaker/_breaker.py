"""``CircuitBreaker`` and ``@circuit_breaker``: the breaker's runtime around ``BreakerCore``.

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

import dataclasses
import math
from datetime import timedelta
from typing import Any, TypedDict, TypeVar, overload

from typing_extensions import Unpack

from .._clock import Clock, get_clock
from .._decorators import Decorator, apply_strategy
from .._engine import AsyncLayer, Strategy, SyncLayer
from .._errors import CircuitOpenError
from .._events import CallRecorded, CircuitStateChanged
from .._outcome import Failure
from .._registry import Registry, default_registry
from .._validate import message
from ._metrics import CircuitBreakerMetrics, metrics_from
from ._policy import CircuitBreakerPolicy
from ._state import _CLOSED, BreakerCore, CircuitState, Transition

__all__ = ["CircuitBreaker", "CircuitBreakerFields", "circuit_breaker", "resolve_policy"]

F = TypeVar("F")


class CircuitBreakerFields(TypedDict, total=False):
    """The ``CircuitBreakerPolicy`` fields, as keywords of ``circuit_breaker`` and ``CircuitBreaker``."""

    failure_threshold: int | None
    failure_rate_threshold: float | None
    window_size: int | None
    window_duration: float | timedelta | None
    minimum_calls: int
    slow_call_duration: float | timedelta | None
    slow_call_rate_threshold: float | None
    reset_timeout: float | timedelta
    half_open_max_calls: int
    success_threshold: int
    failure_on: object
    ignore_on: object


# Equal policies are shared: a breaker made from fields keeps no policy of its own, so
# many breakers with the same settings (one per host, per tenant) cost one policy.
_interned: dict[CircuitBreakerPolicy, CircuitBreakerPolicy] = {}
_INTERN_LIMIT = 256


def _intern(policy: CircuitBreakerPolicy) -> CircuitBreakerPolicy:
    try:
        if len(_interned) >= _INTERN_LIMIT:
            _interned.clear()
        return _interned.setdefault(policy, policy)
    except TypeError:  # an unhashable predicate in failure_on / ignore_on
        return policy


def resolve_policy(policy: object, fields: CircuitBreakerFields) -> tuple[CircuitBreakerPolicy, bool]:
    """Return the policy from ``policy=`` and the fields (which override it), and whether any was given.

    Raises:
        TypeError: ``policy`` is not a ``CircuitBreakerPolicy``; an unknown or mistyped field.
        ValueError: a field out of range, or settings that do not fit together.
    """
    if policy is None:
        return _intern(CircuitBreakerPolicy(**fields)), bool(fields)
    if not isinstance(policy, CircuitBreakerPolicy):
        raise TypeError(message("policy", "a CircuitBreakerPolicy", policy))
    if fields:
        return _intern(dataclasses.replace(policy, **fields)), True
    return policy, True


def _check_name(name: object) -> str | None:
    if name is not None and (not isinstance(name, str) or not name):
        raise (TypeError if not isinstance(name, str) else ValueError)(message("name", "a non-empty str", name))
    return name


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
        **fields: ``CircuitBreakerPolicy`` fields; beside ``policy=`` they override it.

    Raises:
        TypeError, ValueError: a bad field, name, clock or registry (the message names
            it); ``ValueError`` also when another breaker already has ``name``.
    """

    __slots__ = ("_clock", "name", "registry")
    kind = "circuit_breaker"

    def __init__(
        self,
        name: str | None = None,
        *,
        policy: CircuitBreakerPolicy | None = None,
        clock: Clock | None = None,
        registry: Registry | None = None,
        **fields: Unpack[CircuitBreakerFields],
    ) -> None:
        checked = _check_name(name)
        resolved, _ = resolve_policy(policy, fields)
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(message("clock", "a Clock with monotonic(), sleep() and asleep()", clock))
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        BreakerCore.__init__(self, resolved)
        self.name = checked
        self._clock = clock
        self.registry = registry if registry is not None else default_registry
        if checked is not None:
            self.registry.add("breaker", checked, self, resolved)

    # -- the public face -------------------------------------------------------------

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

    def __call__(self, fn: F, /) -> F:
        """Decorate ``fn`` (sync or async function, method, classmethod, ...) with this breaker."""
        result: F = apply_strategy(fn, self)
        return result

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<CircuitBreaker{label} state={self._state.value} policy={self._policy!r}>"

    # -- events ----------------------------------------------------------------------

    def _notify(self, transition: Transition) -> None:
        BreakerCore._notify(self, transition)
        if self.registry.listeners:
            self.registry.emit(CircuitStateChanged(self.name, *transition))

    def _reject(self, retry_after: float) -> Failure:
        error = CircuitOpenError(self, retry_after)
        if retry_after == math.inf:
            label = f"circuit {self.name!r}" if self.name else "circuit"
            error.args = (f"{label} is forced open; it rejects every call until reset()",)
        return Failure(error)

    def _settle(self, outcome: Any, probe: bool, now: float | None, duration: float) -> None:
        """Record (or release) the outcome of an admitted call; ``now`` None: read the clock."""
        failed = False
        if type(outcome) is Failure:
            error = outcome.error
            if self._policy.is_ignored(error):
                self.release(probe)
                return
            failed = self._policy.is_failure(error)
        self.record(self._now() if now is None else now, failed, duration, probe)
        if self.registry.listeners:
            limit = self._policy.slow_call_duration
            slow = limit is not None and duration >= limit
            self.registry.emit(CallRecorded(self.name, not failed, duration, slow))

    # -- layers ----------------------------------------------------------------------

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Admit, run ``inner``, record its outcome; a rejection is a ``Failure``."""
        timed = self._policy.slow_call_duration is not None
        lean = not timed and self._window is None  # a success needs neither clock nor lock
        listeners = self.registry
        admit, record, release, settle, reject = self.admit, self.record, self.release, self._settle, self._reject
        failure = Failure

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            probe = False
            if self._state is not _CLOSED:
                verdict = admit(self._now())
                if verdict is not None:
                    if verdict >= 0.0:
                        return reject(verdict)
                    probe = True
            if timed:
                clock = self._clock or get_clock()
                start = clock.monotonic()
                try:
                    outcome = inner(args, kwargs)
                except BaseException:
                    release(probe)
                    raise
                end = clock.monotonic()
                settle(outcome, probe, end, end - start)
                return outcome
            if probe:
                try:
                    outcome = inner(args, kwargs)
                except BaseException:
                    release(True)
                    raise
            else:
                outcome = inner(args, kwargs)
                if lean and type(outcome) is not failure:
                    record(0.0, False, 0.0, False)
                    if listeners.listeners:
                        listeners.emit(CallRecorded(self.name, True, 0.0))
                    return outcome
            settle(outcome, probe, None, 0.0)
            return outcome

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form of ``sync_layer``; a cancelled call is released, not recorded."""
        timed = self._policy.slow_call_duration is not None
        lean = not timed and self._window is None
        listeners = self.registry
        admit, record, release, settle, reject = self.admit, self.record, self.release, self._settle, self._reject
        failure = Failure

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            probe = False
            if self._state is not _CLOSED:
                verdict = admit(self._now())
                if verdict is not None:
                    if verdict >= 0.0:
                        return reject(verdict)
                    probe = True
            if timed:
                clock = self._clock or get_clock()
                start = clock.monotonic()
                try:
                    outcome = await inner(args, kwargs)
                except BaseException:
                    release(probe)
                    raise
                end = clock.monotonic()
                settle(outcome, probe, end, end - start)
                return outcome
            if probe:
                try:
                    outcome = await inner(args, kwargs)
                except BaseException:
                    release(True)
                    raise
            else:
                outcome = await inner(args, kwargs)
                if lean and type(outcome) is not failure:
                    record(0.0, False, 0.0, False)
                    if listeners.listeners:
                        listeners.emit(CallRecorded(self.name, True, 0.0))
                    return outcome
            settle(outcome, probe, None, 0.0)
            return outcome

        return layer


@overload
def circuit_breaker(
    name_or_breaker: str | CircuitBreaker | None = None,
    /,
    *,
    policy: CircuitBreakerPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    **fields: Unpack[CircuitBreakerFields],
) -> Decorator: ...
@overload
def circuit_breaker(fn: F, /) -> F: ...
def circuit_breaker(
    name_or_fn: Any = None,
    /,
    *,
    policy: CircuitBreakerPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    **fields: Unpack[CircuitBreakerFields],
) -> Any:
    """Protect the decorated callable (sync or async) with a circuit breaker.

    Forms:

    - ``@circuit_breaker``: a private breaker with the defaults (opens after 5
      consecutive failures, probes after 30 s);
    - ``@circuit_breaker(failure_threshold=3, reset_timeout=10)`` or
      ``@circuit_breaker(policy=CircuitBreakerPolicy(...))``: a private breaker;
    - ``@circuit_breaker("payments", failure_threshold=5)``: the breaker named
      "payments" in the registry, created on first use and shared by every call site
      that names it; the same settings again give the same breaker, other settings are
      a ``ValueError``; with no settings an existing breaker is taken as it is;
    - ``@circuit_breaker(breaker)`` (or just ``@breaker``): a ``CircuitBreaker``.

    A rejected call raises ``CircuitOpenError``; see ``CircuitBreaker``.

    Args:
        policy: a ``CircuitBreakerPolicy``; fields given beside it override it.
        clock: the ``Clock`` read for time (default: the process clock, per call).
        registry: where a named breaker lives and events go (default
            ``resiliency.registry``).
        **fields: ``CircuitBreakerPolicy`` fields.

    Returns:
        The decorated callable (bare form) or a decorator (a ``CircuitBreaker``).

    Raises:
        TypeError, ValueError: bad fields or arguments, settings beside a
            ``CircuitBreaker`` instance; ``ValueError`` when a named breaker exists with
            other settings.
    """
    if isinstance(name_or_fn, CircuitBreaker):
        if fields or policy is not None or clock is not None or registry is not None:
            raise TypeError("circuit_breaker(breaker) takes no fields, policy=, clock= or registry=: the breaker has them")
        return name_or_fn
    if name_or_fn is None or isinstance(name_or_fn, str):
        name = _check_name(name_or_fn)
        effective, given = resolve_policy(policy, fields)
        if name is None:
            return CircuitBreaker(policy=effective, clock=clock, registry=registry)
        table = registry if registry is not None else default_registry
        if not isinstance(table, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        if not given:
            try:
                existing: CircuitBreaker = table.breaker(name)
                return existing
            except KeyError:
                pass
        shared: CircuitBreaker = table.declare(
            "breaker", name, effective, lambda: CircuitBreaker(name, policy=effective, clock=clock, registry=table)
        )
        return shared
    if callable(name_or_fn) or isinstance(name_or_fn, (classmethod, staticmethod)):
        private = CircuitBreaker(policy=resolve_policy(policy, fields)[0], clock=clock, registry=registry)
        return apply_strategy(name_or_fn, private)
    raise TypeError(message("circuit_breaker()'s first argument", "a function, a name (str) or a CircuitBreaker", name_or_fn))
