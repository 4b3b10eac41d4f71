"""Retry-After hints carried by an exception, as seconds. Pure apart from reading the time.

:func:`retry_after_from` looks, in order, at:

1. ``exc.retry_after``: seconds (int or float), a ``datetime.timedelta``, or a string
   read like the header value;
2. a ``Retry-After`` header on ``exc.response.headers`` (httpx, requests, ...);
3. a ``Retry-After`` header on ``exc.headers`` (urllib's ``HTTPError``, ...).

The first source that gives a usable value wins; a missing or unreadable one passes to
the next. Headers may be any mapping (a dict with any key case, ``httpx.Headers``,
``email.message.Message``) or a list of ``(name, value)`` pairs; the name is matched
without regard to case. A header value is delta-seconds (``"120"``, ``"1.5"``) or an
HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``), turned into seconds from now with
``time.time()`` read at call time (so freezegun controls it). A date in the past or a
negative number gives 0.0; garbage, NaN or infinity give nothing (``None``).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_from"]

_HEADER = "retry-after"
# Headers are scanned pair by pair; a bound keeps a pathological (endless) iterable from
# hanging the retry loop. Real responses carry a few dozen headers.
_MAX_HEADERS = 1000
_HINT_ATTRS = ("retry_after", "response", "headers")
# Per exception class: whether the class itself defines one of _HINT_ATTRS (a property
# or class attribute). Classes are few; the dict stays small. PLAIN_TYPES holds the
# classes that define none, so a caller can skip the call for an error of one of them
# whose instance dict is empty.
_HINTED_TYPES: dict[type, bool] = {}
PLAIN_TYPES: set[type] = set()


def retry_after_from(exc: BaseException) -> float | None:
    """Return the Retry-After hint an exception carries, in seconds, or ``None``.

    Args:
        exc: the exception raised by the attempt; any object is accepted.

    Returns:
        Seconds to wait (>= 0.0, finite), or ``None`` when the exception carries no
        usable hint. Never raises: attributes or headers that raise count as missing.
    """
    # Most errors carry no hint: answer those without probing three missing attributes
    # (each miss raises and clears an AttributeError inside getattr).
    cls = type(exc)
    hinted = _HINTED_TYPES.get(cls)
    if hinted is None:
        hinted = _HINTED_TYPES[cls] = any(hasattr(cls, name) for name in _HINT_ATTRS)
        if not hinted:
            PLAIN_TYPES.add(cls)
    if not hinted:
        attrs = getattr(exc, "__dict__", None)
        if not attrs or ("retry_after" not in attrs and "response" not in attrs and "headers" not in attrs):
            return None
    for source in _SOURCES:
        try:
            seconds = source(exc)
        # A hint is optional: an attribute or header object that raises counts as missing
        # and must never break the retry that asked.
        except Exception:
            continue
        if seconds is not None:
            return seconds
    return None


def _from_attribute(exc: BaseException) -> float | None:
    return _seconds(getattr(exc, "retry_after", None))


def _from_response(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    return None if response is None else _from_headers(getattr(response, "headers", None))


def _from_exc_headers(exc: BaseException) -> float | None:
    return _from_headers(getattr(exc, "headers", None))


def _from_headers(headers: object) -> float | None:
    """Return the seconds of the first ``Retry-After`` header in ``headers``, if any."""
    if headers is None or isinstance(headers, (str, bytes)):
        return None
    items = getattr(headers, "items", None)
    pairs = items() if callable(items) else headers
    if not isinstance(pairs, Iterable):
        return None
    for pair in itertools.islice(pairs, _MAX_HEADERS):
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(name, str) and name.strip().lower() == _HEADER:
            return _seconds(value)
    return None


def _seconds(value: object) -> float | None:
    """Return ``value`` (number, timedelta, str or bytes header value) as seconds >= 0."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, timedelta):
        return _non_negative(value.total_seconds())
    if isinstance(value, (int, float)):
        try:
            return _non_negative(float(value))
        except OverflowError:  # an int beyond the float range is no usable hint
            return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return _non_negative(float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no zone named (RFC 5322)
        when = when.replace(tzinfo=UTC)
    return _non_negative(when.timestamp() - time.time())


_SOURCES: tuple[Callable[[BaseException], float | None], ...] = (
    _from_attribute,
    _from_response,
    _from_exc_headers,
)


def _non_negative(seconds: float) -> float | None:
    """Return finite ``seconds`` floored at 0.0, or ``None`` for NaN and infinities."""
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)
