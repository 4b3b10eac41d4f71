"""``RedisStreamOutbox``: an outbox backend on a Redis Stream with a consumer group.

Items are hashes; the stream carries their ids to the workers of one consumer group.
A worker that died leaves its entries pending in the group: after ``lease`` seconds
another worker takes them back with ``XAUTOCLAIM``. Retries wait in a sorted set until
their backoff is over. Every state change is one Lua script; every key shares the
stream's hash tag, so a Redis Cluster works.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..._outbox._item import STATES
from ..._validate import message
from ._scripts import script, sync_client

__all__ = ["RedisStreamOutbox"]

Row = tuple[str, str, bytes, str, int, Any, "str | None", float, str]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamOutbox:
    """An outbox backend on Redis Streams (``Outbox(RedisStreamOutbox(client))``).

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``, their asyncio
            forms (a sync client on the same server is made from its settings), or a
            ``RedisStore``; async callers reach Redis through a worker thread.
        stream: the outbox's name; its keys are ``{stream}``, ``{stream}:item:<id>``, ...
        group: the consumer group of the workers.
        consumer: this process's consumer name (default: host, pid and a random part).

    Raises:
        TypeError: a bad argument.
    """

    def __init__(
        self, client: Any, stream: str = "resiliency:outbox", *, group: str = "workers", consumer: str | None = None
    ) -> None:
        client = sync_client(client)
        if not callable(getattr(client, "register_script", None)):
            raise TypeError(message("client", "a redis-py client (sync or asyncio) or a RedisStore", client))
        for name, value in (("stream", stream), ("group", group)):
            if not isinstance(value, str) or not value:
                raise TypeError(message(name, "a non-empty str", value))
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._tag = f"{{{stream}}}"
        self._lease = 30.0
        self._put = script(client, "outbox_put")
        self._take = script(client, "outbox_take")
        self._settle = script(client, "outbox_settle")
        self._promote = script(client, "outbox_promote")
        self._retry = script(client, "outbox_retry")
        self._ensure_group()

    def _ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self._tag, self.group, id="0", mkstream=True)
        except Exception as exc:  # the group exists already (BUSYGROUP)
            if "BUSYGROUP" not in str(exc):
                raise

    def _item(self, item_id: str) -> str:
        return f"{self._tag}:item:{item_id}"

    def _set(self, state: str) -> str:
        return f"{self._tag}:{state}"

    # -- writes ---------------------------------------------------------------------

    def put(self, op: str, payload: bytes, key: str | None) -> str:
        """Store and queue a pending item; return its id."""
        item_id = uuid.uuid4().hex
        keys = [self._item(item_id), self._set("pending"), self._tag]
        self._put(keys=keys, args=[item_id, op, payload, key if key is not None else item_id, time.time()])
        return item_id

    def put_many(self, items: Sequence[tuple[str, bytes, str | None]]) -> list[str]:
        """Store and queue several items through one pipeline (one round trip); return their ids."""
        pipe = self.client.pipeline(transaction=False)
        ids = []
        now = time.time()
        for op, payload, key in items:
            item_id = uuid.uuid4().hex
            keys = [self._item(item_id), self._set("pending"), self._tag]
            self._put(keys=keys, args=[item_id, op, payload, key if key is not None else item_id, now], client=pipe)
            ids.append(item_id)
        pipe.execute()
        return ids

    def claim(self, limit: int, lease: float, done: Sequence[str] = ()) -> list[Row]:
        """Ack ``done``; take up to ``limit`` items: due retries, entries of dead workers, new entries."""
        for item_id in done:
            self.ack(item_id)
        self._lease = lease
        self._promote(keys=[self._set("delayed"), self._tag], args=[time.time(), limit])
        entries: list[tuple[Any, Any]] = []
        try:
            reclaimed = self.client.xautoclaim(
                self._tag, self.group, self.consumer, max(1, int(lease * 1000)), "0-0", count=limit
            )
        except Exception as exc:  # the group vanished (the stream was deleted): make it again
            if "NOGROUP" not in str(exc):
                raise
            self._ensure_group()
            reclaimed = [None, []]
        entries.extend(e for e in reclaimed[1] if e and e[1])
        if len(entries) < limit:
            fresh = self.client.xreadgroup(self.group, self.consumer, {self._tag: ">"}, count=limit - len(entries))
            for _stream, stream_entries in fresh or []:
                entries.extend(stream_entries)
        rows: list[Row] = []
        for entry_id, fields in entries:
            item_id = _text(fields.get(b"id", fields.get("id")))
            token = uuid.uuid4().hex
            keys = [self._item(item_id), self._set("pending"), self._set("in_flight"), self._tag]
            got = self._take(keys=keys, args=[item_id, _text(entry_id), token, self.group])
            if not got:
                continue
            op, payload, key, attempts, state, last_error, created, tok = got
            rows.append(
                (
                    item_id,
                    _text(op),
                    bytes(payload),
                    _text(key),
                    int(attempts),
                    _text(state),
                    None if last_error is None else _text(last_error),
                    float(created),
                    _text(tok),
                )
            )
        return rows

    def _settle_to(self, item_id: str, token: str, state: str, error: str, retry_at: float | None) -> None:
        keys = [self._item(item_id), self._set("in_flight"), self._set(state), self._tag, self._set("delayed")]
        args = [item_id, token, state, error, "" if retry_at is None else repr(retry_at), self.group]
        self._settle(keys=keys, args=args)

    def ack(self, item_id: str) -> None:
        """Mark an item done."""
        self._settle_to(item_id, "", "done", "", None)

    def nack(self, item_id: str, token: str, error: str, retry_at: float | None) -> None:
        """Pending again at ``retry_at`` (wall clock), or dead when None; ignored for a stale token."""
        self._settle_to(item_id, token, "dead" if retry_at is None else "pending", error, retry_at)

    def retry(self, item_id: str) -> bool:
        """Re-queue a dead item; False when no dead item has that id."""
        keys = [self._item(item_id), self._set("dead"), self._set("pending"), self._tag]
        return bool(self._retry(keys=keys, args=[item_id]))

    def purge(self, state: Any = "done") -> int:
        """Delete every item in ``state``; return how many."""
        if state not in STATES:
            raise ValueError(message("state", f"one of {STATES}", state))
        ids = [_text(i) for i in self.client.smembers(self._set(state))]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            pipe = self.client.pipeline(transaction=False)
            for item_id in chunk:
                pipe.delete(self._item(item_id))
            pipe.srem(self._set(state), *chunk)
            pipe.execute()
        return len(ids)

    # -- reads ----------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Items per state."""
        pipe = self.client.pipeline(transaction=False)
        for state in STATES:
            pipe.scard(self._set(state))
        return {state: int(n) for state, n in zip(STATES, pipe.execute(), strict=True)}

    def rows(self, state: Any, limit: int) -> list[Row]:
        """Items (all, or in ``state``), oldest first."""
        states = STATES if state is None else (state,)
        ids = [_text(i) for s in states for i in self.client.smembers(self._set(s))]
        pipe = self.client.pipeline(transaction=False)
        fields = ("op", "payload", "key", "attempts", "state", "last_error", "created")
        for item_id in ids:
            pipe.hmget(self._item(item_id), *fields)
        rows: list[Row] = []
        for item_id, got in zip(ids, pipe.execute(), strict=True):
            if got[0] is None:
                continue
            op, payload, key, attempts, st, last_error, created = got
            rows.append(
                (
                    item_id,
                    _text(op),
                    bytes(payload),
                    _text(key),
                    int(attempts),
                    _text(st),
                    None if last_error is None else _text(last_error),
                    float(created),
                    "",
                )
            )
        rows.sort(key=lambda r: r[7])
        return rows[:limit]

    def next_ready_in(self) -> float | None:
        """Seconds until an item is ready (0 when one is queued), None when none is left."""
        pipe = self.client.pipeline(transaction=False)
        pipe.scard(self._set("pending"))
        pipe.scard(self._set("in_flight"))
        pipe.zrange(self._set("delayed"), 0, 0, withscores=True)
        pipe.zcard(self._set("delayed"))
        pending, in_flight, first, delayed = pipe.execute()
        if not pending and not in_flight:
            return None
        if pending > delayed:
            return 0.0
        waits: list[float] = []
        if first:
            waits.append(max(0.0, float(first[0][1]) - time.time()))
        if in_flight:
            held = self.client.xpending_range(self._tag, self.group, "-", "+", 100)
            idle = max((int(h["time_since_delivered"]) for h in held), default=0) / 1000
            waits.append(max(0.0, self._lease - idle))
        return min(waits) if waits else 0.0

    def close(self) -> None:
        """Nothing to release: the client is the application's."""

    def __repr__(self) -> str:
        return f"RedisStreamOutbox(stream={self.stream!r}, group={self.group!r})"
