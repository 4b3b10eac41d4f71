"""``RedisCache``: the values of ``@cache_fallback`` in Redis, shared by every process."""

from __future__ import annotations

import pickle
import time
from collections.abc import Hashable
from typing import Any

from ..._validate import message
from ._scripts import sync_client

__all__ = ["RedisCache"]


class RedisCache:
    """A ``@cache_fallback`` cache in Redis: one key per call key (a str, or the repr of
    another key), expiring after ``stale_ttl``.

    Values are pickled with the wall-clock time they were stored (``time.time()``), so
    every process ages them alike; the Redis key expires once no failure may be answered
    with it any more.

    Args:
        client: a ``redis.Redis`` or ``redis.cluster.RedisCluster``, their asyncio forms
            (a sync client on the same server is made from its settings), or a ``RedisStore``.
        prefix: the key prefix; keys are ``{prefix}:{key}``, in one hash slot per prefix.

    Raises:
        TypeError: ``client`` lacks ``get``/``set``; ``prefix`` is not a non-empty str.
    """

    def __init__(self, client: Any, *, prefix: str = "resiliency:cache") -> None:
        client = sync_client(client)
        if not (callable(getattr(client, "get", None)) and callable(getattr(client, "set", None))):
            raise TypeError(message("client", "a redis-py client (sync or asyncio) or a RedisStore", client))
        if not isinstance(prefix, str) or not prefix:
            raise TypeError(message("prefix", "a non-empty str", prefix))
        self.client = client
        self.prefix = prefix

    def _key(self, key: Hashable) -> str:
        return f"{{{self.prefix}}}:{key if isinstance(key, str) else repr(key)}"

    def get(self, key: Hashable, now: float) -> tuple[Any, float] | None:
        """Return ``(value, age by the wall clock)``, or None."""
        raw = self.client.get(self._key(key))
        if raw is None:
            return None
        value, stored = pickle.loads(raw)  # written by this class, in the application's own Redis
        return value, max(0.0, time.time() - stored)

    def set(self, key: Hashable, value: Any, now: float, keep_for: float = 86400.0) -> None:
        """Store ``value``; Redis drops it ``keep_for`` seconds later."""
        payload = pickle.dumps((value, time.time()), protocol=pickle.HIGHEST_PROTOCOL)
        self.client.set(self._key(key), payload, px=max(1, int(keep_for * 1000)))

    def __repr__(self) -> str:
        return f"RedisCache(prefix={self.prefix!r})"
