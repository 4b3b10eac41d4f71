"""Log what the strategies and failover groups do, on the ``resiliency`` logger.

One line turns it on::

    from resiliency.contrib import logging as resiliency_logging
    resiliency_logging.instrument()

Levels: a retry is a WARNING (attempt, delay, error); a breaker opening is a WARNING,
closing or half-opening an INFO; rejections (breaker open, bulkhead full, rate limited)
and timeouts are INFO; every provider failing a group call is an ERROR; a single
provider's failed attempt is DEBUG. Each record carries its fields in ``extra=``
(``resiliency_event``, ``strategy``, and the event's own: ``attempt``, ``delay``,
``error``, ``from_state``, ``to_state``, ``reason``, ``timeout``, ``elapsed``,
``retry_after``, ``group``, ``op``, ``provider``, ``attempts``), so structlog and JSON
formatters pick them up. The standard library's ``logging`` needs no extra.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .._events import (
    AllProvidersFailed,
    BulkheadRejected,
    CallRejected,
    CircuitStateChanged,
    Event,
    ProviderFailed,
    RateLimited,
    RetryScheduled,
    TimeoutOccurred,
)
from .._registry import Registry
from .._validate import message
from ._install import Instrumentation, install

__all__ = ["instrument"]


class _Listener:
    """Turns events into log records on one logger."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            RetryScheduled: self._retry,
            CircuitStateChanged: self._state_changed,
            CallRejected: self._rejected,
            BulkheadRejected: self._bulkhead_rejected,
            RateLimited: self._rate_limited,
            TimeoutOccurred: self._timeout,
            ProviderFailed: self._provider_failed,
            AllProvidersFailed: self._all_failed,
        }

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _emit(self, level: int, kind: str, strategy: str | None, text: str, *args: Any, **fields: Any) -> None:
        if self.log.isEnabledFor(level):
            self.log.log(level, text, *args, extra={"resiliency_event": kind, "strategy": strategy, **fields})

    def _retry(self, e: RetryScheduled) -> None:
        cause = repr(e.error) if e.error is not None else f"result {e.result!r}"
        self._emit(
            logging.WARNING,
            "retry",
            e.name,
            "%s: attempt %d failed (%s); retrying in %.3fs",
            e.name,
            e.attempt,
            cause,
            e.delay,
            attempt=e.attempt,
            delay=e.delay,
            error=cause,
        )

    def _state_changed(self, e: CircuitStateChanged) -> None:
        old, new = getattr(e.old, "value", str(e.old)), getattr(e.new, "value", str(e.new))
        level = logging.WARNING if new == "open" else logging.INFO
        self._emit(
            level,
            "circuit_state_changed",
            e.name,
            "circuit %s: %s -> %s",
            e.name,
            old,
            new,
            from_state=old,
            to_state=new,
        )

    def _rejected(self, e: CallRejected) -> None:
        self._emit(
            logging.INFO,
            "circuit_rejected",
            e.name,
            "circuit %s is open: call rejected (retry after %.3fs)",
            e.name,
            e.retry_after,
            retry_after=e.retry_after,
        )

    def _bulkhead_rejected(self, e: BulkheadRejected) -> None:
        self._emit(
            logging.INFO,
            "bulkhead_rejected",
            e.name,
            "bulkhead %s rejected a call: %s",
            e.name,
            e.reason,
            reason=e.reason,
        )

    def _rate_limited(self, e: RateLimited) -> None:
        self._emit(
            logging.INFO,
            "rate_limited",
            e.name,
            "rate limiter %s refused a call (retry after %.3fs)",
            e.name,
            e.retry_after,
            retry_after=e.retry_after,
        )

    def _timeout(self, e: TimeoutOccurred) -> None:
        self._emit(
            logging.INFO,
            "timeout",
            e.name,
            "%s timed out after %.3fs (timeout %gs)",
            e.name,
            e.elapsed,
            e.timeout,
            timeout=e.timeout,
            elapsed=e.elapsed,
        )

    def _provider_failed(self, e: ProviderFailed) -> None:
        self._emit(
            logging.DEBUG,
            "provider_failed",
            e.name,
            "group %s: provider %s failed %s (attempt %d): %r",
            e.name,
            e.provider,
            e.op,
            e.attempt,
            e.error,
            group=e.name,
            op=e.op,
            provider=e.provider,
            attempt=e.attempt,
            error=repr(e.error),
        )

    def _all_failed(self, e: AllProvidersFailed) -> None:
        tried = list(dict.fromkeys(getattr(a, "provider", "?") for a in e.attempts))
        self._emit(
            logging.ERROR,
            "all_providers_failed",
            e.name,
            "group %s: every provider failed %s (tried: %s)",
            e.name,
            e.op,
            ", ".join(tried) or "none",
            group=e.name,
            op=e.op,
            attempts=len(e.attempts),
            providers=tried,
        )


def instrument(registry: Registry | None = None, *, logger: str | logging.Logger = "resiliency") -> Instrumentation:
    """Log ``registry``'s retries, breaker changes, rejections, timeouts and failover failures.

    A second call for the same ``registry`` returns the first handle.

    Args:
        registry: the resiliency ``Registry`` (default ``resiliency.registry``).
        logger: a logger or its name (default "resiliency").

    Returns:
        The ``Instrumentation`` handle; ``uninstall()`` stops the logging.

    Raises:
        TypeError: ``registry`` or ``logger`` of the wrong type.
    """
    if isinstance(logger, str):
        log = logging.getLogger(logger)
    elif isinstance(logger, logging.Logger):
        log = logger
    else:
        raise TypeError(message("logger", "a logging.Logger or a logger name (str)", logger))

    def setup(source: Registry) -> Callable[[], None]:
        return source.subscribe(_Listener(log))

    return install("logging", registry, setup)
