"""The bulkhead strategy: a shared limit on concurrent calls, with a FIFO waiting line."""

from __future__ import annotations

from ._bulkhead import Bulkhead as Bulkhead
from ._decorator import bulkhead as bulkhead
from ._policy import BulkheadMetrics as BulkheadMetrics
from ._policy import BulkheadPolicy as BulkheadPolicy

__all__ = ["Bulkhead", "BulkheadMetrics", "BulkheadPolicy", "bulkhead"]
