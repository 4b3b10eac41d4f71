"""Redis-backed stores (the ``redis`` extra): ``RedisStore`` shares breakers, limiters,
bulkheads and retry budgets across processes.
"""

from __future__ import annotations

from ._store import RedisStore as RedisStore

__all__ = ["RedisStore"]
