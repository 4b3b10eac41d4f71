"""Redis-backed stores (the ``redis`` extra): shared state, cache, idempotency keys, outbox.

Each object's keys share one hash tag, so a Redis Cluster works as a single server does.
"""

from ._cache import RedisCache as RedisCache
from ._idempotency import RedisIdempotencyStore as RedisIdempotencyStore
from ._outbox import RedisStreamOutbox as RedisStreamOutbox

__all__ = ["RedisCache", "RedisIdempotencyStore", "RedisStreamOutbox"]
