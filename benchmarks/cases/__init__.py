"""The benchmark cases, one module per scenario; importing this package registers them all.

Modules are imported in report order: baselines, retry, timeout, composition, breaker,
bulkhead, async stack, failover, endpoint pools.
"""

from __future__ import annotations

import importlib

ORDER = (
    "bare",
    "retry_success",
    "retry_fail",
    "timeout",
    "ladder",
    "breaker",
    "breaker_bytes",
    "bulkhead",
    "async_stack",
    "failover",
    "failover_sync",
    "pool",
)

MODULES = tuple(importlib.import_module(f"{__name__}.{name}") for name in ORDER)
