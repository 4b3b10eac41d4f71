"""``FailoverGroup``: a named set of providers implementing the same ops.

The group records itself in the registry and compiles what ``register`` hands it; the
calls (``execute``, ``execute_any``, ``execute_all`` and their sync forms), options,
stats and events are ``FailoverGroupView``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._clock import Clock
from .._registry import Registry, default_registry
from .._validate import message
from ._core import GroupCore
from ._deferral import Deferral
from ._hooks import Hooks
from ._policy import PolicyConfig
from ._provider import Target, instance_name, targets_of
from ._view import FailoverGroupView

if TYPE_CHECKING:
    from .._outbox import Outbox

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
        outbox: an ``Outbox`` where calls of ``deferred_ops`` that fail on every
            provider are stored (the call then raises ``WriteDeferredError``); an
            ``OutboxWorker`` applies them later.
        deferred_ops: the ops that are deferred instead of failing (needs ``outbox``).
        critical: whether the service cannot work while the group cannot run one of
            its ops: then ``registry.health()`` is "unhealthy"; otherwise such a group
            only makes it "degraded" (default False).

    Attributes:
        critical: as given.

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
        outbox: Outbox | None = None,
        deferred_ops: Iterable[str] = (),
        critical: bool = False,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(message("name", "a non-empty str", name))
        if not isinstance(critical, bool):
            raise TypeError(message("critical", "a bool", critical))
        if policy is not None and not isinstance(policy, PolicyConfig):
            raise TypeError(message("policy", "a PolicyConfig or None", policy))
        if hooks is not None and not isinstance(hooks, Hooks):
            raise TypeError(message("hooks", "a Hooks or None", hooks))
        registry = registry if registry is not None else default_registry
        super().__init__(GroupCore(name, policy or PolicyConfig(), hooks, registry, clock))
        if deferred_ops and outbox is None:
            raise ValueError(message("outbox", "an Outbox when deferred_ops is given", outbox))
        if outbox is not None:
            self._core.deferral = Deferral(outbox, deferred_ops)
        self.critical = critical
        registry.add("group", name, self)

    @property
    def registry(self) -> Registry:
        """The registry the group is recorded in."""
        return self._core.registry

    def unavailable_ops(self) -> list[str]:
        """Return the ops no provider can run now: each of their providers has an open breaker.

        A provider counts as down for an op while a circuit breaker under its
        ``@provider`` (named or not) is open; half-open lets a probe through, so it
        counts as up. ``registry.health()`` reports such a group.
        """
        up: dict[str, bool] = {}
        for binding in self._core.ordered():
            up[binding.op] = up.get(binding.op, False) or not binding.breaker_open()
        return sorted(op for op, ok in up.items() if not ok)

    def register(
        self, *instances: object, name: str | None = None, op: str | None = None, fn: Callable[..., Any] | None = None
    ) -> None:
        """Register provider objects: instances with ``@provider`` methods,
        ``provider_from_callable`` objects, ``@provider`` functions or endpoint pools.

        All or nothing: when any object is refused, none is registered.

        A provider's name is, first found: ``name=`` (one object only), the object's
        ``provider_name`` attribute, the name given to ``@provider``. So one class can
        serve as two providers: ``group.register(S3(region="eu"), name="s3-eu")`` and
        ``group.register(S3(region="us"), name="s3-us")``.

        An endpoint pool joins as one provider: ``register(pool, name=..., op=...,
        fn=...)`` makes a call of ``op`` run ``fn(endpoint, *args, **kwargs)`` through
        the pool (its strategy, health and failover across endpoints).

        Args:
            *instances: the provider objects.
            name: the provider name of the one object registered (keyword only).
            op: with ``fn``, for an endpoint pool: the op it serves.
            fn: with ``op``, for an endpoint pool: ``fn(endpoint, *args, **kwargs)``.

        Raises:
            TypeError: an object with no ``@provider`` method, a class instead of an
                instance, ``name=`` with other than one object, a ``name`` or
                ``provider_name`` that is not a non-empty str.
            ValueError: an object whose providers all belong to other groups; a provider
                name already used by another object; a provider and op registered twice;
                ``name=`` (or ``provider_name``) on an object whose methods carry more
                than one provider name.
        """
        if not instances:
            raise TypeError("register() needs at least one provider object")
        if name is not None:
            if not isinstance(name, str) or not name:
                raise TypeError(message("name", "a non-empty str", name))
            if len(instances) != 1:
                raise TypeError(f"register(..., name={name!r}) names one provider object (got {len(instances)})")
        if fn is not None or op is not None:
            instances = tuple(_as_provider(obj, name, op, fn) for obj in instances)
        every: list[Target] = []
        for obj in instances:
            every.extend(self._targets(obj, name))
        self._core.add(every)

    def _targets(self, obj: object, name: str | None) -> list[Target]:
        """The targets ``obj`` offers this group, under the provider name it registers as."""
        if isinstance(obj, type):
            raise TypeError(
                f"register() takes provider objects, not the class {obj.__name__}: "
                f"pass an instance, {obj.__name__}(...)"
            )
        targets, seen = targets_of(obj)
        mine = [t for t in targets if t[0].wants(self)]
        what = obj.__qualname__ if callable(obj) and hasattr(obj, "__qualname__") else type(obj).__qualname__
        if not mine:
            if not seen:
                raise TypeError(
                    f"cannot register {what}: it has no @provider methods (mark methods with "
                    f"@provider(name, op=...), or wrap a callable with provider_from_callable(name, fn, op))"
                )
            others = sorted({str(getattr(s.group, "name", s.group)) for s in seen})
            raise ValueError(f"cannot register {what} in group {self.name!r}: its providers belong to {others}")
        source = "name"
        if name is None:
            name, source = instance_name(obj), "provider_name"
        if name is None:
            return mine
        marked = sorted({spec.name for spec, _, _ in mine})
        if len(marked) > 1:
            raise ValueError(
                f"cannot register {what} as provider {name!r} ({source}): its methods carry several "
                f"provider names {marked}; rename one provider at a time with one name per object"
            )
        return [(replace(spec, name=name), value, owner) for spec, value, owner in mine]

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
