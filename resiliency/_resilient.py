"""``ResiliencePolicy``, ``@resilient`` and ``execute``: the strategies as one bundle.

The order is fixed, outermost first: fallback, retry, circuit breaker, bulkhead,
timeout. So the timeout limits each attempt, the bulkhead holds a slot for one attempt
(never during a retry's sleep), the breaker counts every attempt (timeouts included)
and rejects at once when open, the retry starts another attempt (``CircuitOpenError``
and ``BulkheadFullError`` are not retried by default), and the fallback answers for
whatever is left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, overload

from ._circuit_breaker._breaker import CircuitBreaker
from ._circuit_breaker._policy import CircuitBreakerPolicy
from ._clock import Clock
from ._decorators import Decorator, apply_strategy, is_async_callable
from ._engine import Pipeline, Strategy, drive_async, drive_sync
from ._fallback import FallbackPolicy, FallbackStrategy
from ._registry import Registry, default_registry
from ._retry import RetryStrategy
from ._retry_policy import RetryPolicy
from ._timeout import TimeoutPolicy, TimeoutStrategy
from ._validate import message

if TYPE_CHECKING:
    from ._bulkhead import BulkheadPolicy

__all__ = ["ResilienceFields", "ResiliencePolicy", "execute", "resilient", "strategies_for"]

T = TypeVar("T")


class ResilienceFields(TypedDict, total=False):
    """The ``ResiliencePolicy`` fields, as keywords (for the presets' overrides)."""

    retry: RetryPolicy | None
    circuit_breaker: CircuitBreakerPolicy | None
    timeout: TimeoutPolicy | float | timedelta | None
    bulkhead: BulkheadPolicy | None
    fallback: FallbackPolicy | None


def _check(param: str, value: object, kind: type, accepted: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise TypeError(message(param, f"{accepted} or None", value))


@dataclass(frozen=True, slots=True)
class ResiliencePolicy:
    """A bundle of policies applied together, in a fixed order; any of them may be None.

    Outermost first: ``fallback``, ``retry``, ``circuit_breaker``, ``bulkhead``,
    ``timeout`` (per attempt). Apply it with ``@resilient(name, policy=...)`` or
    ``resiliency.execute(name, fn, policy)``; ready-made bundles are in
    ``resiliency.presets``.

    Args:
        retry: a ``RetryPolicy``.
        circuit_breaker: a ``CircuitBreakerPolicy``; the breaker is kept in the registry
            under the bundle's name (shared by every call site using that name).
        timeout: a ``TimeoutPolicy``, or seconds (float or timedelta, > 0), stored as a
            ``TimeoutPolicy``.
        bulkhead: a ``BulkheadPolicy``; the bulkhead is kept in the registry under the
            bundle's name.
        fallback: a ``FallbackPolicy``.

    Raises:
        TypeError: a field of the wrong type (the message names it).
        ValueError: a bad timeout (<= 0 or NaN).
    """

    retry: RetryPolicy | None = None
    circuit_breaker: CircuitBreakerPolicy | None = None
    timeout: TimeoutPolicy | float | timedelta | None = None
    bulkhead: BulkheadPolicy | None = None
    fallback: FallbackPolicy | None = None

    def __post_init__(self) -> None:
        from ._bulkhead import BulkheadPolicy

        _check("retry", self.retry, RetryPolicy, "a RetryPolicy")
        _check("circuit_breaker", self.circuit_breaker, CircuitBreakerPolicy, "a CircuitBreakerPolicy")
        _check("bulkhead", self.bulkhead, BulkheadPolicy, "a BulkheadPolicy")
        _check("fallback", self.fallback, FallbackPolicy, "a FallbackPolicy")
        if self.timeout is not None and not isinstance(self.timeout, TimeoutPolicy):
            if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float, timedelta)):
                raise TypeError(
                    message("timeout", "a TimeoutPolicy, seconds (float or timedelta) or None", self.timeout)
                )
            seconds: Any = self.timeout  # TimeoutPolicy takes a timedelta too
            object.__setattr__(self, "timeout", TimeoutPolicy(seconds))

    @property
    def timeout_policy(self) -> TimeoutPolicy | None:
        """``timeout`` as the ``TimeoutPolicy`` it is stored as (None without one)."""
        assert self.timeout is None or isinstance(self.timeout, TimeoutPolicy)
        return self.timeout


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(message("name", "a non-empty str", name))
    if not name:
        raise ValueError(message("name", "a non-empty str", name))
    return name


def _resolve(name: str, policy: object, registry: Registry, caller: str) -> ResiliencePolicy:
    """Return ``policy``, registered under ``name``; None takes the one registered already."""
    if policy is None:
        try:
            found: ResiliencePolicy = registry.policy(name)
        except KeyError:
            raise TypeError(
                f"{caller} needs policy= (a ResiliencePolicy): no policy named {name!r} is registered"
            ) from None
        return found
    if not isinstance(policy, ResiliencePolicy):
        raise TypeError(message("policy", "a ResiliencePolicy", policy))
    registered: ResiliencePolicy = registry.declare("policy", name, policy, lambda: policy)
    return registered


