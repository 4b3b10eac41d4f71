"""Multi-provider failover: groups of providers run in sequence, racing, or all at once.

The pieces: ``_provider`` (``@provider`` marks, ``provider_from_callable``), ``_policy``
(``PolicyConfig`` and field-by-field resolution), ``_core`` / ``_binding`` (a provider
and op compiled once at registration), ``_sequential``, and for the parallel modes the
race core ``_race`` (who won, what is cancelled, what the caller gets) with its three
runners ``_parallel`` (anyio), ``_native`` (asyncio fast path) and ``_threads`` (sync,
on the ``_pool`` threads); ``_hooks``, ``_stats`` and ``_summary`` for what is reported,
``_view`` (the calls) and ``_group`` (registration) for the group, ``_entry`` for
``@failover_group``. Retry, breaker and timeout logic are the strategies' own, reused.
"""

from __future__ import annotations

from ._entry import failover_group as failover_group
from ._group import FailoverGroup as FailoverGroup
from ._hooks import Hooks as Hooks
from ._hooks import ProviderContext as ProviderContext
from ._policy import PolicyConfig as PolicyConfig
from ._provider import CallableProvider as CallableProvider
from ._provider import provider as provider
from ._provider import provider_from_callable as provider_from_callable
from ._stats import GroupStats as GroupStats
from ._stats import Outcome as Outcome
from ._stats import ProviderStats as ProviderStats
from ._summary import ErrorSummary as ErrorSummary
from ._view import FailoverGroupView as FailoverGroupView

__all__ = [
    "CallableProvider",
    "ErrorSummary",
    "FailoverGroup",
    "FailoverGroupView",
    "GroupStats",
    "Hooks",
    "Outcome",
    "PolicyConfig",
    "ProviderContext",
    "ProviderStats",
    "failover_group",
    "provider",
    "provider_from_callable",
]
