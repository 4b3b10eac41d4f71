"""The engine: an ordered list of strategies turned into one callable, once.

A strategy is a small object with two thin layer factories, ``sync_layer(inner)`` and
``async_layer(inner)``. A layer is a callable ``(args, kwargs) -> value | Failure``:
on success it returns the value untouched (nothing allocated), on failure a
:class:`~resiliency._outcome.Failure`. The strategy's decisions live in its own pure
core, shared by both layers; the layers only call, sleep (through the clock) and
cancel (through anyio).

The pipeline composes the layers at decoration time, outermost strategy first, over a
leaf that turns the user's exception into a ``Failure``. The two drivers,
:func:`drive_sync` and :func:`drive_async`, are the only places that raise: they
re-raise the original exception object, traceback intact.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import CoroutineType
from typing import Any, NoReturn

from ._holds import leaves_work, mark_leaves_work
from ._outcome import Failure

__all__ = [
    "AsyncLayer",
    "CallablePolicy",
    "Pipeline",
    "Strategy",
    "SyncLayer",
    "drive_async",
    "drive_sync",
    "label_of",
    "raise_failure",
    "returned_awaitable",
]

SyncLayer = Callable[[tuple[Any, ...], dict[str, Any]], Any]
AsyncLayer = Callable[[tuple[Any, ...], dict[str, Any]], Awaitable[Any]]


class Strategy:
    """Base of every strategy: a kind name, a policy, and two layer factories.

    ``passthrough`` is true when the strategy does nothing at all around a first attempt
    that succeeds (no admission, no bookkeeping): a pipeline made only of such strategies
    calls the function directly and builds its layers only after a first failure.
    ``on_success``, when not None, is the one thing a strategy does around a first
    attempt: after it succeeds (``@cache_fallback`` stores the value); such a strategy
    joins the direct call too, its hook run on the success.
    """

    __slots__ = ()
    kind: str = "strategy"

    def adopt_label(self, qualname: str) -> None:
        """Take ``qualname`` as this strategy's ``label`` if it has none yet.

        A strategy that reports (events, metrics, error messages) keeps a ``label``: its
        name when given, else the qualified name of the first callable it decorates, so
        an unnamed strategy is never anonymous. Called once per pipeline, at decoration.
        """
        if getattr(self, "label", "") is None:  # "": a strategy that does not report
            setattr(self, "label", qualname)  # noqa: B010 - the slot is the subclass's

    @property
    def passthrough(self) -> bool:
        """Whether a first successful attempt needs nothing from this strategy."""
        return False

    @property
    def on_success(self) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        """``hook(value, args, kwargs) -> value`` after a first attempt that succeeded, or None."""
        return None

    @property
    def policy(self) -> Any:
        """The strategy's frozen configuration."""
        return None

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Return the layer that applies this strategy around ``inner`` (sync)."""
        raise NotImplementedError

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Return the layer that applies this strategy around ``inner`` (async)."""
        raise NotImplementedError

    def resume_sync(self, inner: SyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Go on as this strategy's layer would once ``inner`` has returned ``first``."""
        return self.sync_layer(_replay_sync(first, inner))(args, kwargs)

    async def resume_async(self, inner: AsyncLayer, first: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Async form of ``resume_sync``."""
        return await self.async_layer(_replay_async(first, inner))(args, kwargs)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.policy!r}>"


def returned_awaitable(fn: object, result: object, name: str | None = None) -> TypeError:
    """The error for a sync callable ``fn`` that returned an awaitable; ``result`` is closed.

    Such a call did nothing yet (an ``async def`` called without ``await``); taking the
    coroutine for a result would count a success that never ran. Closing it spares the
    "never awaited" warning. ``name`` replaces ``fn``'s qualified name in the message.
    """
    close = getattr(result, "close", None)
    if callable(close):
        close()
    if name is None:
        name = getattr(fn, "__qualname__", None) or repr(fn)
    return TypeError(
        f"{name} is a sync callable but returned an awaitable ({result!r}), which nothing will "
        "await: make it `async def` and await the call inside it"
    )


def sync_leaf(fn: Callable[..., Any], label: str | None = None) -> SyncLayer:
    """The innermost sync layer: call ``fn``, an exception becomes a ``Failure``.

    Raises:
        TypeError: ``fn`` returned a coroutine (see ``returned_awaitable``; ``label``
            names ``fn`` in the message).
    """
    coroutine = CoroutineType

    def leaf(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            return Failure(exc)
        if type(result) is coroutine:
            raise returned_awaitable(fn, result, label)
        return result

    return leaf


def async_leaf(fn: Callable[..., Awaitable[Any]]) -> AsyncLayer:
    """The innermost async layer: await ``fn``, an exception becomes a ``Failure``."""

    async def leaf(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            return Failure(exc)

    return leaf


class Pipeline:
    """The fused strategies over one function, with its composed layer chain.

    ``label`` names ``fn`` in the error a sync ``fn`` returning a coroutine gets.

    Attributes:
        fn: the user's function (the leaf).
        strategies: outermost first.
        is_async: whether the chain is async.
        chain: the composed layer, ``(args, kwargs) -> value | Failure``.
    """

    __slots__ = ("_partials", "chain", "fn", "hooks", "is_async", "passthrough", "strategies")

    def __init__(
        self, fn: Callable[..., Any], strategies: Sequence[Strategy], is_async: bool, *, label: str | None = None
    ) -> None:
        self.fn = fn
        self.strategies = tuple(strategies)
        self.is_async = is_async
        qualname = label_of(fn)
        for strategy in self.strategies:  # before the layers are built: they may capture it
            strategy.adopt_label(qualname)
        # _partials[k] is the chain of the k innermost strategies over the leaf.
        partials: list[Any] = [async_leaf(fn) if is_async else sync_leaf(fn, label)]
        for strategy in reversed(self.strategies):
            inner = partials[-1]
            layer = strategy.async_layer(inner) if is_async else strategy.sync_layer(inner)
            if leaves_work(inner):  # so a bulkhead further out knows (see _holds)
                mark_leaves_work(layer)
            partials.append(layer)
        self._partials = tuple(partials)
        self.chain = partials[-1]
        # Direct: the function is called first, the layers only after a failure; the
        # strategies' success hooks, innermost first, run on a first success.
        self.hooks = tuple(h for s in reversed(self.strategies) if (h := s.on_success) is not None)
        self.passthrough = all(s.passthrough or s.on_success is not None for s in self.strategies)

    def resume_sync(self, first: Failure, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Finish a call whose first attempt, made directly on ``fn``, failed with ``first``.

        Each strategy, innermost first, goes on from the outcome of the one inside it.
        Used by passthrough pipelines, whose strategies do nothing before an attempt.
        """
        if len(self.strategies) == 1:  # the common case, one call shorter
            return self.strategies[0].resume_sync(self._partials[0], first, args, kwargs)
        outcome: Any = first
        for k, strategy in enumerate(reversed(self.strategies)):
            outcome = strategy.resume_sync(self._partials[k], outcome, args, kwargs)
        return outcome

    async def resume_async(self, first: Failure, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Async form of ``resume_sync``."""
        if len(self.strategies) == 1:
            return await self.strategies[0].resume_async(self._partials[0], first, args, kwargs)
        outcome: Any = first
        for k, strategy in enumerate(reversed(self.strategies)):
            outcome = await strategy.resume_async(self._partials[k], outcome, args, kwargs)
        return outcome

    def with_outer(self, strategy: Strategy) -> Pipeline:
        """Return a new pipeline with ``strategy`` added outermost."""
        return Pipeline(self.fn, (strategy, *self.strategies), self.is_async)

    def __repr__(self) -> str:
        kinds = ", ".join(s.kind for s in self.strategies)
        return f"<Pipeline [{kinds}] over {getattr(self.fn, '__qualname__', self.fn)!r}>"


def label_of(fn: object) -> str:
    """The qualified name of ``fn`` (through ``__wrapped__`` and bound methods), else its type's."""
    target = getattr(fn, "__func__", fn)
    qualname = getattr(target, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = type(fn).__qualname__
    return qualname


def _replay_sync(first: Any, inner: SyncLayer) -> SyncLayer:
    """A layer whose first call returns ``first`` (an attempt already made)."""
    pending = [first]

    def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if pending:
            return pending.pop()
        return inner(args, kwargs)

    return layer


def _replay_async(first: Any, inner: AsyncLayer) -> AsyncLayer:
    """Async form of ``_replay_sync``."""
    pending = [first]

    async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if pending:
            return pending.pop()
        return await inner(args, kwargs)

    return layer


def raise_failure(failure: Failure) -> NoReturn:
    """Raise the exception a ``Failure`` holds, unchanged.

    The error's traceback keeps the caller's frame alive; if that frame still holds the
    ``Failure`` (a local), the two form a cycle that only the GC frees. The drivers and
    the decorator wrappers therefore inline the idiom instead: take the error, set the
    local to None, ``raise`` it in a ``try`` whose ``finally`` deletes it. (Frames below
    the driver that held the outcome can still be kept by the traceback; the GC frees
    those; no object leaks.)
    """
    error = failure.error
    try:
        raise error
    finally:
        del error, failure


def drive_sync(chain: SyncLayer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a sync chain; return its value or raise its exception."""
    result = chain(args, kwargs)
    if type(result) is Failure:
        error, result = result.error, None  # no frame -> error -> traceback -> frame cycle
        try:
            raise error
        finally:
            del error
    return result


async def drive_async(chain: AsyncLayer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run an async chain; return its value or raise its exception."""
    result = await chain(args, kwargs)
    if type(result) is Failure:
        error, result = result.error, None  # no frame -> error -> traceback -> frame cycle
        try:
            raise error
        finally:
            del error
    return result


class CallablePolicy:
    """Mixin giving a policy its one-off call forms, ``call`` and ``acall``."""

    __slots__ = ()

    def to_strategy(self) -> Strategy:
        """Return a strategy applying this policy (private to one call site)."""
        raise NotImplementedError

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)`` once under this policy; return or raise as it does."""
        return drive_sync(Pipeline(fn, (self.to_strategy(),), False).chain, args, kwargs)

    async def acall(self, fn: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> Any:
        """Await ``fn(*args, **kwargs)`` once under this policy; return or raise as it does."""
        return await drive_async(Pipeline(fn, (self.to_strategy(),), True).chain, args, kwargs)
