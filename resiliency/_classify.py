"""Error classification: is an error worth retrying? Pure, imports no third-party library.

``classify(exc)`` answers "transient", "throttled" or "permanent":

==========  =====================================================================
throttled   HTTP status 429 or 503; anything carrying a Retry-After hint
            (``exc.retry_after``, a ``Retry-After`` header on ``exc.response`` or
            ``exc.headers``); ``RateLimitedError``, ``CircuitOpenError`` and
            ``BulkheadFullError`` (they carry ``retry_after`` or mean "later")
transient   HTTP status 408, 500, 502, 504; ``TimeoutError``; connection-level
            ``OSError`` (``ConnectionError``, ``EHOSTUNREACH``, ``ENETUNREACH``,
            ``ENETDOWN``, ``ETIMEDOUT``, ...); ``socket.gaierror`` with
            ``EAI_AGAIN``; httpx ``TransportError``; requests ``ConnectionError`` /
            ``Timeout``; aiohttp ``ClientConnectionError`` / ``ServerTimeoutError``;
            redis-py ``ConnectionError`` / ``TimeoutError`` / ``BusyLoadingError``
permanent   everything else (a ``TypeError``, a 404, a file not found, ...)
==========  =====================================================================

The status is read from ``exc.response.status_code``, ``exc.status_code`` or
``exc.status`` (an int). A third-party library's classes are looked up only when its
module is already in ``sys.modules``: classifying never imports httpx or requests.
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import Literal

from ._retry_after import retry_after_from

__all__ = ["Classification", "classify", "is_call_error", "is_transient", "status_of"]

Classification = Literal["transient", "throttled", "permanent"]

THROTTLED_STATUSES = frozenset({429, 503})
TRANSIENT_STATUSES = frozenset({408, 500, 502, 504})

# (module, class names) of the third-party errors that are transient.
_TRANSIENT_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("httpx", ("TransportError",)),
    ("requests.exceptions", ("ConnectionError", "Timeout")),
    ("aiohttp", ("ClientConnectionError", "ServerTimeoutError")),
    ("redis.exceptions", ("ConnectionError", "TimeoutError", "BusyLoadingError")),
)

# OSError errnos that say "the network, not the request": worth another try.
_TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "EPIPE",
        "ETIMEDOUT",
        "EHOSTUNREACH",
        "EHOSTDOWN",
        "ENETUNREACH",
        "ENETDOWN",
        "ENETRESET",
        "EAGAIN",
        "EADDRNOTAVAIL",
    )
    if hasattr(errno, name)
)


def _third_party_transient() -> tuple[type, ...]:
    """The transient classes of the libraries imported so far (never imports one)."""
    found: list[type] = []
    for module_name, names in _TRANSIENT_CLASSES:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name in names:
            cls = getattr(module, name, None)
            if isinstance(cls, type):
                found.append(cls)
    return tuple(found)


def status_of(exc: BaseException) -> int | None:
    """Return the HTTP status an error carries, or None.

    Looks at ``exc.response.status_code``, then ``exc.status_code``, then
    ``exc.status``; only an ``int`` (not a bool) counts.
    """
    for candidate in (
        getattr(getattr(exc, "response", None), "status_code", None),
        getattr(exc, "status_code", None),
        getattr(exc, "status", None),
    ):
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            return candidate
    return None


def classify(exc: BaseException) -> Classification:
    """Say whether an error is worth retrying: "transient", "throttled" or "permanent".

    Args:
        exc: any exception.

    Returns:
        "throttled" for HTTP 429/503, a Retry-After hint, or a rejection of this
        library; "transient" for network errors, timeouts and HTTP 408/500/502/504;
        "permanent" otherwise (see the module table).
    """
    from ._errors import BulkheadFullError, CircuitOpenError, RateLimitedError

    if isinstance(exc, (RateLimitedError, CircuitOpenError, BulkheadFullError)):
        return "throttled"
    try:
        status = status_of(exc)
        hint = retry_after_from(exc)
    except Exception:  # an attribute that raises counts as missing
        status, hint = None, None
    if status in THROTTLED_STATUSES or hint is not None:
        return "throttled"
    if status in TRANSIENT_STATUSES:
        return "transient"
    if status is not None:
        return "permanent"
    if isinstance(exc, TimeoutError):
        return "transient"
    if isinstance(exc, socket.gaierror):
        return "transient" if exc.errno == getattr(socket, "EAI_AGAIN", None) else "permanent"
    if isinstance(exc, ConnectionError):
        return "transient"
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return "transient"
    third = _third_party_transient()
    if third and isinstance(exc, third):
        return "transient"
    return "permanent"


def is_transient(exc: BaseException) -> bool:
    """Return True when ``classify(exc)`` is "transient" or "throttled": worth a retry."""
    return classify(exc) != "permanent"


def is_call_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a ``TypeError`` raised by the library's own call of a function.

    Calling a function with arguments it does not take raises ``TypeError`` in the
    caller's frame, before the callee's first line: so when the innermost frame of the
    traceback is the library's (the leaf that calls the user's function), the error is
    the caller's mistake (wrong arguments), not a failure of the call, and no retry or
    other provider can fix it.
    """
    if type(exc) is not TypeError:
        return False
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "")
    return isinstance(module, str) and module.startswith("resiliency.") and ".contrib." not in module
