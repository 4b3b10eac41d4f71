"""``RateLimiter`` and ``@rate_limit``: at most ``rate`` calls per ``period``.

``TokenBucket`` (``_bucket``) is the arithmetic alone; ``RateLimiter``
reads the clock, guards the bucket with a lock, and sleeps (sync: ``clock.sleep``;
async: ``await clock.asleep``) when a caller may wait for its token.

A waiting caller reserves its token before it sleeps: the bucket goes below zero, so
callers that wait at the same time are served one token interval apart, in the order
they came, and the count is exact. A caller cancelled while it sleeps gives its token
back.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from .._clock import Clock, get_clock
from .._deadline import remaining
from .._decorators import Decorator, Target, apply_strategy
from .._engine import AsyncLayer, Strategy, SyncLayer
from .._errors import RateLimitedError
from .._events import RateLimited
from .._outcome import Failure
from .._registry import Registry, default_registry
from .._store import Store, check_store, shared_store
from .._validate import message
from ._bucket import TokenBucket
from ._policy import RateLimiterMetrics, RateLimitPolicy

__all__ = ["RateLimiter", "rate_limit"]


_DEFAULTS = (("rate", None), ("period", 1.0), ("burst", None), ("max_wait", 0.0))


def _resolve(policy: object, fields: tuple[object, ...]) -> RateLimitPolicy | None:
    """Return the policy from ``policy=`` or the fields; None when neither was given."""
    given = [
        name
        for (name, default), value in zip(_DEFAULTS, fields, strict=True)
        if not (value is default or (type(value) is type(default) and value == default))
    ]
    if policy is not None:
        if not isinstance(policy, RateLimitPolicy):
            raise TypeError(message("policy", "a RateLimitPolicy", policy))
        if given:
            raise TypeError(f"give policy= or the fields, not both (got policy={policy!r} and {', '.join(given)})")
        return policy
    if not given:
        return None
    if fields[0] is None:
        raise TypeError("rate_limit needs rate= (tokens per period) or policy= (got neither)")
    return RateLimitPolicy(*fields)  # type: ignore[arg-type]


class RateLimiter(Strategy):
    """A thread-safe token bucket: a decorator and a strategy shared by its call sites.

    Each call takes one token. With none left, the call waits for one if the policy's
    ``max_wait`` (and the caller's deadline) allows, sleeping through the clock, or is
    refused with ``RateLimitedError(limiter, retry_after)``. A named limiter is recorded
    in its registry (``registry.rate_limiter(name)``); an unnamed one is private.

    Args:
        name: registry name (None: private, unregistered).
        rate, period, burst, max_wait: the ``RateLimitPolicy`` fields.
        policy: a ``RateLimitPolicy`` instead of the fields.
        clock: the ``Clock`` read and slept on (default: the process clock, per call).
        registry: where a named limiter is recorded (default ``resiliency.registry``).
        store: makes the limit exact across every process on the store
            (``resiliency.stores``; default: the registry's ``store`` for a named
            limiter, else local). A shared limiter needs a name.

    Raises:
        TypeError, ValueError: bad fields, no ``rate``/``policy``, both; ``ValueError``
            also when another rate limiter already has ``name`` in the registry.
    """

    __slots__ = ("_bucket", "_clock", "_lock", "_policy", "allowed", "label", "name", "registry", "rejected")
    kind = "rate_limit"

    def __new__(cls, name: str | None = None, *, store: Any = None, registry: Registry | None = None, **_: Any) -> Any:
        # A limiter on a shared store is a SharedRateLimiter (GCRA in the store).
        table = registry if isinstance(registry, Registry) else default_registry
        target = cls
        if cls is RateLimiter and (store if store is not None else table.store if name else None) is not None:
            from ._gcra import SharedRateLimiter

            if shared_store(check_store(store), table, name is not None) is not None:
                target = SharedRateLimiter
        return super().__new__(target)

    def __init__(
        self,
        name: str | None = None,
        *,
        rate: float | None = None,
        period: float | timedelta = 1.0,
        burst: int | None = None,
        max_wait: float | timedelta = 0.0,
        policy: RateLimitPolicy | None = None,
        clock: Clock | None = None,
        registry: Registry | None = None,
        store: Store | None = None,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise (TypeError if not isinstance(name, str) else ValueError)(message("name", "a non-empty str", name))
        resolved = _resolve(policy, (rate, period, burst, max_wait))
        if resolved is None:
            raise TypeError("RateLimiter needs rate= (tokens per period) or policy= (got neither)")
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(message("clock", "a Clock with monotonic(), sleep() and asleep()", clock))
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        self.name = name
        self.label = name
        self._policy = resolved
        self._clock = clock
        self.registry = registry if registry is not None else default_registry
        self._lock = threading.Lock()
        self._bucket = TokenBucket(resolved.burst or 1, resolved.per_second)
        self.allowed = 0
        self.rejected = 0
        if name is not None:
            self.registry.add("rate_limiter", name, self, resolved)
        shared = shared_store(check_store(store), self.registry, name is not None)
        if shared is not None:
            self._share(shared)

    def _share(self, store: Store) -> None:
        """Share the limit through ``store`` (``SharedRateLimiter`` does; see ``_gcra``)."""
        raise TypeError(f"{type(self).__name__} cannot share its state through a store (got store={store!r})")

    @property
    def policy(self) -> RateLimitPolicy:
        """The ``RateLimitPolicy`` this limiter applies."""
        return self._policy

    def _decide(self, clock: Clock, may_wait: bool) -> Any:
        """Take a token: return 0.0 (go now), seconds to sleep (reserved), or a Failure."""
        bucket = self._bucket
        # acquire/release in try/finally: the same guarantee as ``with``, measured
        # cheaper on this, every call's, path. The clock is read under the lock, so
        # refills see time in order.
        self._lock.acquire()
        try:
            wait = bucket.wait_time(clock.monotonic())
            if wait == 0.0:
                bucket.take()
                self.allowed += 1
                return 0.0
            limit = self._max_wait(may_wait)
            if wait <= limit:
                bucket.take()
                return wait
            self.rejected += 1
        finally:
            self._lock.release()
        if self.registry.listeners:
            self.registry.emit(RateLimited(self.label, wait))
        return Failure(RateLimitedError(self, wait))

    def _max_wait(self, may_wait: bool) -> float:
        """Seconds this caller may wait for a token: ``max_wait``, or less before its deadline."""
        limit = self._policy.max_wait if may_wait else 0.0
        if limit > 0.0:
            left = remaining()
            if left is not None and left < limit:
                limit = left
        return limit

    def _settle(self, used: bool) -> None:
        """After a reserved wait: count the call, or give the token back (cancelled)."""
        with self._lock:
            if used:
                self.allowed += 1
            else:
                self._bucket.refund()

    def try_acquire(self) -> bool:
        """Take a token if one is there now; never waits. Returns whether it got one."""
        decision: float | Failure = self._decide(self._clock or get_clock(), False)
        return decision == 0.0

    acquire_nowait = try_acquire

    def metrics(self) -> RateLimiterMetrics:
        """Return a snapshot: tokens available now, calls allowed and rejected."""
        clock = self._clock or get_clock()
        with self._lock:
            self._bucket.refill(clock.monotonic())
            return RateLimiterMetrics(max(self._bucket.tokens, 0.0), self.allowed, self.rejected)

    def __call__(self, fn: Target, /) -> Target:
        """Decorate ``fn`` (sync or async function, method, ...) with this limiter."""
        result: Target = apply_strategy(fn, self)
        return result

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        p = self._policy
        return f"<RateLimiter{label} rate={p.rate:g}/{p.period:g}s burst={p.burst}>"

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Layer for sync callers: a token before ``inner``, sleeping for it if allowed."""
        decide, settle, failure = self._decide, self._settle, Failure

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            clock = self._clock or get_clock()
            wait = decide(clock, True)
            if wait:
                if type(wait) is failure:
                    return wait
                try:
                    clock.sleep(wait)
                except BaseException:
                    settle(False)
                    raise
                settle(True)
            return inner(args, kwargs)

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Layer for async callers: a token before ``await inner``, waiting if allowed."""
        decide, settle, failure = self._decide, self._settle, Failure

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            clock = self._clock or get_clock()
            wait = decide(clock, True)
            if wait:
                if type(wait) is failure:
                    return wait
                try:
                    await clock.asleep(wait)
                except BaseException:
                    settle(False)
                    raise
                settle(True)
            return await inner(args, kwargs)

        return layer


def rate_limit(
    name_or_limiter: str | RateLimiter | None = None,
    /,
    *,
    rate: float | None = None,
    period: float | timedelta = 1.0,
    burst: int | None = None,
    max_wait: float | timedelta = 0.0,
    policy: RateLimitPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    store: Store | None = None,
) -> Decorator:
    """Allow the decorated callable (sync or async) at most ``rate`` calls per ``period``.

    Forms: ``@rate_limit(rate=5)`` or ``@rate_limit(policy=RateLimitPolicy(...))`` (a
    private limiter); ``@rate_limit("api", rate=5)`` (the limiter named "api" in the
    registry, created on first use and shared; with no fields an existing one is taken
    as it is); ``@rate_limit(limiter)`` (an instance, like ``@limiter``). Bare
    ``@rate_limit`` is a ``TypeError``: there is no sensible default rate.

    Args:
        rate: tokens per ``period`` (> 0). period: seconds (default 1.0).
        burst: bucket capacity (default ``max(1, ceil(rate))``).
        max_wait: seconds a caller may wait for a token (default 0: refuse at once).
        policy: a ``RateLimitPolicy`` instead of the fields.
        clock: the ``Clock`` (default: the process clock, per call).
        registry: where a named limiter lives (default ``resiliency.registry``).
        store: shares the limit across processes (see ``RateLimiter``).

    Returns:
        A decorator (a ``RateLimiter``).

    Raises:
        TypeError, ValueError: bad or missing fields; ``ValueError`` when a named
            limiter exists with other settings.
    """
    fields = (rate, period, burst, max_wait)
    if isinstance(name_or_limiter, RateLimiter):
        if _resolve(policy, fields) is not None or clock is not None or registry is not None or store is not None:
            raise TypeError("rate_limit(existing) takes no fields, policy=, clock= or registry=: the instance has them")
        return name_or_limiter
    if name_or_limiter is not None and not isinstance(name_or_limiter, str):
        accepted = "a name (str) or a RateLimiter (bare @rate_limit has no default rate: give rate=)"
        raise TypeError(message("rate_limit()'s first argument", accepted, name_or_limiter))
    resolved = _resolve(policy, fields)
    if name_or_limiter is None:
        return RateLimiter(policy=resolved, clock=clock, registry=registry, store=store)
    table = registry if registry is not None else default_registry
    if not isinstance(table, Registry):
        raise TypeError(message("registry", "a Registry", registry))
    name: str = name_or_limiter

    def create() -> RateLimiter:
        if resolved is None:
            raise TypeError(f"no rate limiter named {name!r} yet: give rate= or policy= to create it")
        return RateLimiter(name, policy=resolved, clock=clock, registry=table, store=store)

    limiter: RateLimiter = table.declare("rate_limiter", name, resolved, create)
    return limiter
