"""Shared state: the breaker, rate limiter, bulkhead and retry budget, and the write path.

- ``resiliency.stores.memory.MemoryStore``: the embedded default; state stays in the
  process (what every strategy does without a store).
- ``resiliency.stores.redis``: ``RedisStore``, state shared by every process on one Redis,
  Sentinel-managed Redis or Redis Cluster; and for the write path ``RedisCache``,
  ``RedisIdempotencyStore`` and ``RedisStreamOutbox`` (the ``redis`` extra).

A strategy takes ``store=``; ``Registry(store=...)`` gives its named objects a default
store. ``Store`` is the protocol both implement (see ``resiliency._store``). Nothing here
is imported by ``import resiliency``.
"""

from __future__ import annotations

from .._store import Store as Store

__all__ = ["Store"]
