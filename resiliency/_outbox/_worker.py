"""``OutboxWorker``: applies deferred calls through their group, at least once.

Each round claims ready items (a lease of ``lease`` seconds each), runs them through the
group's own ``execute`` (its providers, retry policies and breakers), and then marks each
done, pending again after a backoff, or dead after ``max_attempts``. An item whose worker
died is claimed again once its lease ran out.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio

from .._backoff import compute_delay
from .._validate import check_count, check_duration, message
from ._context import _KEY
from ._item import OutboxItem
from ._outbox import Outbox, item_of
from ._sqlite import Claimed

__all__ = ["OutboxWorker"]


class OutboxWorker:
    """Drains an ``Outbox`` into a ``FailoverGroup``.

    Args:
        outbox: the outbox to drain.
        group: the group whose ``execute`` (async) or ``execute_sync`` (sync) applies
            each item's op.
        concurrency: items applied at once.
        max_attempts: worker attempts per item before it goes to the dead letters.
        lease: seconds an item is reserved for this worker; past it, another worker
            takes it (this one is presumed dead).
        base_delay: backoff after an item's first failed attempt, seconds; later ones
            grow exponentially with full jitter up to ``max_delay``.
        max_delay: cap on the backoff, seconds.
        poll_interval: seconds between looks at an empty outbox in ``run``.
        rng: the random source of the jitter (seed it in tests).

    Raises:
        TypeError, ValueError: a bad argument (the message names it).
    """

    def __init__(
        self,
        outbox: Outbox,
        group: Any,
        *,
        concurrency: int = 4,
        max_attempts: int = 10,
        lease: float = 30.0,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        poll_interval: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(outbox, Outbox):
            raise TypeError(message("outbox", "an Outbox", outbox))
        if not callable(getattr(group, "execute_sync", None)):
            raise TypeError(message("group", "a FailoverGroup", group))
        self.outbox = outbox
        self.group = group
        self.concurrency: int = check_count("concurrency", concurrency)
        self.max_attempts: int = check_count("max_attempts", max_attempts)
        self.lease: float = check_duration("lease", lease, allow_zero=False)
        self.base_delay: float = check_duration("base_delay", base_delay)
        self.max_delay: float = check_duration("max_delay", max_delay)
        if self.max_delay < self.base_delay:
            raise ValueError(message("max_delay", f"a duration >= base_delay={self.base_delay}", max_delay))
        self.poll_interval: float = check_duration("poll_interval", poll_interval, allow_zero=False)
        self._rng = rng if rng is not None else random.Random()
        self._stop = threading.Event()
        self._count_lock = threading.Lock()
        self.applied = 0
        self.failed = 0

    # -- one item: the decision, shared by both runners -----------------------------------

    def _settle(self, row: Claimed, error: BaseException | None, acks: list[str] | None = None) -> None:
        """Mark an attempt's item done (now, or into ``acks`` for the next claim), pending or dead."""
        item_id, token, attempts = row[0], row[8], row[4]
        if error is None:
            if acks is None:
                self.outbox.backend.ack(item_id)
            else:
                acks.append(item_id)  # list.append is atomic: pool threads share the list
            with self._count_lock:
                self.applied += 1
            return
        with self._count_lock:
            self.failed += 1
        text = f"{type(error).__name__}: {error}"
        if attempts >= self.max_attempts:
            self.outbox.backend.nack(item_id, token, text, None)
            return
        delay = compute_delay(
            "full_jitter", attempts, 0.0, base=self.base_delay, max_delay=self.max_delay, multiplier=2.0, rng=self._rng
        )
        self.outbox.backend.nack(item_id, token, text, time.time() + delay)

    def _expired(self, row: Claimed) -> bool:
        """A row taken back from a dead worker after its last allowed attempt."""
        if row[4] <= self.max_attempts:
            return False
        self.outbox.backend.nack(row[0], row[8], row[6] or "lease expired after the last attempt", None)
        return True

    def _item(self, row: Claimed) -> OutboxItem:
        return item_of(row, self.outbox.serializer)

    # -- sync --------------------------------------------------------------------------

    def _apply_sync(self, row: Claimed, acks: list[str] | None = None) -> None:
        if self._expired(row):
            return
        item = self._item(row)
        token = _KEY.set(item.key)
        try:
            self.group.execute_sync(item.op, *item.args, **item.kwargs)
        except Exception as exc:
            self._settle(row, exc)
        else:
            self._settle(row, None, acks)
        finally:
            _KEY.reset(token)

    def _round_sync(self, pool: ThreadPoolExecutor | None, acks: list[str]) -> int:
        """Claim and apply up to ``concurrency`` items; the done ones are acked by the next claim.

        A success is marked done in the same transaction as the next claim (one commit
        per item instead of two); a worker that dies in between leaves the item to be
        applied again after its lease, as dying before any acknowledgement would.
        """
        done = acks[:]
        del acks[:]
        rows = self.outbox.backend.claim(self.concurrency, self.lease, done)
        if pool is None or len(rows) < 2:
            for row in rows:
                self._apply_sync(row, acks)
        else:
            list(pool.map(lambda row: self._apply_sync(row, acks), rows))
        return len(rows)

    def _loop_sync(self, until_empty: bool) -> int:
        start = self.applied
        pool = (
            ThreadPoolExecutor(self.concurrency, thread_name_prefix="resiliency-outbox")
            if self.concurrency > 1
            else None
        )
        acks: list[str] = []
        try:
            while not self._stop.is_set():
                if self._round_sync(pool, acks):
                    continue
                if acks:  # nothing more to claim: ack what was applied before waiting
                    self._round_sync(None, acks)
                wait = self.outbox.backend.next_ready_in()
                if wait is None and until_empty:
                    break
                self._stop.wait(self.poll_interval if wait is None else min(max(wait, 0.001), self.poll_interval))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            for item_id in acks:  # stopped or interrupted: keep what was applied
                self.outbox.backend.ack(item_id)
        return self.applied - start

    def drain_sync(self) -> int:
        """Apply items until none is pending or in flight; return how many were applied."""
        self._stop.clear()
        return self._loop_sync(until_empty=True)

    def run_sync(self) -> None:
        """Apply items as they come until ``stop()`` is called (from another thread)."""
        self._stop.clear()
        self._loop_sync(until_empty=False)

    def stop(self) -> None:
        """Ask ``run`` / ``run_sync`` to return after the items in hand."""
        self._stop.set()

    # -- async -------------------------------------------------------------------------

    async def _apply_async(self, row: Claimed) -> None:
        if await anyio.to_thread.run_sync(self._expired, row):
            return
        item = self._item(row)
        token = _KEY.set(item.key)
        error: BaseException | None = None
        try:
            await self.group.execute(item.op, *item.args, **item.kwargs)
        except Exception as exc:
            error = exc
        finally:
            _KEY.reset(token)
        await anyio.to_thread.run_sync(self._settle, row, error)

    async def _loop_async(self, until_empty: bool) -> int:
        start = self.applied
        backend = self.outbox.backend
        while not self._stop.is_set():
            rows = await anyio.to_thread.run_sync(backend.claim, self.concurrency, self.lease)
            if rows:
                async with anyio.create_task_group() as tg:
                    for row in rows:
                        tg.start_soon(self._apply_async, row)
                continue
            wait = await anyio.to_thread.run_sync(backend.next_ready_in)
            if wait is None and until_empty:
                break
            await anyio.sleep(self.poll_interval if wait is None else min(max(wait, 0.001), self.poll_interval))
        return self.applied - start

    async def drain(self) -> int:
        """Async form of ``drain_sync``: items run through ``group.execute``."""
        self._stop.clear()
        return await self._loop_async(until_empty=True)

    async def run(self) -> None:
        """Apply items as they come until cancelled or ``stop()``."""
        self._stop.clear()
        await self._loop_async(until_empty=False)

    def __repr__(self) -> str:
        return f"<OutboxWorker {self.outbox!r} -> group {getattr(self.group, 'name', self.group)!r}>"