def strategies_for(
    name: str, policy: ResiliencePolicy, *, clock: Clock | None = None, registry: Registry | None = None
) -> tuple[Strategy, ...]:
    """Return the strategies of ``policy``, outermost first, with the named breaker and bulkhead.

    The breaker and the bulkhead are declared in ``registry`` under ``name``: the same
    settings give the same objects, other settings are a ``ValueError``.
    """
    from ._bulkhead import Bulkhead

    table = registry if registry is not None else default_registry
    out: list[Strategy] = []
    if policy.fallback is not None:
        out.append(FallbackStrategy(policy.fallback))
    if policy.retry is not None:
        out.append(RetryStrategy(policy.retry, clock=clock, registry=table, name=name))
    breaker_policy = policy.circuit_breaker
    if breaker_policy is not None:
        breaker: CircuitBreaker = table.declare(
            "breaker",
            name,
            breaker_policy,
            lambda: CircuitBreaker(name, policy=breaker_policy, clock=clock, registry=table),
        )
        out.append(breaker)
    bulkhead_policy = policy.bulkhead
    if bulkhead_policy is not None:
        bulkhead: Bulkhead = table.declare(
            "bulkhead",
            name,
            bulkhead_policy,
            lambda: Bulkhead(name, policy=bulkhead_policy, clock=clock, registry=table),
        )
        out.append(bulkhead)
    timeout = policy.timeout_policy
    if timeout is not None:
        out.append(TimeoutStrategy(timeout, clock=clock, registry=table, name=name))
    return tuple(out)


def resilient(
    name: str,
    /,
    *,
    policy: ResiliencePolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
) -> Decorator:
    """Protect the decorated callable (sync or async) with a ``ResiliencePolicy`` bundle.

    ``@resilient("payments", policy=presets.api())``. Outermost first: fallback, retry,
    circuit breaker, bulkhead, timeout (per attempt). The policy is registered under
    ``name`` (``registry.policy(name)``) and so are its breaker and bulkhead
    (``registry.breaker(name)``, ``registry.bulkhead(name)``): every call site using
    ``name`` shares them. Without ``policy=``, the policy already registered under
    ``name`` is used. Strategy decorators stacked around the result join the same
    pipeline.

    Args:
        name: the bundle's name, a non-empty str.
        policy: a ``ResiliencePolicy`` (default: the one registered under ``name``).
        clock: the ``Clock`` the strategies read and sleep on (default: the process
            clock, read per call).
        registry: where the policy, breaker and bulkhead live and events go (default
            ``resiliency.registry``).

    Returns:
        A decorator; with an empty policy it returns the callable unchanged.

    Raises:
        TypeError: a bad name, policy or registry; no policy given and none registered.
        ValueError: ``name`` is registered with another policy, breaker or bulkhead.
    """
    checked = _check_name(name)
    if registry is not None and not isinstance(registry, Registry):
        raise TypeError(message("registry", "a Registry", registry))
    table = registry if registry is not None else default_registry
    bundle = _resolve(checked, policy, table, "resilient()")
    strategies = strategies_for(checked, bundle, clock=clock, registry=table)

    def decorate(fn: Any, /) -> Any:
        for strategy in reversed(strategies):
            fn = apply_strategy(fn, strategy)
        return fn

    return decorate


@overload
def execute(
    name: str, fn: Callable[..., Awaitable[T]], policy: ResiliencePolicy | None, /, *args: Any, **kwargs: Any
) -> Coroutine[Any, Any, T]: ...
@overload
def execute(name: str, fn: Callable[..., T], policy: ResiliencePolicy | None, /, *args: Any, **kwargs: Any) -> T: ...
def execute(name: str, fn: Callable[..., Any], policy: ResiliencePolicy | None, /, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` once under the bundle ``policy`` named ``name``.

    The one-off form of ``@resilient(name, policy=policy)``, on the default registry:
    the breaker and bulkhead called ``name`` are shared with every other use of the
    name. For an async ``fn`` it returns a coroutine to await. Each call builds the
    pipeline anew (a few microseconds); decorate a function that is called often.

    Args:
        name: the bundle's name.
        fn: the callable to run, sync or async.
        policy: a ``ResiliencePolicy`` (None: the one registered under ``name``).
        *args, **kwargs: passed to ``fn``.

    Returns:
        What ``fn`` returns (or the fallback's answer); a coroutine when ``fn`` is async.

    Raises:
        Exception: whatever the call raises once the bundle gives up: the last error,
            unchanged, or ``CircuitOpenError``, ``BulkheadFullError``,
            ``ResiliencyTimeoutError``.
        TypeError: a bad name, ``fn`` or policy; no policy given and none registered.
        ValueError: ``name`` is registered with another policy, breaker or bulkhead.
    """
    checked = _check_name(name)
    if not callable(fn):
        raise TypeError(message("fn", "a callable", fn))
    bundle = _resolve(checked, policy, default_registry, "execute()")
    is_async = is_async_callable(fn)
    chain = Pipeline(fn, strategies_for(checked, bundle, registry=default_registry), is_async).chain
    if is_async:
        return drive_async(chain, args, kwargs)
    return drive_sync(chain, args, kwargs)
