"""``Outbox``: where writes that failed on every provider wait to be applied later.

The outbox serializes a call (``op``, ``args``, ``kwargs``) and hands the bytes to its
backend (``SqliteOutbox`` by default, ``resiliency.stores.redis.RedisStreamOutbox`` for a
fleet); ``put`` returns only once the backend has committed the item.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.to_thread

from .._validate import check_count, message
from ._item import STATES, ItemState, JsonSerializer, OutboxItem, Serializer
from ._sqlite import Claimed, SqliteOutbox

__all__ = ["Call", "Outbox", "OutboxBackend", "OutboxStats", "item_of"]

Call = tuple[Any, ...]  # (op, args, kwargs) or (op, args, kwargs, key)


class OutboxBackend(Protocol):
    """What an outbox backend does; ``SqliteOutbox`` is the reference."""

    def put(self, op: str, payload: bytes, key: str | None) -> str:
        """Commit a pending item; return its id."""
        ...

    def put_many(self, items: Sequence[tuple[str, bytes, str | None]]) -> list[str]:
        """Commit several pending items ``(op, payload, key)`` at once; return their ids."""
        ...

    def claim(self, limit: int, lease: float, done: Sequence[str] = ()) -> list[Claimed]:
        """Mark the items in ``done`` done, then take up to ``limit`` ready items for ``lease`` seconds."""
        ...

    def ack(self, item_id: str) -> None:
        """Mark an item done."""
        ...

    def nack(self, item_id: str, token: str, error: str, retry_at: float | None) -> None:
        """Record a failed attempt: pending again at ``retry_at`` (wall clock), dead if None."""
        ...

    def retry(self, item_id: str) -> bool:
        """Re-queue a dead item."""
        ...

    def purge(self, state: ItemState = "done") -> int:
        """Delete the items in ``state``."""
        ...

    def counts(self) -> dict[str, int]:
        """Items per state."""
        ...

    def rows(self, state: ItemState | None, limit: int) -> list[Claimed]:
        """Items, oldest first."""
        ...

    def next_ready_in(self) -> float | None:
        """Seconds until an item is ready, or None when nothing is pending or leased."""
        ...

    def close(self) -> None:
        """Release the backend's connection."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """How many items an outbox holds in each state."""

    pending: int
    in_flight: int
    done: int
    dead: int


def item_of(row: Claimed, serializer: Serializer) -> OutboxItem:
    """Build the public ``OutboxItem`` of a backend row."""
    item_id, op, payload, key, attempts, state, last_error, created, _token = row
    args, kwargs = serializer.loads(bytes(payload))
    return OutboxItem(item_id, op, tuple(args), dict(kwargs), key, attempts, state, last_error, created)


class Outbox:
    """A durable queue of deferred calls.

    Args:
        backend: an outbox backend (``SqliteOutbox(path)``,
            ``RedisStreamOutbox(client)``), or a file path for a ``SqliteOutbox``.
        serializer: turns ``(args, kwargs)`` into bytes: ``JsonSerializer()`` (default;
            plain data, bytes and tuples) or ``PickleSerializer()``.

    Raises:
        TypeError: a backend that is neither a path nor an outbox backend.
    """

    def __init__(
        self, backend: OutboxBackend | str | os.PathLike[str], *, serializer: Serializer | None = None
    ) -> None:
        if isinstance(backend, str | os.PathLike):
            backend = SqliteOutbox(backend)
        if not all(callable(getattr(backend, m, None)) for m in ("put", "claim", "ack", "nack", "counts")):
            raise TypeError(
                message("backend", "an outbox backend (SqliteOutbox, RedisStreamOutbox) or a path", backend)
            )
        serializer = serializer if serializer is not None else JsonSerializer()
        if not (callable(getattr(serializer, "dumps", None)) and callable(getattr(serializer, "loads", None))):
            raise TypeError(message("serializer", "an object with dumps(value) -> bytes and loads(bytes)", serializer))
        self.backend: OutboxBackend = backend
        self.serializer: Serializer = serializer

    def put(
        self, op: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, *, key: str | None = None
    ) -> str:
        """Store a call of ``op`` to run later; return the item id once it is durable.

        Args:
            op: the group operation to run.
            args: its positional arguments.
            kwargs: its keyword arguments.
            key: the idempotency key handed to the provider (default: a random UUID,
                unique across outboxes and the same on every attempt of the item).

        Raises:
            TypeError: the arguments cannot be serialized (nothing is stored), or ``op``
                or ``key`` is not a str.
        """
        return self.backend.put(op, self._payload(op, args, kwargs), self._key(key))

    def _payload(self, op: object, args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> bytes:
        if not isinstance(op, str) or not op:
            raise TypeError(message("op", "a non-empty str", op))
        try:
            return self.serializer.dumps([list(args), dict(kwargs or {})])
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(f"cannot defer {op!r}: its arguments cannot be serialized ({exc})") from exc

    @staticmethod
    def _key(key: object) -> str | None:
        if key is not None and not isinstance(key, str):
            raise TypeError(message("key", "a str or None", key))
        return key

    def put_many(self, calls: Iterable[Call]) -> list[str]:
        """Store several calls at once (one transaction, or one pipeline); return their ids.

        Each call is ``(op, args, kwargs)`` or ``(op, args, kwargs, key)``. Every call is
        serialized before anything is stored, so a call that cannot be leaves the outbox
        as it was.

        Raises:
            TypeError: a call is not such a tuple, or its arguments cannot be serialized.
        """
        rows: list[tuple[str, bytes, str | None]] = []
        for call in calls:
            if not isinstance(call, tuple) or len(call) not in (3, 4):
                raise TypeError(message("calls", "(op, args, kwargs) or (op, args, kwargs, key) tuples", call))
            op, args, kwargs = call[0], call[1], call[2]
            rows.append((op, self._payload(op, args, kwargs), self._key(call[3] if len(call) == 4 else None)))
        return self.backend.put_many(rows) if rows else []

    async def aput(
        self, op: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, *, key: str | None = None
    ) -> str:
        """Async form of ``put``: the backend's write runs on a worker thread."""
        return await anyio.to_thread.run_sync(lambda: self.put(op, args, kwargs, key=key))

    def stats(self) -> OutboxStats:
        """Return the item count of each state."""
        counts = self.backend.counts()
        return OutboxStats(counts["pending"], counts["in_flight"], counts["done"], counts["dead"])

    def items(self, state: ItemState | None = None, limit: int = 100) -> list[OutboxItem]:
        """Return up to ``limit`` items (every state, or ``state``), oldest first.

        Raises:
            ValueError: an unknown state or a limit below 1.
        """
        if state is not None and state not in STATES:
            raise ValueError(message("state", f"one of {STATES} or None", state))
        check_count("limit", limit)
        return [item_of(row, self.serializer) for row in self.backend.rows(state, limit)]

    def retry(self, item_id: str) -> bool:
        """Re-queue a dead item (attempts reset); return False when no dead item has that id."""
        return self.backend.retry(item_id)

    def purge(self, state: ItemState = "done") -> int:
        """Delete every item in ``state`` (default "done"); return how many."""
        return self.backend.purge(state)

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()

    def __repr__(self) -> str:
        return f"Outbox({self.backend!r})"
