"""``@fallback``: answer with a value, or a handler's answer, when the call fails.

The call's exception (matched by ``on=``) or a result refused by ``if_result=`` is
replaced by ``value`` or by ``handler(exc, *args, **kwargs)``; for a refused result the
handler gets ``None`` as ``exc``. An exception the handler raises is what the caller gets.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, overload

from ._decorators import apply_strategy, is_async_callable
from ._engine import AsyncLayer, CallablePolicy, Strategy, SyncLayer
from ._fallback_typing import Widening
from ._outcome import Failure
from ._validate import check_callable, check_exception_filter, init_fields, rebuild

__all__ = ["FallbackPolicy", "FallbackStrategy", "fallback"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C")
V = TypeVar("V")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"  # unpickled as this module's MISSING, the one instance


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class FallbackPolicy(CallablePolicy):
    """What to answer instead of a failure.

    Args:
        value: the value to return instead (give this or ``handler``).
        handler: ``handler(exc, *args, **kwargs)`` returning the answer; may be async
            for async callables. ``exc`` is None when ``if_result`` refused a result.
        on: exception types or a predicate that the fallback handles (default
            ``Exception``); others pass through unchanged.
        if_result: predicate on a result that asks for the fallback too.

    A predicate (``on``, ``if_result``) or the handler may be ``async def`` for an
    async callable, where it is awaited; on a sync callable that is a ``TypeError``.

    Raises:
        TypeError: neither or both of ``value`` and ``handler``; a non-callable handler,
            predicate or bad ``on``.
    """

    value: Any = MISSING
    handler: Callable[..., Any] | None = None
    on: Any = Exception
    if_result: Callable[[Any], object] | None = None
    _handles: Callable[[BaseException], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.value is MISSING) == (self.handler is None):
            raise TypeError(
                f"fallback needs exactly one of value= or handler= (got value={self.value!r}, handler={self.handler!r})"
            )
        check_callable("handler", self.handler, allow_none=True)
        check_callable("if_result", self.if_result, allow_none=True)
        object.__setattr__(self, "_handles", check_exception_filter("on", self.on))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its fields; the cached exception filter is rebuilt.
        return (rebuild, (FallbackPolicy, init_fields(self)))

    def to_strategy(self) -> FallbackStrategy:
        """Return a strategy applying this policy."""
        return FallbackStrategy(self)


class FallbackStrategy(Strategy):
    """The fallback strategy in a pipeline."""

    __slots__ = ("_policy",)
    kind = "fallback"

    def __init__(self, policy: FallbackPolicy) -> None:
        self._policy = policy

    @property
    def policy(self) -> FallbackPolicy:
        """The ``FallbackPolicy`` this strategy applies."""
        return self._policy

    @property
    def passthrough(self) -> bool:
        """True unless results are checked with ``if_result``."""
        return self._policy.if_result is None

    def _wanted(self, outcome: Any) -> tuple[bool, BaseException | None]:
        policy = self._policy
        if type(outcome) is Failure:
            return policy._handles(outcome.error), outcome.error
        return policy.if_result is not None and bool(policy.if_result(outcome)), None

    async def _awanted(self, outcome: Any) -> tuple[bool, BaseException | None]:
        """``_wanted``, awaiting an ``async def`` ``on`` or ``if_result`` predicate."""
        policy = self._policy
        verdict: Any
        if type(outcome) is Failure:
            verdict = policy._handles(outcome.error)
            return bool(await verdict if inspect.isawaitable(verdict) else verdict), outcome.error
        if policy.if_result is None:
            return False, None
        verdict = policy.if_result(outcome)
        return bool(await verdict if inspect.isawaitable(verdict) else verdict), None

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Replace a handled failure with the fallback's answer.

        Raises:
            TypeError: an ``async def`` handler or predicate on a sync callable.
        """
        policy = self._policy
        async_on = None if isinstance(policy.on, (type, tuple, list, set, frozenset)) else policy.on
        for param, given in (("handler", policy.handler), ("if_result", policy.if_result), ("on", async_on)):
            if is_async_callable(given):
                raise TypeError(f"{param} must be a plain function for a sync callable (got async {given!r})")

        settle = self._settle_sync

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return settle(inner(args, kwargs), args, kwargs)

        return layer

    def _settle_sync(self, outcome: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The answer to ``outcome``: itself, the fallback value, or the handler's answer."""
        policy = self._policy
        if type(outcome) is not Failure and policy.if_result is None:
            return outcome
        wanted, error = self._wanted(outcome)
        if not wanted:
            return outcome
        if policy.handler is None:
            return policy.value
        try:
            return policy.handler(error, *args, **kwargs)
        except Exception as exc:
            return Failure(exc)

    def resume_sync(self, inner: SyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Answer a first attempt that failed, without building a layer (the checks ran at decoration)."""
        return self._settle_sync(first, args, kwargs)

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form; an async handler is awaited."""
        settle = self._settle_async

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return await settle(await inner(args, kwargs), args, kwargs)

        return layer

    async def _settle_async(self, outcome: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Async form of ``_settle_sync``; an async handler or predicate is awaited."""
        policy = self._policy
        if type(outcome) is not Failure and policy.if_result is None:
            return outcome
        wanted, error = await self._awanted(outcome)
        if not wanted:
            return outcome
        if policy.handler is None:
            return policy.value
        try:
            answer = policy.handler(error, *args, **kwargs)
            if inspect.isawaitable(answer):
                answer = await answer
            return answer
        except Exception as exc:
            return Failure(exc)

    async def resume_async(self, inner: AsyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Async form of ``resume_sync``."""
        return await self._settle_async(first, args, kwargs)


@overload
def fallback(  # type: ignore[overload-overlap]
    fn: Callable[P, Coroutine[Any, Any, R]], /
) -> Callable[P, Coroutine[Any, Any, R | None]]: ...
@overload
def fallback(fn: Callable[P, R], /) -> Callable[P, R | None]: ...
@overload
def fallback(fn: classmethod[C, P, Coroutine[Any, Any, R]], /) -> classmethod[C, P, Coroutine[Any, Any, R | None]]: ...
@overload
def fallback(fn: classmethod[C, P, R], /) -> classmethod[C, P, R | None]: ...
@overload
def fallback(fn: staticmethod[P, Coroutine[Any, Any, R]], /) -> staticmethod[P, Coroutine[Any, Any, R | None]]: ...
@overload
def fallback(fn: staticmethod[P, R], /) -> staticmethod[P, R | None]: ...
@overload
def fallback(
    *,
    value: V,
    on: Any = Exception,
    if_result: Callable[[Any], object] | None = None,
) -> Widening[V]: ...
@overload
def fallback(
    *,
    handler: Callable[..., Coroutine[Any, Any, V]],
    on: Any = Exception,
    if_result: Callable[[Any], object] | None = None,
) -> Widening[V]: ...
@overload
def fallback(
    *,
    handler: Callable[..., V],
    on: Any = Exception,
    if_result: Callable[[Any], object] | None = None,
) -> Widening[V]: ...
@overload
def fallback(*, policy: FallbackPolicy) -> Widening[Any]: ...
def fallback(
    fn: Any = None,
    /,
    *,
    value: Any = MISSING,
    handler: Callable[..., Any] | None = None,
    on: Any = Exception,
    if_result: Callable[[Any], object] | None = None,
    policy: FallbackPolicy | None = None,
) -> Any:
    """Answer with ``value`` or ``handler(exc, *args, **kwargs)`` when the call fails.

    ``@fallback(value=[])``, ``@fallback(handler=from_cache, on=ConnectionError)``,
    ``@fallback(policy=FallbackPolicy(...))``. Bare ``@fallback`` answers ``None``.

    For type checkers the decorated callable keeps its parameters and its return type
    widens by the answer's: ``@fallback(value=None)`` on ``-> float`` gives
    ``-> float | None``; a handler widens it by its (awaited) return type; with
    ``policy=`` the answer's type is unknown (``Any``).

    Raises:
        TypeError: (at decoration) neither or both of value and handler, bad ``on``.
    """
    if policy is None:
        if fn is not None and value is MISSING and handler is None:
            value = None
        policy = FallbackPolicy(value, handler, on, if_result)
    elif not isinstance(policy, FallbackPolicy):
        raise TypeError(f"policy must be a FallbackPolicy (got {policy!r})")
    strategy = FallbackStrategy(policy)
    if fn is not None:
        return apply_strategy(fn, strategy)
    return lambda target: apply_strategy(target, strategy)
