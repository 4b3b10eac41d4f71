"""Decorator glue: put a strategy on a callable, fusing stacks into one pipeline.

Decided once per target, at decoration time:

- a plain function (and so an instance method, which is a function in the class body)
  or a callable object gets a closure built once; a decorated method keeps binding like
  a function, because it is one;
- a ``classmethod`` or ``staticmethod`` object gets a ``wrapt.FunctionWrapper``, whose
  binding semantics hand over the class on every access (this is the one module that
  touches wrapt);
- a target that already carries a pipeline (a closure or wrapper made here) gets the new
  strategy added outermost to its pipeline, and the old wrapper is dropped: a stack
  costs one wrapper.

Generator and async generator functions, and callable objects whose ``__call__`` is
one, are refused with a ``TypeError``. A sync callable that returns a coroutine (an
``async def`` called without ``await``) raises ``TypeError`` at the call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import CoroutineType
from typing import Any, Protocol, TypeVar

import wrapt

from ._engine import Pipeline, Strategy, drive_async, drive_sync, returned_awaitable
from ._outcome import Failure

__all__ = [
    "Decorator",
    "Target",
    "apply_strategy",
    "describe",
    "is_async_callable",
    "is_generator_callable",
    "pipeline_of",
]

# What a decorator accepts bare: a callable, or a classmethod/staticmethod object.
Target = TypeVar("Target", bound="Callable[..., Any] | classmethod[Any, Any, Any] | staticmethod[Any, Any]")
PIPELINE_ATTR = "__resiliency_pipeline__"


class Decorator(Protocol):
    """A decorator that returns what it is given, typed: the signature is kept."""

    def __call__(self, fn: Target, /) -> Target: ...


def is_async_callable(fn: object) -> bool:
    """Return whether calling ``fn`` gives an awaitable (coroutine function or object)."""
    if inspect.iscoroutinefunction(fn):
        return True
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        return inspect.iscoroutinefunction(getattr(type(fn), "__call__", None))
    return False


def is_generator_callable(fn: object) -> bool:
    """Return whether calling ``fn`` gives a generator or async generator (function or object)."""
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or isinstance(fn, type):
        return False
    call = getattr(type(fn), "__call__", None)
    return inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call)


def _check_target(fn: object) -> None:
    if is_generator_callable(fn):
        if inspect.isfunction(fn) or inspect.ismethod(fn):
            what = f"generator function {fn.__qualname__}"
        else:
            what = f"{fn!r}, whose __call__ is a generator"
        raise TypeError(
            f"cannot decorate {what}: a resilience strategy needs a "
            "function that returns (or an async function that returns), not one that yields"
        )
    if not callable(fn):
        raise TypeError(f"the decorated object must be a callable, classmethod or staticmethod (got {fn!r})")


def _make_sync_wrapper(pipeline: Pipeline) -> Callable[..., Any]:
    chain = pipeline.chain
    failure = Failure

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = chain(args, kwargs)
        if type(result) is failure:
            error, result = result.error, None  # see raise_failure
            try:
                raise error
            finally:
                del error
        return result

    return wrapper


def _make_async_wrapper(pipeline: Pipeline) -> Callable[..., Any]:
    chain = pipeline.chain
    failure = Failure

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = await chain(args, kwargs)
        if type(result) is failure:
            error, result = result.error, None  # see raise_failure
            try:
                raise error
            finally:
                del error
        return result

    return wrapper


# Passthrough pipelines (only strategies that do nothing around a successful first
# attempt, e.g. retry and fallback) call the function directly: the success path costs
# one closure and a try block; the layers are built only after a first failure.


def _make_sync_direct(pipeline: Pipeline) -> Callable[..., Any]:
    if pipeline.hooks:
        return _make_sync_hooked(pipeline)
    fn = pipeline.fn
    resume = pipeline.resume_sync
    failure = Failure
    coroutine = CoroutineType

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            first = failure(exc)
        else:
            if type(result) is not coroutine:
                return result
            raise returned_awaitable(fn, result)
        result = resume(first, args, kwargs)
        del first  # the first error's traceback holds this frame: no cycle back to it
        if type(result) is failure:
            error, result = result.error, None  # see raise_failure
            try:
                raise error
            finally:
                del error
        return result

    return wrapper


def _make_sync_hooked(pipeline: Pipeline) -> Callable[..., Any]:
    """``_make_sync_direct`` with success hooks (a separate closure: none costs nothing)."""
    fn = pipeline.fn
    resume = pipeline.resume_sync
    hooks = pipeline.hooks
    failure = Failure
    coroutine = CoroutineType

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            first = failure(exc)
        else:
            if type(result) is coroutine:
                raise returned_awaitable(fn, result)
            for hook in hooks:
                result = hook(result, args, kwargs)
            return result
        result = resume(first, args, kwargs)
        del first  # see _make_sync_direct
        if type(result) is failure:
            error, result = result.error, None  # see raise_failure
            try:
                raise error
            finally:
                del error
        return result

    return wrapper


def _make_async_direct(pipeline: Pipeline) -> Callable[..., Any]:
    if pipeline.hooks:
        return _make_async_hooked(pipeline)
    fn = pipeline.fn
    resume = pipeline.resume_async
    failure = Failure

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            first = failure(exc)
        result = await resume(first, args, kwargs)
        del first  # see _make_sync_direct
        if type(result) is failure:
            error, result = result.error, None  # see raise_failure
            try:
                raise error
            finally:
                del error
        return result

    return wrapper


def _make_async_hooked(pipeline: Pipeline) -> Callable[..., Any]:
    """``_make_async_direct`` with success hooks."""
    fn = pipeline.fn
    resume = pipeline.resume_async
    hooks = pipeline.hooks
    failure = Failure

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:
            first = failure(exc)
        else:
            for hook in hooks:
                result = hook(result, args, kwargs)
            return result
        result = await resume(first, args, kwargs)
        del first  # see _make_sync_direct
        if type(result) is failure:
            error, result = result.error, None  # see raise_failure
            try:
                raise error
            finally:
                del error
        return result

    return wrapper


def _make_wrapper(pipeline: Pipeline) -> Callable[..., Any]:
    if pipeline.is_async:
        return _make_async_direct(pipeline) if pipeline.passthrough else _make_async_wrapper(pipeline)
    return _make_sync_direct(pipeline) if pipeline.passthrough else _make_sync_wrapper(pipeline)


def _closure_pipeline(target: object) -> Pipeline | None:
    # Only a closure made here counts: a user's functools.wraps copies our attribute
    # onto its own wrapper, whose code is not ours, so it is never fused through.
    if inspect.ismethod(target):  # a bound method forwards its function's attributes
        return None
    code = getattr(target, "__code__", None)
    if code not in _WRAPPER_CODES:
        return None
    pipeline: Pipeline | None = getattr(target, PIPELINE_ATTR, None)
    return pipeline


def _wrap_function(pipeline: Pipeline) -> Callable[..., Any]:
    wrapper = _make_wrapper(pipeline)
    functools.update_wrapper(wrapper, pipeline.fn)
    # Tools that read defaults off the function (not through inspect.signature) see the
    # user's, from the function inspect.signature reports. The wrapper takes only *args
    # and **kwargs, so Python never applies them.
    try:
        source = inspect.unwrap(pipeline.fn)
    except ValueError:  # a __wrapped__ cycle
        source = pipeline.fn
    if inspect.isfunction(source):
        wrapper.__defaults__ = source.__defaults__
        wrapper.__kwdefaults__ = source.__kwdefaults__
    setattr(wrapper, PIPELINE_ATTR, pipeline)
    return wrapper


class _DescriptorWrapper(wrapt.FunctionWrapper):  # type: ignore[type-arg]
    """A classmethod or staticmethod with a pipeline; wrapt binds it on each access."""

    def __init__(self, descriptor: classmethod[Any, Any, Any] | staticmethod[Any, Any], pipeline: Pipeline) -> None:
        chain = pipeline.chain
        prepend_class = isinstance(descriptor, classmethod)

        if pipeline.is_async:

            async def call(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
                return await drive_async(chain, (instance, *args) if prepend_class else args, kwargs)

        else:

            def call(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:  # type: ignore[misc]
                return drive_sync(chain, (instance, *args) if prepend_class else args, kwargs)

        super().__init__(descriptor, call)  # type: ignore[arg-type]
        self._self_pipeline = pipeline


def apply_strategy(target: Any, strategy: Strategy) -> Any:
    """Return ``target`` protected by ``strategy``, outermost, fused with any pipeline.

    Raises:
        TypeError: ``target`` is a generator function or not callable.
    """
    if isinstance(target, _DescriptorWrapper):
        pipeline = target._self_pipeline.with_outer(strategy)
        return _DescriptorWrapper(target.__wrapped__, pipeline)  # type: ignore[arg-type]
    if isinstance(target, (classmethod, staticmethod)):
        fn = target.__func__
        inner = _closure_pipeline(fn)
        if inner is not None:
            pipeline = inner.with_outer(strategy)
            descriptor = type(target)(pipeline.fn)
        else:
            _check_target(fn)
            pipeline = Pipeline(fn, (strategy,), is_async_callable(fn))
            descriptor = target
        return _DescriptorWrapper(descriptor, pipeline)
    inner = _closure_pipeline(target)
    if inner is not None:
        return _wrap_function(inner.with_outer(strategy))
    _check_target(target)
    return _wrap_function(Pipeline(target, (strategy,), is_async_callable(target)))


def wrap_pipeline(fn: Callable[..., Any], strategies: tuple[Strategy, ...], is_async: bool) -> Callable[..., Any]:
    """Return a decorated closure running ``strategies`` over ``fn`` (used by entry points)."""
    return _wrap_function(Pipeline(fn, strategies, is_async))


def pipeline_of(fn: object) -> Pipeline | None:
    """Return the pipeline a decorated callable runs, or ``None`` if it has none."""
    if isinstance(fn, _DescriptorWrapper):
        pipeline: Pipeline = fn._self_pipeline
        return pipeline
    parent = getattr(fn, "_self_parent", None)  # a wrapt bound wrapper
    if isinstance(parent, _DescriptorWrapper):
        return pipeline_of(parent)
    if isinstance(fn, (classmethod, staticmethod)):
        return pipeline_of(fn.__func__)
    if inspect.ismethod(fn):
        bound_self = fn.__self__
        func = fn.__func__
        if isinstance(func, _DescriptorWrapper):
            return pipeline_of(func)
        if bound_self is not None:
            return _closure_pipeline(func)
    return _closure_pipeline(fn)


def describe(fn: object) -> list[Strategy]:
    """Return the strategies protecting a decorated callable, outermost first.

    Each item has ``.kind`` ("retry", "circuit_breaker", "timeout", ...) and
    ``.policy``. A callable with no strategy gives an empty list. A plain decorator
    made with ``functools.wraps`` is looked through (its ``__wrapped__`` is followed).
    """
    seen: set[int] = set()
    target: object = fn
    while target is not None and id(target) not in seen:
        pipeline = pipeline_of(target)
        if pipeline is not None:
            return list(pipeline.strategies)
        seen.add(id(target))
        target = getattr(target, "__wrapped__", None)
    return []


_WRAPPER_CODES = frozenset(
    _make_wrapper(Pipeline(probe, (), is_async)).__code__
    for probe, is_async in ((lambda: None, False), (lambda: None, True))
) | frozenset(
    make(Pipeline(lambda: None, (), is_async)).__code__
    for make, is_async in (
        (_make_sync_wrapper, False),
        (_make_async_wrapper, True),
        (_make_sync_hooked, False),
        (_make_async_hooked, True),
    )
)
