"""Shared set-up for peer libraries."""

from __future__ import annotations

import functools
import logging


@functools.cache
def quiet_stamina() -> None:
    """Turn off stamina's retry hooks (process-wide, stamina only).

    By default stamina logs every scheduled retry through the standard logging module
    (a warning printed to stderr when logging is not configured), which costs ~0.5 ms
    per retry and floods the terminal. Users who care about speed turn instrumentation
    off the same way; the success path is not affected either way.
    """
    import stamina.instrumentation

    stamina.instrumentation.set_on_retry_hooks([])


@functools.cache
def quiet_logging() -> None:
    """Keep peers' retry logs (backoff logs each retry at INFO) out of the terminal."""
    logging.getLogger("backoff").addHandler(logging.NullHandler())
