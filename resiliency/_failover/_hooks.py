"""Failover hooks and events: ``Hooks``, ``ProviderContext`` and the ``Notifier``.

Hooks and registry listeners are told about every provider attempt; a provider object's
own ``before_execute_op`` / ``after_execute_op`` wrap each of its attempts. The ``Notifier``
builds a context or an event only when someone listens (``active``), and a hook or
listener that raises is logged and never changes the outcome of the call.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .._errors import ProviderAttemptError
from .._events import AllProvidersFailed, ProviderFailed, ProviderSucceeded
from .._registry import Registry
from .._validate import check_callable

__all__ = ["CALL_MODE", "Hooks", "Notifier", "ProviderContext", "call_guarded", "discard", "with_provider_hooks"]

logger = logging.getLogger("resiliency")


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What a failover hook learns about an attempt.

    Attributes:
        provider: the provider's name (``None`` for ``on_all_failed``).
        op: the operation.
        attempt: 1-based attempt number within the provider's retry loop (for
            ``on_all_failed``: the number of attempts made by all providers).
        duration: seconds the attempt took (``on_all_failed``: the whole group call).
        delay: seconds waited before this attempt (the backoff; 0.0 for the first).
        args: the positional arguments of the call.
        kwargs: the keyword arguments of the call.
        group: the group's name.
    """

    provider: str | None
    op: str
    attempt: int
    duration: float
    delay: float
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    group: str = ""


@dataclass(frozen=True, slots=True)
class Hooks:
    """Callbacks of a failover group; each may be a plain or an ``async`` function.

    An async hook is awaited in async calls; in sync calls (``execute_sync``...) it
    cannot be awaited and is skipped with a logged warning. A hook that raises is logged
    and never changes the outcome.

    Args:
        on_provider_success: ``(ctx, result)`` after a provider's successful attempt.
        on_provider_fail: ``(ctx, error)`` after each failed attempt (including a breaker
            rejection).
        on_all_failed: ``(ctx, attempts)`` before ``AllProvidersFailedError`` is raised
            (``attempts``: the ``ProviderAttemptError`` list, in order).

    Raises:
        TypeError: a hook that is not callable.
    """

    on_provider_success: Callable[[ProviderContext, Any], object] | None = None
    on_provider_fail: Callable[[ProviderContext, BaseException], object] | None = None
    on_all_failed: Callable[[ProviderContext, list[ProviderAttemptError]], object] | None = None

    def __post_init__(self) -> None:
        check_callable("on_provider_success", self.on_provider_success, allow_none=True)
        check_callable("on_provider_fail", self.on_provider_fail, allow_none=True)
        check_callable("on_all_failed", self.on_all_failed, allow_none=True)


def call_guarded(hook: Callable[..., object], *args: Any) -> Awaitable[None] | None:
    """Call ``hook(*args)``; log what it raises; return a guarded awaitable if it gave one."""
    try:
        result = hook(*args)
    except Exception:
        logger.exception("failover hook %r raised", hook)
        return None
    if inspect.isawaitable(result):
        return _Guarded(hook, result)
    return None


class _Guarded:
    """An awaitable a hook returned: awaiting it logs what it raises; ``close()`` drops it."""

    __slots__ = ("hook", "pending")

    def __init__(self, hook: object, pending: Awaitable[object]) -> None:
        self.hook = hook
        self.pending = pending

    def __await__(self) -> Generator[Any, None, None]:
        return self._run().__await__()

    async def _run(self) -> None:
        try:
            await self.pending
        except Exception:
            logger.exception("failover hook %r raised", self.hook)

    def close(self) -> None:
        close = getattr(self.pending, "close", None)
        if close is not None:
            close()


def discard(pending: Awaitable[None] | None) -> None:
    """In a sync call: drop an awaitable a hook returned (it cannot be awaited here)."""
    if pending is None:
        return
    close = getattr(pending, "close", None)
    if close is not None:
        close()
    logger.warning("an async failover hook or provider hook cannot run in a sync call; skipped")


