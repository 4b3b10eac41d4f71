"""``SqliteOutbox``: the embedded outbox backend, one SQLite file in WAL mode.

Each process opens its own connection; a claim is one ``BEGIN IMMEDIATE`` transaction,
so several worker processes share one file without taking an item twice while its lease
runs. Times are wall-clock (``time.time()``), so leases hold across processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._validate import message
from ._item import STATES, ItemState

__all__ = ["Claimed", "SqliteOutbox"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    op TEXT NOT NULL,
    payload BLOB NOT NULL,
    key TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    last_error TEXT,
    available_at REAL NOT NULL,
    token TEXT,
    created REAL NOT NULL
);
-- The queue in arrival order: only pending and leased items are in it, so a claim reads
-- the first few entries and a done item costs the index nothing.
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (seq) WHERE state IN ('pending', 'in_flight');
"""
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

# (id, op, payload, key, attempts, state, last_error, created, token)
Claimed = tuple[str, str, bytes, str, int, ItemState, "str | None", float, str]
_COLUMNS = "CAST(seq AS TEXT), op, payload, key, attempts, state, last_error, created, token"


class SqliteOutbox:
    """An outbox backend in one SQLite file (stdlib ``sqlite3``, WAL journal).

    Args:
        path: the database file (created with its folder if absent), or ":memory:" for
            a private in-process outbox (tests).
        synchronous: SQLite's ``synchronous`` setting. "NORMAL" (default) makes every
            ``put`` durable against a crash of the process before it returns; "FULL"
            also against a crash of the machine (an fsync per ``put``).
        busy_timeout: seconds a writer waits for another process's transaction.

    Raises:
        ValueError: an unknown ``synchronous``; a negative ``busy_timeout``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, synchronous: str = "NORMAL", busy_timeout: float = 10.0
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(message("path", "a file path (str or os.PathLike)", path))
        if not isinstance(synchronous, str) or synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(message("synchronous", f"one of {_SYNCHRONOUS}", synchronous))
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float) or not busy_timeout >= 0:
            raise ValueError(message("busy_timeout", "a number of seconds >= 0", busy_timeout))
        self.path = os.fspath(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.executescript(_SCHEMA)

    # -- writes -------------------------------------------------------------------------

    def put(self, op: str, payload: bytes, key: str | None) -> str:
        """Store a pending item; return its id (its sequence number) once it is committed.

        Without ``key``, the item's idempotency key is a random UUID: unique across
        outboxes, unlike the sequence number.
        """
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox (op, payload, key, state, available_at, created) VALUES (?, ?, ?, 'pending', ?, ?)",
                (op, payload, key if key is not None else os.urandom(16).hex(), now, now),
            )
        return str(cur.lastrowid)

    def put_many(self, items: Sequence[tuple[str, bytes, str | None]]) -> list[str]:
        """Store several pending items in one transaction; return their ids once committed."""
        now = time.time()
        ids: list[str] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for op, payload, key in items:
                    cur = self._db.execute(
                        "INSERT INTO outbox (op, payload, key, state, available_at, created) "
                        "VALUES (?, ?, ?, 'pending', ?, ?)",
                        (op, payload, key if key is not None else os.urandom(16).hex(), now, now),
                    )
                    ids.append(str(cur.lastrowid))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return ids

    def claim(self, limit: int, lease: float, done: Sequence[str] = ()) -> list[Claimed]:
        """Take up to ``limit`` ready items (pending, or in flight past their lease).

        Each taken item is in flight for ``lease`` seconds, its attempts counted. The
        items in ``done`` are marked done first, in the same transaction.
        """
        now = time.time()
        token = uuid.uuid4().hex
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if done:
                    self._db.execute(
                        f"UPDATE outbox SET state = 'done', token = NULL WHERE seq IN ({','.join('?' * len(done))}) "
                        "AND state != 'purged'",
                        tuple(done),
                    )
                rows = self._db.execute(
                    "SELECT seq FROM outbox WHERE state IN ('pending', 'in_flight') AND available_at <= ? "
                    "ORDER BY seq LIMIT ?",
                    (now, limit),
                ).fetchall()
                seqs = [r[0] for r in rows]
                if not seqs:
                    self._db.execute("COMMIT")
                    return []
                marks = ",".join("?" * len(seqs))
                self._db.execute(
                    f"UPDATE outbox SET state = 'in_flight', attempts = attempts + 1, available_at = ?, token = ? "
                    f"WHERE seq IN ({marks})",
                    (now + lease, token, *seqs),
                )
                claimed = self._db.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE seq IN ({marks}) ORDER BY seq", seqs
                ).fetchall()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return claimed

    def ack(self, item_id: str) -> None:
        """Mark an item done."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET state = 'done', token = NULL WHERE seq = ? AND state != 'purged'", (item_id,)
            )

    def nack(self, item_id: str, token: str, error: str, retry_at: float | None) -> None:
        """Record a failed attempt: pending again at ``retry_at``, or dead when None.

        Ignored when the item was claimed again since (``token`` no longer matches).
        """
        with self._lock:
            if retry_at is None:
                self._db.execute(
                    "UPDATE outbox SET state = 'dead', last_error = ?, token = NULL WHERE seq = ? AND token = ?",
                    (error, item_id, token),
                )
            else:
                self._db.execute(
                    "UPDATE outbox SET state = 'pending', last_error = ?, available_at = ?, token = NULL "
                    "WHERE seq = ? AND token = ?",
                    (error, retry_at, item_id, token),
                )

    def retry(self, item_id: str) -> bool:
        """Put a dead item back to pending with its attempts reset; False if it is not dead."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, available_at = ? WHERE seq = ? AND state = 'dead'",
                (time.time(), item_id),
            )
            return cur.rowcount == 1

    def purge(self, state: ItemState = "done") -> int:
        """Delete every item in ``state``; return how many went.

        Item ids are never reused: SQLite numbers a new row after the highest one left,
        so the newest row is not deleted but emptied and marked "purged" (no state of the
        public four; no count or listing shows it). This is cheaper than
        ``AUTOINCREMENT``, which writes its own table on every ``put``.
        """
        if state not in STATES:
            raise ValueError(message("state", f"one of {STATES}", state))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                newest = self._db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
                gone = self._db.execute("DELETE FROM outbox WHERE state = ? AND seq < ?", (state, newest or 0)).rowcount
                kept = self._db.execute(
                    "UPDATE outbox SET state = 'purged', payload = x'', last_error = NULL WHERE seq = ? AND state = ?",
                    (newest, state),
                ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return int(gone) + int(kept)

    # -- reads --------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Items per state."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        found = dict(rows)
        return {state: int(found.get(state, 0)) for state in STATES}

    def rows(self, state: ItemState | None, limit: int) -> list[Claimed]:
        """Items (all, or in ``state``), oldest first."""
        with self._lock:
            if state is None:
                cur = self._db.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE state != 'purged' ORDER BY seq LIMIT ?", (limit,)
                )
            else:
                cur = self._db.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE state = ? ORDER BY seq LIMIT ?", (state, limit)
                )
            return cur.fetchall()

    def next_ready_in(self) -> float | None:
        """Seconds until the next pending or leased item is ready (0 if one is); None if none."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(available_at) FROM outbox WHERE state IN ('pending', 'in_flight')"
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, float(row[0]) - time.time())

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"SqliteOutbox({self.path!r})"

    def __reduce__(self) -> Any:  # a worker process reopens the same file
        return (SqliteOutbox, (self.path,))
