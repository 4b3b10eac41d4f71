"""``@provider`` marks an implementation of an op; ``provider_from_callable`` adapts one.

``@provider`` leaves the function as it is (it still works when called directly) and
adds a ``ProviderSpec`` to a tuple kept on it, so one function can serve several groups
or ops. Whether the function is a method is read from its ``__qualname__``: the part
before the last dot names a class unless it is ``<locals>`` or absent. A plain function
registers into its group at once; a method registers when an instance is handed to
``group.register(...)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .._decorators import Decorator, is_async_callable, is_generator_callable, pipeline_of
from .._engine import Strategy
from .._registry import Registry, default_registry
from .._retry_policy import RetryPolicy
from .._validate import message

if TYPE_CHECKING:
    from ._group import FailoverGroup

__all__ = [
    "PROVIDERS_ATTR",
    "CallableProvider",
    "ProviderSpec",
    "Target",
    "instance_name",
    "is_method_qualname",
    "provider",
    "provider_from_callable",
    "targets_of",
    "unpack",
]

F = TypeVar("F")
PROVIDERS_ATTR = "__resiliency_providers__"


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What ``@provider`` recorded: provider ``name`` implements ``op`` for ``group``."""

    name: str
    op: str
    group: Any  # a FailoverGroup, a group's name, or None (any group it is registered into)
    priority: int
    policy: RetryPolicy | None

    def wants(self, group: FailoverGroup) -> bool:
        """Whether this spec belongs in ``group``."""
        return self.group is None or self.group is group or self.group == group.name


# (spec, the marked callable as found, the instance it binds to or None)
Target = tuple[ProviderSpec, Any, Any]


def is_method_qualname(fn: object) -> bool:
    """Whether ``fn`` was defined in a class body, judged by its ``__qualname__``."""
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(qualname, str):
        return False
    head, dot, _ = qualname.rpartition(".")
    return bool(dot) and head.rpartition(".")[2] != "<locals>"


def _check_spec_args(name: object, op: object, priority: object, policy: object) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(message("name", "a non-empty str", name))
    if op is not None and (not isinstance(op, str) or not op):
        raise TypeError(message("op", "a non-empty str or None", op))
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(message("priority", "an int (lower runs first)", priority))
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise TypeError(message("policy", "a RetryPolicy or None", policy))


def _check_target(fn: object) -> None:
    if isinstance(fn, (classmethod, staticmethod)) or (pipeline_of(fn) is not None and not inspect.isfunction(fn)):
        raise TypeError(f"@provider decorates a function or an instance method (got {fn!r})")
    if is_generator_callable(fn):
        raise TypeError(f"@provider cannot decorate generator function {getattr(fn, '__qualname__', fn)!r}")
    if not callable(fn):
        raise TypeError(f"@provider decorates a function or an instance method (got {fn!r})")


def provider(
    name: str,
    op: str | None = None,
    group: FailoverGroup | str | None = None,
    priority: int = 0,
    policy: RetryPolicy | None = None,
    *,
    registry: Registry | None = None,
) -> Decorator:
    """Mark a function or method as provider ``name``'s implementation of ``op``.

    Put ``@provider`` on top: the strategies stacked under it run inside the group's
    failover (a ``@retry`` there is the provider's inline retry policy, the others run
    per attempt).

    Args:
        name: the provider's name, unique within a group.
        op: the operation (default: the function's own name).
        group: a ``FailoverGroup``, a group's name (looked up in ``registry``), or None
            (the method joins whichever group its instance is registered into).
        priority: ordering in the group, lower first (default 0; ties keep
            registration order).
        policy: the provider's inline ``RetryPolicy`` (wins over a ``@retry`` under it,
            field by field).
        registry: where a group's name is looked up (default ``resiliency.registry``).

    Returns:
        A decorator returning the function unchanged but for the mark.

    Raises:
        TypeError: a bad argument, or a classmethod, staticmethod or generator.
        KeyError: (plain functions) no group of that name in the registry.
        ValueError: (plain functions) the group already has this provider and op.
    """
    _check_spec_args(name, op, priority, policy)
    if group is not None and not isinstance(group, str) and not hasattr(group, "_add_targets"):
        raise TypeError(message("group", "a FailoverGroup, a group's name or None", group))

    def mark(fn: F) -> F:
        _check_target(fn)
        op_name: str = op or getattr(fn, "__name__", None) or name
        spec = ProviderSpec(name, op_name, group, priority, policy)
        try:
            setattr(fn, PROVIDERS_ATTR, (*getattr(fn, PROVIDERS_ATTR, ()), spec))
        except (AttributeError, TypeError):
            raise TypeError(f"@provider cannot mark {fn!r}: it takes no attributes") from None
        if group is not None and not is_method_qualname(fn):
            target: FailoverGroup = (registry or default_registry).group(group) if isinstance(group, str) else group
            target._add_targets([(spec, fn, None)], fn)
        return fn

    return mark


