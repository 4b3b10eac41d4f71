"""``@circuit_breaker``: bare, with fields, by name (shared through the registry), or an instance.

Also the field handling shared with ``CircuitBreaker``: ``resolve_policy`` builds the
policy from ``policy=`` and keywords, and shares equal policies between breakers.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict, overload

from typing_extensions import Unpack

from .._clock import Clock
from .._decorators import Decorator, Target, apply_strategy
from .._registry import Registry, default_registry
from .._store import Store
from .._validate import message
from ._policy import CircuitBreakerPolicy

if TYPE_CHECKING:
    from ._breaker import CircuitBreaker

__all__ = ["CircuitBreakerFields", "check_name", "circuit_breaker", "resolve_policy"]


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
    # The policy's duration fields are annotated float but take a timedelta too.
    given: dict[str, Any] = dict(fields)
    if policy is None:
        return _intern(CircuitBreakerPolicy(**given)), bool(given)
    if not isinstance(policy, CircuitBreakerPolicy):
        raise TypeError(message("policy", "a CircuitBreakerPolicy", policy))
    if given:
        return _intern(dataclasses.replace(policy, **given)), True
    return policy, True


def check_name(name: object) -> str | None:
    """Return ``name`` when it is None or a non-empty str (else the error naming ``name``)."""
    if name is not None and (not isinstance(name, str) or not name):
        raise (TypeError if not isinstance(name, str) else ValueError)(message("name", "a non-empty str", name))
    return name


@overload
def circuit_breaker(
    name_or_breaker: str | CircuitBreaker | None = None,
    /,
    *,
    policy: CircuitBreakerPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    critical: bool | None = None,
    store: Store | None = None,
    **fields: Unpack[CircuitBreakerFields],
) -> Decorator: ...
@overload
def circuit_breaker(fn: Target, /) -> Target: ...
def circuit_breaker(
    name_or_fn: Any = None,
    /,
    *,
    policy: CircuitBreakerPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    critical: bool | None = None,
    store: Store | None = None,
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
        critical: an open critical breaker makes ``registry.health()`` "unhealthy",
            any other only "degraded" (default: False; for a named breaker that exists,
            None takes it as it is and another value than its own is a ``ValueError``).
        store: shares the breaker across processes (see ``CircuitBreaker``).
        **fields: ``CircuitBreakerPolicy`` fields.

    Returns:
        The decorated callable (bare form) or a decorator (a ``CircuitBreaker``).

    Raises:
        TypeError, ValueError: bad fields or arguments, settings beside a
            ``CircuitBreaker`` instance; ``ValueError`` when a named breaker exists with
            other settings.
    """
    from ._breaker import CircuitBreaker

    if isinstance(name_or_fn, CircuitBreaker):
        if (
            fields
            or policy is not None
            or clock is not None
            or registry is not None
            or critical is not None
            or store is not None
        ):
            raise TypeError(
                "circuit_breaker(breaker) takes no fields, policy=, clock=, registry=, critical= or store=: "
                "the breaker has them"
            )
        return name_or_fn
    if critical is not None and not isinstance(critical, bool):
        raise TypeError(message("critical", "a bool or None", critical))
    flag = bool(critical)
    if name_or_fn is None or isinstance(name_or_fn, str):
        name = check_name(name_or_fn)
        effective, given = resolve_policy(policy, fields)
        if name is None:
            return CircuitBreaker(policy=effective, clock=clock, registry=registry, critical=flag, store=store)
        table = registry if registry is not None else default_registry
        if not isinstance(table, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        if not given:
            try:
                existing: CircuitBreaker = table.breaker(name)
                return _same_critical(existing, critical)
            except KeyError:
                pass
        shared: CircuitBreaker = table.declare(
            "breaker",
            name,
            effective,
            lambda: CircuitBreaker(name, policy=effective, clock=clock, registry=table, critical=flag, store=store),
        )
        return _same_critical(shared, critical)
    if callable(name_or_fn) or isinstance(name_or_fn, (classmethod, staticmethod)):
        private = CircuitBreaker(policy=resolve_policy(policy, fields)[0], clock=clock, registry=registry, store=store)
        return apply_strategy(name_or_fn, private)
    raise TypeError(
        message("circuit_breaker()'s first argument", "a function, a name (str) or a CircuitBreaker", name_or_fn)
    )


def _same_critical(breaker: CircuitBreaker, critical: bool | None) -> CircuitBreaker:
    """Return the named ``breaker`` unless ``critical`` was given and differs from its own."""
    if critical is not None and breaker.critical != critical:
        raise ValueError(
            f"breaker {breaker.name!r} is already declared with critical={breaker.critical}; got critical={critical}"
        )
    return breaker
