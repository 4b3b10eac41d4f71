"""``FailoverGroup``: a named set of providers implementing the same ops.

The group records itself in the registry and compiles what ``register`` hands it; the
calls (``execute``, ``execute_any``, ``execute_all`` and their sync forms), options,
stats and events are ``FailoverGroupView``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._clock import Clock
from .._registry import Registry, default_registry
from .._validate import message
from ._core import GroupCore
from ._hooks import Hooks
from ._policy import PolicyConfig
from ._provider import Target, targets_of
from ._view import FailoverGroupView

__all__ = ["FailoverGroup"]


class FailoverGroup(FailoverGroupView):
    """A named set of providers that implement the same ops.

    Args:
        name: the group's name; the group is recorded in ``registry`` under it.
        policy: a ``PolicyConfig`` (default, per_op, per_provider retry policies).
        hooks: ``Hooks`` called on provider success, failure and when all failed.
        registry: where the group is recorded and events go (default
            ``resiliency.registry``).
        clock: the ``Clock`` for retries, hedging and stats (default: the process
            clock, read per call).

    Raises:
        TypeError: a bad argument.
        ValueError: another group already has ``name`` in the registry.
    """

    def __init__(
        self,
        name: str,
        policy: PolicyConfig | None = None,
        hooks: Hooks | None = None,
        registry: Registry | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(message("name", "a non-empty str", name))
        if policy is not None and not isinstance(policy, PolicyConfig):
            raise TypeError(message("policy", "a PolicyConfig or None", policy))
        if hooks is not None and not isinstance(hooks, Hooks):
            raise TypeError(message("hooks", "a Hooks or None", hooks))
        registry = registry if registry is not None else default_registry
        super().__init__(GroupCore(name, policy or PolicyConfig(), hooks, registry, clock))
        registry.add("group", name, self)

    @property
    def registry(self) -> Registry:
        """The registry the group is recorded in."""
        return self._core.registry

    def register(
        self, *instances: object, name: str | None = None, op: str | None = None, fn: Callable[..., Any] | None = None
    ) -> None:
        """Register provider objects: instances with ``@provider`` methods,
        ``provider_from_callable`` objects or ``@provider`` functions.

        An endpoint pool joins as one provider: ``register(pool, name=..., op=...,
        fn=...)`` makes a call of ``op`` run ``fn(endpoint, *args, **kwargs)`` through
        the pool (its strategy, health and failover across endpoints).

        Raises:
            TypeError: an object with no ``@provider`` method, or a class instead of an
                instance.
            ValueError: an object whose providers all belong to other groups; a provider
                name already used by another object; a provider and op registered twice.
        """
        if not instances:
            raise TypeError("register() needs at least one provider object")
        if fn is not None or op is not None:
            instances = tuple(_as_provider(obj, name, op, fn) for obj in instances)
        for obj in instances:
            if isinstance(obj, type):
                raise TypeError(
                    f"register() takes provider objects, not the class {obj.__name__}: "
                    f"pass an instance, {obj.__name__}(...)"
                )
            targets, seen = targets_of(obj)
            mine = [t for t in targets if t[0].wants(self)]
            if not mine:
                what = obj.__qualname__ if callable(obj) and hasattr(obj, "__qualname__") else type(obj).__qualname__
                if not seen:
                    raise TypeError(
                        f"cannot register {what}: it has no @provider methods (mark methods with "
                        f"@provider(name, op=...), or wrap a callable with provider_from_callable(name, fn, op))"
                    )
                others = sorted({str(getattr(s.group, "name", s.group)) for s in seen})
                raise ValueError(f"cannot register {what} in group {self.name!r}: its providers belong to {others}")
            self._add_targets(mine, obj)

    def _add_targets(self, targets: list[Target], obj: object) -> None:
        self._core.add(targets)


def _as_provider(obj: object, name: str | None, op: str | None, fn: Callable[..., Any] | None) -> object:
    """Adapt an object offering ``as_provider`` (an ``EndpointPool``) with ``op=`` and ``fn=``."""
    adapt = getattr(obj, "as_provider", None)
    if adapt is None or isinstance(obj, type):
        raise TypeError(f"register(..., op=, fn=) takes endpoint pools (got {obj!r})")
    if op is None or fn is None:
        raise TypeError(message("op and fn", "both given to register an endpoint pool", (op, fn)))
    return adapt(name, op=op, fn=fn)
