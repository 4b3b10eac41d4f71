"""How a pool call runs on the failover engine: endpoints as providers, chosen lazily.

Nothing here retries or races: ``execute`` / ``execute_any`` hand a ``PoolPlan`` to a
``FailoverGroupView`` and its modes (sequential, any, their sync forms) do the rest,
exactly as for a group's providers. The plan is the pool's part: a sequence of
``Binding`` objects whose item ``i`` is chosen by the strategy only when the mode asks
for it, so a sequential call that succeeds at once makes one choice, and a failover
never picks an endpoint twice in one call until every usable one was tried.

Each endpoint gets one ``Binding`` per op and sync-ness, built on first use and kept:
its per-attempt chain is the endpoint's breaker (if any) over a leaf that counts the
call in flight, times it into the latency EWMA and calls ``fn(endpoint, *args,
**kwargs)``; its retry loop makes one attempt (moving on is the failover's job).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, overload

from .. import _clock
from .._clock import Clock
from .._failover._binding import Binding
from .._failover._core import GroupCore
from .._failover._view import FailoverGroupView
from .._retry_policy import RetryPolicy
from ._member import Member

if TYPE_CHECKING:
    from ._strategies import Strategy

__all__ = ["CallView", "PoolPlan", "make_binding"]

ONE_ATTEMPT = RetryPolicy(max_attempts=1)


def _leaf(member: Member, clock: Clock | None, is_async: bool) -> Callable[..., Any]:
    """The call of ``fn`` on ``member``'s endpoint, counted in flight and timed into its EWMA."""

    def now() -> float:
        return (clock or _clock._current).monotonic()

    if is_async:

        async def call_async(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            member.started()
            start = now()
            try:
                result = fn(member.endpoint, *args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result
            finally:
                end = now()
                member.ended(end, end - start)

        return call_async

    def call_sync(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        member.started()
        start = now()
        try:
            result = fn(member.endpoint, *args, **kwargs)
            if inspect.iscoroutine(result):
                result.close()
                raise TypeError(f"{fn!r} is async: use await pool.execute(...) instead of execute_sync")
            return result
        finally:
            end = now()
            member.ended(end, end - start)

    return call_sync


def make_binding(core: GroupCore, member: Member, op: str, is_async: bool) -> Binding:
    """Return ``member``'s binding for ``op`` (built once, shared by later calls)."""
    found: Binding | None = member.bindings.get((op, is_async))
    if found is not None:
        return found
    binding = Binding(
        provider=member.endpoint.id,
        op=op,
        priority=0,
        seq=0,
        owner=None,
        raw=_leaf(member, core.clock, is_async),
        strategies=() if member.breaker is None else (member.breaker,),
        is_async=is_async,
        policy=ONE_ATTEMPT,
        group=core.name,
        clock=core.clock,
        notifier=core.notifier,
        ring=core.ring,
    )
    twin = member.bindings.get((op, not is_async))
    if twin is not None:
        binding.recorder = twin.recorder  # one endpoint, one op: one set of counts
    kept: Binding = member.bindings.setdefault((op, is_async), binding)
    return kept


class PoolPlan:
    """The endpoints of one call, in the order the failover mode reaches them.

    Item 0 is the strategy's choice (``pick``) in the best priority tier; each later
    item is its failover choice among the tier's endpoints not tried yet
    (``pick_next``), made when the mode asks for it; an exhausted tier hands over to the
    next one. Once every usable endpoint was tried (``attempts`` larger than the pool),
    the round starts again.
    """

    __slots__ = ("_core", "_is_async", "_key", "_level", "_op", "_picked", "_size", "_strategy", "_tiers", "_tried")

    def __init__(
        self,
        core: GroupCore,
        strategy: Strategy,
        tiers: tuple[tuple[Member, ...], ...],
        key: Any,
        op: str,
        is_async: bool,
        size: int,
    ) -> None:
        self._core = core
        self._strategy = strategy
        self._tiers = tiers
        self._level = 0
        self._key = key
        self._op = op
        self._is_async = is_async
        self._size = size
        self._picked: list[Binding] = []
        self._tried: set[Member] = set()

    def __len__(self) -> int:
        return self._size

    def _extend(self) -> None:
        tried = self._tried
        if not self._picked:
            member = self._strategy.pick(self._tiers[0], self._key)
        else:
            if len(tried) >= len(self._tiers[self._level]):  # this tier is exhausted
                tried.clear()
                self._level = (self._level + 1) % len(self._tiers)
            member = self._strategy.pick_next(self._tiers[self._level], self._key, tried)
        tried.add(member)
        self._picked.append(make_binding(self._core, member, self._op, self._is_async))

    @overload
    def __getitem__(self, index: int) -> Binding: ...

    @overload
    def __getitem__(self, index: slice) -> list[Binding]: ...

    def __getitem__(self, index: int | slice) -> Binding | list[Binding]:
        picked = self._picked
        if isinstance(index, slice):
            while len(picked) < self._size:
                self._extend()
            return picked[index]
        if not -self._size <= index < self._size:
            raise IndexError(index)
        index %= self._size
        while len(picked) <= index:
            self._extend()
        return picked[index]

    def __iter__(self) -> Iterator[Binding]:
        for index in range(self._size):
            yield self[index]


class CallView(FailoverGroupView):
    """A failover view whose plan for the call is a ``PoolPlan`` (made per call)."""

    def __init__(self, core: GroupCore, plan: PoolPlan, hedge_delay: float | None = None) -> None:
        super().__init__(core, None, hedge_delay, None)
        self._pool_plan = plan

    def _plan(self, op: str, sync: bool = False) -> Any:
        return self._pool_plan
