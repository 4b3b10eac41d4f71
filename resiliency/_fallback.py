"""``@fallback``: answer with a value, or a handler's answer, when the call fails.

The call's exception (matched by ``on=``) or a result refused by ``if_result=`` is
replaced by ``value`` or by ``handler(exc, *args, **kwargs)``; for a refused result the
handler gets ``None`` as ``exc``. An exception the handler raises is what the caller gets.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from ._decorators import Decorator, Target, apply_strategy
from ._engine import AsyncLayer, CallablePolicy, Strategy, SyncLayer
from ._outcome import Failure
from ._validate import check_callable, check_exception_filter

__all__ = ["FallbackPolicy", "FallbackStrategy", "fallback"]



class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


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

    Raises:
        TypeError: neither or both of ``value`` and ``handler``; a non-callable handler,
            predicate or bad ``on``.
    """

    value: Any = MISSING
    handler: Callable[..., Any] | None = None
    on: Any = Exception
    if_result: Callable[[Any], bool] | None = None
    _handles: Callable[[BaseException], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.value is MISSING) == (self.handler is None):
            raise TypeError(
                f"fallback needs exactly one of value= or handler= (got value={self.value!r}, handler={self.handler!r})"
            )
        check_callable("handler", self.handler, allow_none=True)
        check_callable("if_result", self.if_result, allow_none=True)
        object.__setattr__(self, "_handles", check_exception_filter("on", self.on))

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

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Replace a handled failure with the fallback's answer.

        Raises:
            TypeError: an ``async def`` handler on a sync callable.
        """
        policy = self._policy
        if inspect.iscoroutinefunction(policy.handler):
            raise TypeError(f"handler must be a plain function for a sync callable (got async {policy.handler!r})")

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            outcome = inner(args, kwargs)
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

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form; an async handler is awaited."""
        policy = self._policy

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            outcome = await inner(args, kwargs)
            if type(outcome) is not Failure and policy.if_result is None:
                return outcome
            wanted, error = self._wanted(outcome)
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

        return layer


@overload
def fallback(fn: Target, /) -> Target: ...
@overload
def fallback(
    *,
    value: Any = ...,
    handler: Callable[..., Any] | None = None,
    on: Any = Exception,
    if_result: Callable[[Any], bool] | None = None,
    policy: FallbackPolicy | None = None,
) -> Decorator: ...
def fallback(
    fn: Any = None,
    /,
    *,
    value: Any = MISSING,
    handler: Callable[..., Any] | None = None,
    on: Any = Exception,
    if_result: Callable[[Any], bool] | None = None,
    policy: FallbackPolicy | None = None,
) -> Any:
    """Answer with ``value`` or ``handler(exc, *args, **kwargs)`` when the call fails.

    ``@fallback(value=[])``, ``@fallback(handler=from_cache, on=ConnectionError)``,
    ``@fallback(policy=FallbackPolicy(...))``. Bare ``@fallback`` answers ``None``.

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