class CallableProvider:
    """A provider object made of one callable (see ``provider_from_callable``).

    Attributes:
        name: the provider's name.
        op: the op it implements.
        fn: the callable.
    """

    def __init__(self, spec: ProviderSpec, fn: Callable[..., Any]) -> None:
        self.spec = spec
        self.name = spec.name
        self.op = spec.op
        self.fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the callable directly, outside any group."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<CallableProvider {self.name!r} op={self.op!r} fn={getattr(self.fn, '__qualname__', self.fn)!r}>"


def provider_from_callable(
    name: str,
    fn: Callable[..., Any],
    op: str = "default",
    *,
    priority: int = 0,
    policy: RetryPolicy | None = None,
) -> CallableProvider:
    """Adapt one callable into a provider object for ``group.register(...)``.

    Strategies on ``fn`` are kept: a ``@retry`` on it is the inline retry policy, the
    others run per attempt.

    Args:
        name: the provider's name.
        fn: a sync or async callable implementing ``op``.
        op: the operation (default "default").
        priority: ordering in the group, lower first.
        policy: the provider's inline ``RetryPolicy``.

    Raises:
        TypeError: ``fn`` is not callable, or a bad argument.
    """
    _check_spec_args(name, op, priority, policy)
    _check_target(fn)
    return CallableProvider(ProviderSpec(name, op, None, priority, policy), fn)


def targets_of(obj: object) -> tuple[list[Target], list[ProviderSpec]]:
    """Return the marked callables ``obj`` offers, and every spec found on it.

    ``obj`` is an instance whose class has ``@provider`` methods, a ``CallableProvider``
    or a plain function marked with ``@provider``.
    """
    if isinstance(obj, CallableProvider):
        return [(obj.spec, obj.fn, None)], [obj.spec]
    specs: tuple[ProviderSpec, ...] = getattr(obj, PROVIDERS_ATTR, ())
    if specs and not isinstance(obj, type) and callable(obj) and not is_method_qualname(obj):
        return [(spec, obj, None) for spec in specs], list(specs)
    found: dict[str, Any] = {}
    for klass in reversed(type(obj).__mro__):
        for attr, value in vars(klass).items():
            found[attr] = value
    targets: list[Target] = []
    seen: list[ProviderSpec] = []
    for value in found.values():
        marked = getattr(value, PROVIDERS_ATTR, ()) if inspect.isfunction(value) else ()
        seen.extend(marked)
        targets.extend((spec, value, obj) for spec in marked)
    return targets, seen


def instance_name(obj: object) -> str | None:
    """The provider name ``obj`` gives itself in its ``provider_name`` attribute, if any.

    Raises:
        TypeError: ``provider_name`` is set to something other than a non-empty str.
    """
    if isinstance(obj, CallableProvider):
        return None
    found = getattr(obj, "provider_name", None)
    if found is None:
        return None
    if not isinstance(found, str) or not found:
        raise TypeError(message(f"{type(obj).__qualname__}.provider_name", "a non-empty str or None", found))
    return found


def unpack(value: Any, owner: object) -> tuple[Callable[..., Any], tuple[Strategy, ...], RetryPolicy | None, bool]:
    """Split a marked callable into its raw (bound) function, per-attempt strategies and inline retry.

    Returns:
        ``(raw, strategies, inline_retry_policy, is_async)``: the ``retry`` strategies
        are merged (the outer one wins, field by field) into the inline policy and taken
        out of the per-attempt strategies.
    """
    pipeline = pipeline_of(value)
    if pipeline is not None:
        raw, strategies, is_async = pipeline.fn, pipeline.strategies, pipeline.is_async
    else:
        raw, strategies, is_async = value, (), is_async_callable(value)
    if owner is not None:
        raw = raw.__get__(owner, type(owner))
    inline: RetryPolicy | None = None
    for strategy in reversed(strategies):
        if strategy.kind == "retry":
            inline = strategy.policy if inline is None else inline.merged(strategy.policy)
    return raw, tuple(s for s in strategies if s.kind != "retry"), inline, is_async
