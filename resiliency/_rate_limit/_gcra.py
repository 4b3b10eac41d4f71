"""A rate limiter shared by every process on a store: GCRA, one script per round trip.

``SharedRateLimiter`` keeps ``RateLimiter``'s layers and waiting; only the token
decision moves to the store's ``limiter_acquire`` script (GCRA: the token bucket of
``TokenBucket`` kept as one theoretical arrival time), which is exact across processes.
A sync call makes one round trip. Async calls are coalesced: the calls of one event
loop that wait for Redis at the same moment go as one script call, which decides each
of them in order, so the count stays exact while the round trips are shared.

Tokens reserved by callers that were then cancelled are given back with the next
script call. When the store is down: "fail_open" takes tokens from the local bucket
(this process's share of the limit is then the whole limit); "fail_closed" refuses
with ``RateLimitedError``.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel

from .._clock import Clock, get_clock
from .._engine import AsyncLayer
from .._errors import RateLimitedError
from .._outcome import Failure
from .._store import Store, StoreDown
from ._limiter import RateLimiter

__all__ = ["Coalescer", "SharedRateLimiter"]

_NO_LIMIT = b"1e300"  # microseconds: as long as it takes (max_wait=inf)
_NO_WAIT = b"0"
_NO_REFUND = b"0"


def _micros(seconds: float) -> bytes:
    """A max_wait for the script, as the bytes redis-py would send (encoded once, here)."""
    if seconds == 0.0:
        return _NO_WAIT
    return _NO_LIMIT if seconds > 1e290 else repr(seconds * 1e6).encode()


class _Waiter:
    __slots__ = ("done", "error", "gone", "lead", "limit", "result")

    def __init__(self, limit: bytes) -> None:
        self.limit = limit
        self.done = anyio.Event()
        self.lead = False
        self.gone = False
        self.result = 0
        self.error: BaseException | None = None


class Coalescer:
    """Sends the acquires waiting at the same moment as one call; one call in flight at a time.

    The first caller sends the batch (itself included); callers that arrive meanwhile
    queue; when the reply comes, each gets its answer and the first queued caller leads
    the next batch. Used by the tasks of one event loop.

    Args:
        send: ``await send(limits)`` returns one reply per limit, in order.
        lost: called with the number of tokens granted to callers that had left.
    """

    def __init__(self, send: Callable[[list[bytes]], Awaitable[list[int]]], lost: Callable[[int], None]) -> None:
        self._send = send
        self._lost = lost
        self._queue: list[_Waiter] = []
        self._busy = False

    async def acquire(self, limit: bytes) -> int:
        """Return the script's reply for one caller (raises what the send raised)."""
        me = _Waiter(limit)
        self._queue.append(me)
        if self._busy:
            try:
                await me.done.wait()
            except BaseException:
                self._leave(me)
                raise
            if not me.lead:
                return self._answer(me)
        self._busy = True
        batch, self._queue = self._queue, []
        try:
            with anyio.CancelScope(shield=True):
                replies = await self._send([w.limit for w in batch])
        except BaseException as exc:
            for w in batch:
                w.error = exc
        else:
            for w, reply in zip(batch, replies, strict=True):
                w.result = int(reply)
        lost = 0
        for w in batch:
            if w.gone and w.error is None and w.result >= 0:
                lost += 1
            if w is not me:
                w.done.set()
        if lost:
            self._lost(lost)
        self._hand_on()
        return self._answer(me)

    def _hand_on(self) -> None:
        if self._queue:
            nxt = self._queue[0]
            nxt.lead = True
            nxt.done.set()
        else:
            self._busy = False

    def _leave(self, me: _Waiter) -> None:
        """A queued caller was cancelled: take it out, hand on the lead, or give its token back."""
        if me in self._queue:
            self._queue.remove(me)
            if me.lead:
                self._hand_on()
        elif me.lead:
            self._hand_on()
        elif me.done.is_set():
            if me.error is None and me.result >= 0:
                self._lost(1)
        else:
            me.gone = True  # its batch is in flight: the leader gives the token back

    @staticmethod
    def _answer(me: _Waiter) -> int:
        if me.error is not None:
            raise me.error
        return me.result