class Notifier:
    """Tells hooks and registry listeners about attempts; builds nothing when none listen."""

    __slots__ = ("group", "hooks", "registry")

    def __init__(self, group: str, hooks: Hooks | None, registry: Registry) -> None:
        self.group = group
        self.hooks = hooks if hooks is not None and any(_hook_list(hooks)) else None
        self.registry = registry

    @property
    def active(self) -> bool:
        """Whether a hook or a listener would hear anything."""
        return self.hooks is not None or bool(self.registry.listeners)

    def _ctx(
        self, provider: str | None, op: str, attempt: int, duration: float, delay: float, args: Any, kwargs: Any
    ) -> ProviderContext:
        return ProviderContext(provider, op, attempt, duration, delay, args, kwargs, self.group)

    def success(
        self,
        provider: str,
        op: str,
        attempt: int,
        duration: float,
        delay: float,
        args: Any,
        kwargs: Any,
        result: Any,
        breaker: Any = None,
    ) -> Awaitable[None] | None:
        """Report a successful attempt; return an awaitable when an async hook runs."""
        if self.registry.listeners:
            state = None if breaker is None else breaker.state.value
            event = ProviderSucceeded(self.group, provider, op, attempt, duration, _call_mode(), state)
            self.registry.emit(event)
        hook = self.hooks.on_provider_success if self.hooks is not None else None
        if hook is None:
            return None
        return call_guarded(hook, self._ctx(provider, op, attempt, duration, delay, args, kwargs), result)

    def failure(
        self,
        provider: str,
        op: str,
        attempt: int,
        duration: float,
        delay: float,
        args: Any,
        kwargs: Any,
        error: BaseException,
        breaker: Any = None,
    ) -> Awaitable[None] | None:
        """Report a failed attempt; return an awaitable when an async hook runs."""
        if self.registry.listeners:
            state = None if breaker is None else breaker.state.value
            event = ProviderFailed(self.group, provider, op, attempt, duration, error, _call_mode(), state)
            self.registry.emit(event)
        hook = self.hooks.on_provider_fail if self.hooks is not None else None
        if hook is None:
            return None
        return call_guarded(hook, self._ctx(provider, op, attempt, duration, delay, args, kwargs), error)

    def all_failed(
        self, op: str, attempts: Sequence[ProviderAttemptError], duration: float, args: Any, kwargs: Any
    ) -> Awaitable[None] | None:
        """Report that every provider failed ``op``."""
        if self.registry.listeners:
            self.registry.emit(AllProvidersFailed(self.group, op, tuple(attempts)))
        hook = self.hooks.on_all_failed if self.hooks is not None else None
        if hook is None:
            return None
        return call_guarded(hook, self._ctx(None, op, len(attempts), duration, 0.0, args, kwargs), list(attempts))


CALL_MODE: ContextVar[str | None] = ContextVar("resiliency_failover_mode", default=None)
"""The mode of the group call running in this context (set only while events are on)."""
_call_mode = CALL_MODE.get


def _hook_list(hooks: Hooks) -> list[object]:
    return [hooks.on_provider_success, hooks.on_provider_fail, hooks.on_all_failed]


def with_provider_hooks(fn: Callable[..., Any], owner: object, op: str, is_async: bool) -> Callable[..., Any]:
    """Wrap ``fn`` with the owner's ``before_execute_op`` / ``after_execute_op``, if any."""
    before = getattr(owner, "before_execute_op", None) if owner is not None else None
    after = getattr(owner, "after_execute_op", None) if owner is not None else None
    if before is None and after is None:
        return fn
    if is_async:

        @functools.wraps(fn)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            if before is not None:
                pending = call_guarded(before, op, args, kwargs)
                if pending is not None:
                    await pending
            result = await fn(*args, **kwargs)
            if after is not None:
                pending = call_guarded(after, op, result)
                if pending is not None:
                    await pending
            return result

        return call_async

    @functools.wraps(fn)
    def call_sync(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            discard(call_guarded(before, op, args, kwargs))
        result = fn(*args, **kwargs)
        if after is not None:
            discard(call_guarded(after, op, result))
        return result

    return call_sync
