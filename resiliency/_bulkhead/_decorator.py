"""``@bulkhead``: bare, with fields, by name (shared through the registry), or an instance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, overload

from .._clock import Clock
from .._decorators import Decorator, Target, apply_strategy
from .._registry import Registry, default_registry
from .._store import Store
from .._validate import message
from ._bulkhead import Bulkhead, check_name, resolve_policy
from ._policy import BulkheadPolicy

__all__ = ["bulkhead"]


@overload
def bulkhead(
    name_or_bulkhead: str | Bulkhead | None = None,
    /,
    *,
    max_concurrent: int = 10,
    max_queue: int = 0,
    queue_timeout: float | timedelta | None = None,
    policy: BulkheadPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    store: Store | None = None,
) -> Decorator: ...
@overload
def bulkhead(fn: Target, /) -> Target: ...
def bulkhead(
    name_or_fn: Any = None,
    /,
    *,
    max_concurrent: int = 10,
    max_queue: int = 0,
    queue_timeout: float | timedelta | None = None,
    policy: BulkheadPolicy | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
    store: Store | None = None,
) -> Any:
    """Limit how many calls of the decorated callable run at once (sync or async).

    Forms:

    - ``@bulkhead``: a private bulkhead with the defaults (10 at once, no queue);
    - ``@bulkhead(max_concurrent=5, max_queue=20, queue_timeout=2.0)`` or
      ``@bulkhead(policy=BulkheadPolicy(...))``: a private bulkhead;
    - ``@bulkhead("db", max_concurrent=5)``: the bulkhead named "db" in the registry,
      created on first use and shared by every call site that names it; with no fields
      the existing one is taken as it is;
    - ``@bulkhead(existing)`` (or just ``@existing``): a ``Bulkhead`` instance.

    A rejected call raises ``BulkheadFullError``; see ``Bulkhead`` for the semantics.

    Args:
        max_concurrent: calls at once, int >= 1 (default 10).
        max_queue: callers that may wait, FIFO, int >= 0 (default 0).
        queue_timeout: seconds a caller may wait (float or timedelta > 0; default None:
            as long as needed, never past the caller's deadline).
        policy: a ``BulkheadPolicy`` instead of the fields.
        clock: the ``Clock`` that times waits (default: the process clock, per call).
        registry: where a named bulkhead lives (default ``resiliency.registry``).
        store: shares the slots across processes (see ``Bulkhead``).

    Returns:
        The decorated callable (bare form) or a decorator.

    Raises:
        TypeError, ValueError: bad fields, both ``policy=`` and fields, fields beside a
            ``Bulkhead`` instance; ``ValueError`` when a named bulkhead exists with
            other settings.
    """
    fields = (max_concurrent, max_queue, queue_timeout)
    if isinstance(name_or_fn, Bulkhead):
        _, given = resolve_policy(policy, fields)
        if given or clock is not None or registry is not None or store is not None:
            raise TypeError(
                "bulkhead(existing) takes no fields, policy=, clock=, registry= or store=: the instance has them"
            )
        return name_or_fn
    if name_or_fn is None or isinstance(name_or_fn, str):
        name = check_name(name_or_fn)
        effective, given = resolve_policy(policy, fields)
        if name is None:
            return Bulkhead(policy=effective, clock=clock, registry=registry, store=store)
        table = registry if registry is not None else default_registry
        if not isinstance(table, Registry):
            raise TypeError(message("registry", "a Registry", registry))
        shared: Bulkhead = table.declare(
            "bulkhead",
            name,
            effective if given else None,
            lambda: Bulkhead(name, policy=effective, clock=clock, registry=table, store=store),
        )
        if not isinstance(shared, Bulkhead):  # pragma: no cover - only if the registry was tampered with
            raise TypeError(f"registry entry bulkhead {name!r} is not a Bulkhead (got {shared!r})")
        return shared
    if callable(name_or_fn) or isinstance(name_or_fn, (classmethod, staticmethod)):
        private = Bulkhead(policy=resolve_policy(policy, fields)[0], clock=clock, registry=registry, store=store)
        return apply_strategy(name_or_fn, private)
    raise TypeError(message("bulkhead()'s first argument", "a function, a name (str) or a Bulkhead", name_or_fn))