class SharedRateLimiter(RateLimiter):
    """A ``RateLimiter`` exact across every process on a store (see the module docstring)."""

    __slots__ = ("_args", "_coalescers", "_key", "_refunds", "_store")

    def _share(self, store: Store) -> None:
        if self.name is None:
            raise ValueError("a rate limiter shared through a store needs a name (got name=None)")
        p = self._policy
        self._store = store
        # Encoded once: redis-py sends bytes as they are (the sync path's cost is packing).
        self._key = (store.key("rl", self.name).encode(),)
        self._args = (repr(p.period / p.rate * 1e6).encode(), str(p.burst).encode())
        self._refunds = 0
        self._coalescers: dict[int, tuple[object, Coalescer]] = {}
        store.attach(None, self.registry)

    def _take_refunds(self) -> Any:
        if not self._refunds:  # read without the lock: a refund racing this call waits for the next
            return _NO_REFUND
        with self._lock:
            n, self._refunds = self._refunds, 0
        return n

    def _give_back(self, n: Any) -> None:
        if n is _NO_REFUND:
            return
        with self._lock:
            self._refunds += n

    def _verdict(self, reply: int) -> float | Failure:
        """0.0 (go), seconds to wait (reserved), or the rejection."""
        if reply >= 0:
            if reply == 0:
                with self._lock:
                    self.allowed += 1
                return 0.0
            return reply / 1e6
        with self._lock:
            self.rejected += 1
        return Failure(RateLimitedError(self, (-1 - reply) / 1e6))

    def _unreachable(self, clock: Clock, may_wait: bool) -> Any:
        if self._store.on_error == "fail_open":
            return RateLimiter._decide(self, clock, may_wait)
        with self._lock:
            self.rejected += 1
        return Failure(RateLimitedError(self, self._policy.period / self._policy.rate))

    def _decide(self, clock: Clock, may_wait: bool) -> Any:
        """Take a token from the store: 0.0 (go now), seconds to sleep (reserved), or a Failure."""
        refunds = self._take_refunds()
        try:
            reply = self._store.run(
                "limiter_acquire", self._key, (*self._args, refunds, _micros(self._max_wait(may_wait)))
            )
        except StoreDown:
            self._give_back(refunds)
            return self._unreachable(clock, may_wait)
        except BaseException:
            self._give_back(refunds)
            raise
        return self._verdict(int(reply))  # one caller: the script answers an integer

    def _settle(self, used: bool) -> None:
        """After a reserved wait: count the call, or give the token back with the next call."""
        if used:
            with self._lock:
                self.allowed += 1
        else:
            self._give_back(1)

    async def _send(self, limits: list[bytes]) -> list[int]:
        refunds = self._take_refunds()
        try:
            reply = await self._store.arun("limiter_acquire", self._key, (*self._args, refunds, *limits))
        except BaseException:
            self._give_back(refunds)
            raise
        return [reply] if len(limits) == 1 else list(reply)

    async def _adecide(self, clock: Clock) -> Any:
        """Async ``_decide``: the acquire joins the next coalesced script call."""
        # One coalescer per event loop: keyed by thread (one loop runs per thread at a
        # time) and replaced when that thread runs a new loop.
        ident, token = threading.get_ident(), anyio.lowlevel.current_token()
        entry = self._coalescers.get(ident)
        if entry is None or entry[0] != token:
            entry = self._coalescers[ident] = (token, Coalescer(self._send, self._give_back))
        coalescer = entry[1]
        try:
            reply = await coalescer.acquire(_micros(self._max_wait(True)))
        except StoreDown:
            return self._unreachable(clock, True)
        return self._verdict(reply)

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Layer for async callers: a token from the store (coalesced) before ``await inner``."""
        decide, settle, failure = self._adecide, self._settle, Failure

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            clock = self._clock or get_clock()
            wait = await decide(clock)
            if wait:
                if type(wait) is failure:
                    return wait
                try:
                    await clock.asleep(wait)
                except BaseException:
                    settle(False)
                    raise
                settle(True)
            return await inner(args, kwargs)

        return layer
