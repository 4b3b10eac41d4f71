"""``@failover_group``: turn a function or service method into a group call.

The decorated body never runs. Calling the entry point runs the op across the group in
its mode, with the decorated signature; the instance is dropped when the function was
defined in a class body (judged by ``__qualname__``, as ``@provider`` does). The entry
point is a pipeline leaf, so strategies stacked above it (``@timeout(10)``,
``@fallback(...)``) fuse onto it and wrap the whole group call. The group is looked up
by name at call time, so the service may be declared before the group exists.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from .._decorators import Decorator, wrap_pipeline
from .._registry import Registry, default_registry
from .._validate import message
from ._provider import is_method_qualname
from ._view import FailoverGroupView

__all__ = ["MODES", "failover_group"]

MODES = ("sequential", "any", "all")
_METHODS = {"sequential": "execute", "any": "execute_any", "all": "execute_all"}


def failover_group(
    name: str | FailoverGroupView,
    op: str | None = None,
    mode: str = "sequential",
    registry: Registry | None = None,
) -> Decorator:
    """Make the decorated function an entry point that runs ``op`` across a group.

    ``async def`` entry points call ``execute`` / ``execute_any`` / ``execute_all``;
    plain ``def`` ones call the ``_sync`` forms.

    Args:
        name: the group's name (looked up in ``registry`` at call time) or a group.
        op: the operation (default: the decorated function's own name).
        mode: "sequential" (default), "any" or "all" (returns ``list[Outcome]``).
        registry: where the group is found (default ``resiliency.registry``).

    Returns:
        A decorator keeping the decorated signature (for type checkers too).

    Raises:
        ValueError: ``mode`` is not one of the three.
        TypeError: a bad ``name`` or ``op``, or a generator, classmethod or
            staticmethod decorated.
    """
    if mode not in MODES:
        raise ValueError(message("mode", "one of 'sequential', 'any', 'all'", mode))
    if not isinstance(name, (str, FailoverGroupView)) or name == "":
        raise TypeError(message("name", "a group's name or a FailoverGroup", name))
    if op is not None and (not isinstance(op, str) or not op):
        raise TypeError(message("op", "a non-empty str or None", op))
    reg = registry if registry is not None else default_registry

    def decorate(fn: Any) -> Any:
        if isinstance(fn, (classmethod, staticmethod)) or not inspect.isfunction(inspect.unwrap(fn)):
            raise TypeError(f"@failover_group decorates a function or an instance method (got {fn!r})")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(f"@failover_group cannot decorate generator function {fn.__qualname__!r}")
        is_async = inspect.iscoroutinefunction(fn)
        skip = 1 if is_method_qualname(fn) else 0
        op_name = op or fn.__name__
        method_name = _METHODS[mode] if is_async else _METHODS[mode] + "_sync"
        run: Callable[..., Any] = getattr(FailoverGroupView, method_name)

        def group_of() -> FailoverGroupView:
            if isinstance(name, FailoverGroupView):
                return name
            found: FailoverGroupView = reg.group(name)
            return found

        if is_async:

            async def call(*args: Any, **kwargs: Any) -> Any:
                return await run(group_of(), op_name, *args[skip:], **kwargs)

        else:

            def call(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                return run(group_of(), op_name, *args[skip:], **kwargs)

        functools.update_wrapper(call, fn)
        return wrap_pipeline(call, (), is_async)

    return decorate
