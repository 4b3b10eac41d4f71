"""Redis-backed stores (the ``redis`` extra).

``RedisStore`` shares breakers, limiters, bulkheads and retry budgets across processes;
``RedisCache``, ``RedisIdempotencyStore`` and ``RedisStreamOutbox`` carry the write path
(``@cache_fallback``, ``@idempotent``, the outbox). Each object's keys share one hash
tag, so a Redis Cluster works as a single server does.
"""

from __future__ import annotations

from ._cache import RedisCache as RedisCache
from ._idempotency import RedisIdempotencyStore as RedisIdempotencyStore
from ._outbox import RedisStreamOutbox as RedisStreamOutbox
from ._store import RedisStore as RedisStore

__all__ = ["RedisCache", "RedisIdempotencyStore", "RedisStore", "RedisStreamOutbox"]
