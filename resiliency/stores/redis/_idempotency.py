"""``RedisIdempotencyStore``: ``@idempotent`` across every process sharing a Redis.

The first caller takes the key with a lease (SET NX PX, in one script with the answer
lookup, so no caller slips between an answer and a free key); the others poll until the
answer is there. A holder that died frees the key when its lease runs out.
"""

from __future__ import annotations

import logging
import pickle
import time
import uuid
from typing import Any

import anyio.to_thread

from ..._validate import check_duration, message
from ._scripts import script, sync_client

__all__ = ["RedisIdempotencyStore"]

logger = logging.getLogger("resiliency")
_MODES = ("raise", "fail_open")


class RedisIdempotencyStore:
    """Idempotency keys and answers in Redis (pass as ``@idempotent(store=...)``).

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``, their asyncio forms
            (a sync client on the same server is made from its settings), or a
            ``RedisStore``; async callers reach Redis through a worker thread.
        prefix: key prefix; each key's lock and answer share a hash tag.
        lease: seconds a holder keeps a key before another process may take it (make it
            longer than the slowest call).
        poll: seconds between looks while another holder runs.
        on_error: when Redis cannot be reached: "raise" (default) raises redis-py's
            error before the call runs; "fail_open" runs the call without
            deduplication (logged as a warning), so an outage never stops writes.

    ``@idempotent(store=RedisStore(client))`` builds one from the store: its sync client,
    its ``lease``, ``{prefix}:idem`` keys, and "fail_open" when the store fails open.

    Raises:
        TypeError, ValueError: a bad argument.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "resiliency:idem",
        lease: float = 30.0,
        poll: float = 0.01,
        on_error: str = "raise",
    ) -> None:
        client = sync_client(client)
        if not callable(getattr(client, "register_script", None)):
            raise TypeError(message("client", "a redis-py client (sync or asyncio) or a RedisStore", client))
        if not isinstance(prefix, str) or not prefix:
            raise TypeError(message("prefix", "a non-empty str", prefix))
        self.client = client
        self.prefix = prefix
        self.lease: float = check_duration("lease", lease, allow_zero=False)
        self.poll: float = check_duration("poll", poll, allow_zero=False)
        if on_error not in _MODES:
            raise ValueError(message("on_error", f"one of {_MODES}", on_error))
        self.on_error = on_error
        self._begin = script(client, "idempotency_begin")
        self._finish = script(client, "idempotency_finish")

    def _keys(self, key: str) -> list[str]:
        tag = f"{{{self.prefix}:{key}}}"
        return [f"{tag}:answer", f"{tag}:lock"]

    @classmethod
    def from_store(cls, store: Any) -> RedisIdempotencyStore:
        """The idempotency store of a ``RedisStore``: its client, lease and prefix."""
        on_error = "fail_open" if store.on_error == "fail_open" else "raise"
        return cls(store.sync_client, prefix=f"{store.prefix}:idem", lease=store.lease, on_error=on_error)

    def begin(self, key: str) -> tuple[bool, Any]:
        """Take ``key``, or wait for its holder and return the kept answer."""
        token = uuid.uuid4().hex
        lease_ms = max(1, int(self.lease * 1000))
        keys = self._keys(key)
        while True:
            try:
                reply = self._begin(keys=keys, args=[token, lease_ms])
            except Exception as exc:
                if self.on_error != "fail_open" or not _is_redis_error(exc):
                    raise
                logger.warning("idempotency key %r not checked, Redis is unreachable: %s", key, exc)
                return True, None  # run without deduplication; finish() then stores nothing
            if int(reply[0]) == 1:
                return True, token
            if int(reply[0]) == 0:
                return False, pickle.loads(reply[1])  # written by finish(), in the app's own Redis
            time.sleep(self.poll)

    async def abegin(self, key: str) -> tuple[bool, Any]:
        """Async form of ``begin`` (on a worker thread)."""
        return await anyio.to_thread.run_sync(self.begin, key)

    def finish(self, key: str, token: Any, value: Any, error: BaseException | None, keep: bool, ttl: float) -> None:
        """Keep the answer ``ttl`` seconds (``keep``) and free the key."""
        if token is None:  # begun while Redis was unreachable ("fail_open")
            return
        payload = pickle.dumps((value, error), protocol=pickle.HIGHEST_PROTOCOL) if keep else b""
        try:
            self._finish(keys=self._keys(key), args=[token, "1" if keep else "0", payload, max(1, int(ttl * 1000))])
        except Exception as exc:
            if self.on_error != "fail_open" or not _is_redis_error(exc):
                raise
            logger.warning("answer of idempotency key %r not kept, Redis is unreachable: %s", key, exc)

    async def afinish(
        self, key: str, token: Any, value: Any, error: BaseException | None, keep: bool, ttl: float
    ) -> None:
        """Async form of ``finish`` (on a worker thread)."""
        await anyio.to_thread.run_sync(lambda: self.finish(key, token, value, error, keep, ttl))

    def __repr__(self) -> str:
        return f"RedisIdempotencyStore(prefix={self.prefix!r}, lease={self.lease})"


def _is_redis_error(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError)
