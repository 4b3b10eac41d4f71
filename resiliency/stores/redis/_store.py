"""``RedisStore``: shared state on Redis (one server, Sentinel, or Cluster) through redis-py.

Each atomic operation is one Lua script in a ``.lua`` file beside this module, run with
``EVALSHA`` (its SHA1 is computed here, so no round trip is spent loading it; on
``NOSCRIPT`` the script is loaded with ``SCRIPT LOAD`` and run again). Every key of one
object shares a hash tag (``prefix:{kind:name}``), so each script touches one cluster slot.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import anyio
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
import redis.exceptions
import sniffio

from ..._events import StoreRecovered, StoreUnavailable
from ..._store import ON_ERROR_MODES, OnError, StoreDown, Syncer
from ..._validate import check_duration, message
from ._ticker import Ticker

if TYPE_CHECKING:
    from ..._registry import Registry

__all__ = ["RedisStore"]

logger = logging.getLogger("resiliency")

_OUTAGES = (redis.exceptions.RedisError, OSError)
"""Errors that make the store unavailable: connection loss, timeouts, a loading, read-only
or out-of-memory server, a cluster that is down. Any redis-py error counts, so that no
raw redis-py error reaches a caller unless ``on_error="raise"``; each outage is logged
with its error, so a bug in a script shows in the logs."""

_SYNC_CLIENTS = (redis.Redis, redis.cluster.RedisCluster)
_ASYNC_CLIENTS = (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster)


def _load_scripts() -> dict[str, tuple[str, bytes]]:
    """Read every ``.lua`` file beside this module: op name -> (source, sha1)."""
    scripts: dict[str, tuple[str, bytes]] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".lua"):
            text = entry.read_text(encoding="utf-8")
            scripts[entry.name[:-4]] = (text, hashlib.sha1(text.encode()).hexdigest().encode())
    return scripts


_SCRIPTS = _load_scripts()


def _sync_twin(client: Any) -> Any:
    """A sync client talking to the same server(s) as the asyncio ``client``."""
    if isinstance(client, redis.asyncio.cluster.RedisCluster):
        node = client.get_default_node() or next(iter(client.nodes_manager.startup_nodes.values()))
        return redis.cluster.RedisCluster(host=node.host, port=int(node.port))
    accepted = inspect.signature(redis.Redis).parameters
    kwargs = {k: v for k, v in client.connection_pool.connection_kwargs.items() if k in accepted}
    return redis.Redis(**kwargs)


class RedisStore:
    """Shares breakers, rate limiters, bulkheads and retry budgets through Redis.

    Breakers sync in the background: every ``sync_interval`` seconds a thread of the
    store flushes each breaker's counts and reads its state (one script per breaker), so a
    closed breaker's call makes no round trip, and a state change made by one process is
    seen by all within ``2 * sync_interval``. Limiter and bulkhead decisions, half-open
    probes and retry-budget withdrawals are one script (one round trip) each.

    When Redis cannot be reached, ``on_error`` says what the strategies do:
    "fail_open" (the default) decides with local state; "fail_closed" rejects the call
    with the strategy's own error (``CircuitOpenError``, ``RateLimitedError``,
    ``BulkheadFullError``, no retry); "raise" lets the redis-py error through. An outage
    emits ``StoreUnavailable`` (once) and ``StoreRecovered`` when Redis answers again, and
    makes ``registry.health()`` "degraded" meanwhile; while it lasts, Redis is tried
    again at most every ``sync_interval`` (calls in between do not wait on it).

    Args:
        client: a ``redis.Redis``, ``redis.asyncio.Redis``, ``redis.cluster.RedisCluster``
            or ``redis.asyncio.cluster.RedisCluster``. With an asyncio client, async
            callers on asyncio use it and a sync twin (same address) serves sync callers
            and the background sync; under trio, and with a sync client, async callers
            reach Redis through a worker thread.
        prefix: the start of every key (default "resiliency").
        on_error: "fail_open", "fail_closed" or "raise".
        sync_interval: seconds between background syncs of breakers (float or
            timedelta > 0; default 0.05).
        lease: seconds a bulkhead slot is held when its holder stops renewing it (it
            died); renewed every ``lease / 3`` while the call runs (default 30).

    Raises:
        TypeError, ValueError: a bad client or setting (the message names it).
    """

    shared = True

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "resiliency",
        on_error: OnError = "fail_open",
        sync_interval: float = 0.05,
        lease: float = 30.0,
    ) -> None:
        if isinstance(client, _ASYNC_CLIENTS):
            self._aclient: Any = client
            self._client: Any = _sync_twin(client)
            self._owns_sync_client = True
        elif isinstance(client, _SYNC_CLIENTS):
            self._aclient = None
            self._client = client
            self._owns_sync_client = False
        else:
            raise TypeError(message("client", "a redis-py client (Redis, RedisCluster or their asyncio forms)", client))
        if not isinstance(prefix, str) or not prefix:
            raise (TypeError if not isinstance(prefix, str) else ValueError)(
                message("prefix", "a non-empty str", prefix)
            )
        if on_error not in ON_ERROR_MODES:
            raise ValueError(message("on_error", "one of " + ", ".join(map(repr, ON_ERROR_MODES)), on_error))
        self.prefix = prefix
        self.on_error: OnError = on_error
        self.sync_interval = check_duration("sync_interval", sync_interval, allow_zero=False)
        self.lease = check_duration("lease", lease, allow_zero=False)
        self._lock = threading.Lock()
        self._registries: list[Registry] = []
        self._down_since: float | None = None
        self._next_try = 0.0
        self._recovered_at = 0.0
        self._ticker = Ticker(self.sync_interval)

    # -- the port ---------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The client given (an asyncio one stays the one async callers use)."""
        return self._aclient if self._aclient is not None else self._client

    @property
    def sync_client(self) -> Any:
        """The sync client (made from an asyncio client's settings when that was given)."""
        return self._client

    @property
    def available(self) -> bool:
        """False from a failed round trip until the next one that succeeds."""
        return self._down_since is None

    def key(self, kind: str, name: str) -> str:
        """The key of ``name`` of ``kind``: ``prefix:{kind:name}`` (one hash tag per object)."""
        return f"{self.prefix}:{{{kind}:{name}}}"

    def run(self, op: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        """Run script ``op`` on ``keys`` with ``args`` and return its reply.

        Raises:
            StoreDown: Redis cannot be reached (``on_error`` is not "raise").
            redis.exceptions.RedisError: with ``on_error="raise"``.
        """
        if self._down_since is not None and time.monotonic() < self._next_try and self.on_error != "raise":
            raise StoreDown(op)
        text, sha = _SCRIPTS[op]
        client = self._client
        started = time.monotonic()
        try:
            try:
                reply = client.evalsha(sha, len(keys), *keys, *args)
            except redis.exceptions.NoScriptError:
                client.script_load(text)
                reply = client.evalsha(sha, len(keys), *keys, *args)
        except _OUTAGES as exc:
            self._failed(exc, started)
            if self.on_error == "raise":
                raise
            raise StoreDown(op) from exc
        down_since = self._down_since
        if down_since is not None and started > down_since:  # sent before the outage: no news
            self._recovered()
        return reply

    async def arun(self, op: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
        """Async form of ``run``: the asyncio client on asyncio, else a worker thread."""
        # redis.asyncio runs on asyncio only, so the backend is asked here (anyio has no
        # portable Redis client to offer instead).
        if self._aclient is None or sniffio.current_async_library() != "asyncio":
            return await anyio.to_thread.run_sync(self.run, op, keys, args)
        if self._down_since is not None and time.monotonic() < self._next_try and self.on_error != "raise":
            raise StoreDown(op)
        text, sha = _SCRIPTS[op]
        client = self._aclient
        started = time.monotonic()
        try:
            try:
                reply = await client.evalsha(sha, len(keys), *keys, *args)
            except redis.exceptions.NoScriptError:
                await client.script_load(text)
                reply = await client.evalsha(sha, len(keys), *keys, *args)
        except _OUTAGES as exc:
            self._failed(exc, started)
            if self.on_error == "raise":
                raise
            raise StoreDown(op) from exc
        down_since = self._down_since
        if down_since is not None and started > down_since:  # sent before the outage: no news
            self._recovered()
        return reply

    def attach(self, syncer: Syncer | None, registry: Registry) -> None:
        """Sync ``syncer`` every ``sync_interval`` (None: none); send outage events to ``registry``."""
        with self._lock:
            if all(r is not registry for r in self._registries):
                self._registries.append(registry)
        registry.watch_store(self)
        if syncer is not None:
            self._ticker.add(syncer)

    def detach(self, syncer: Syncer) -> None:
        """Stop syncing ``syncer``; the background thread ends with the last one."""
        self._ticker.remove(syncer)

    def close(self) -> None:
        """Stop the background thread and close the sync client this store made."""
        self._ticker.stop()
        if self._owns_sync_client:
            self._client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RedisStore prefix={self.prefix!r} on_error={self.on_error!r} client={type(self.client).__name__}>"

    # -- outages ----------------------------------------------------------------------

    def _failed(self, error: BaseException, started: float) -> None:
        """Note an outage; a command sent before the last recovery belongs to the old one."""
        now = time.monotonic()
        with self._lock:
            if self._down_since is None and started < self._recovered_at:
                return  # it failed on the dead server: Redis answers again already
            self._next_try = now + self.sync_interval
            first = self._down_since is None
            if first:
                self._down_since = now
            registries = tuple(self._registries)
        if first:
            logger.warning("resiliency store %r is unavailable: %r", self, error)
            for registry in registries:
                if registry.listeners:
                    registry.emit(StoreUnavailable(self.prefix, error))

    def _drop_idle_connections(self) -> None:
        """Close the pooled connections left idle through the outage.

        Their sockets died with the server; left in the pool, each would fail once on
        its next use and make the store flap between unavailable and recovered.
        """
        pool = getattr(self._client, "connection_pool", None)
        try:
            if pool is not None:
                pool.disconnect(inuse_connections=False)
            else:  # a RedisCluster: one pool per node
                self._client.disconnect_connection_pools()
        except Exception:  # closing dead sockets may complain; they are dropped all the same
            pass

    def _recovered(self) -> None:
        with self._lock:
            since, self._down_since = self._down_since, None
            self._recovered_at = time.monotonic()
            registries = tuple(self._registries)
        if since is None:
            return
        self._drop_idle_connections()
        downtime = time.monotonic() - since
        logger.warning("resiliency store %r answers again after %.3fs", self, downtime)
        for registry in registries:
            if registry.listeners:
                registry.emit(StoreRecovered(self.prefix, downtime))
