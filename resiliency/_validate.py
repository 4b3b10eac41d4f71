"""Argument checks shared by every policy: one message shape for every bad value.

Every check raises ``ValueError`` (right type, wrong range) or ``TypeError`` (wrong
type) with the message ``"<param> must be <accepted> (got <value!r>)"``.

Numbers too large to use are refused here, at construction, rather than failing later
inside a call: an int too large for a float (``10**400``), a count above
``sys.maxsize``, and a finite duration above ``threading.TIMEOUT_MAX`` (about 292
years), the longest wait a lock or a sleep accepts.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

__all__ = [
    "MAX_DURATION",
    "check_bool",
    "check_callable",
    "check_count",
    "check_duration",
    "check_exception_filter",
    "check_number",
    "check_rate",
    "init_fields",
    "message",
    "rebuild",
]

MAX_DURATION = threading.TIMEOUT_MAX
"""The longest finite duration accepted, in seconds: the most a lock or a sleep can wait."""


def message(param: str, accepted: str, value: object) -> str:
    """Format the one error message shape: ``<param> must be <accepted> (got <value!r>)``.

    A ``repr`` longer than 80 characters (``10**400``) is cut, with its length given.
    """
    shown = repr(value)
    if len(shown) > 80:
        shown = f"{shown[:40]}... ({len(shown)} characters)"
    return f"{param} must be {accepted} (got {shown})"


def check_number(param: str, value: object, accepted: str = "a number") -> float:
    """Return ``value`` as a float; a bool, a string or NaN is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(message(param, accepted, value))
    try:
        result = float(value)
    except OverflowError:  # an int beyond a float's range
        raise ValueError(message(param, f"{accepted} within a float's range", value)) from None
    if math.isnan(result):
        raise ValueError(message(param, accepted, value))
    return result


def check_duration(
    param: str,
    value: object,
    *,
    allow_zero: bool = True,
    allow_none: bool = False,
    allow_inf: bool = False,
) -> Any:
    """Return a duration in seconds as a float (``timedelta`` accepted), or ``None``.

    Raises:
        TypeError: not a number or timedelta.
        ValueError: NaN, negative, zero when ``allow_zero`` is false, infinite (unless
            ``allow_inf``), or finite and above ``threading.TIMEOUT_MAX``.
    """
    if value is None:
        if allow_none:
            return None
        raise TypeError(message(param, "a duration in seconds (float or timedelta)", value))
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        seconds = check_number(param, value, "a duration in seconds (float or timedelta)")
    accepted = ">= 0 seconds" if allow_zero else "> 0 seconds"
    if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(message(param, accepted, value))
    if math.isinf(seconds):
        if not allow_inf:
            raise ValueError(message(param, "a finite number of seconds", value))
    elif seconds > MAX_DURATION:
        limit = f"at most threading.TIMEOUT_MAX ({MAX_DURATION:.0f} seconds)" + (" or inf" if allow_inf else "")
        raise ValueError(message(param, limit, value))
    return seconds


def check_count(param: str, value: object, *, minimum: int = 1, allow_none: bool = False) -> Any:
    """Return an ``int`` from ``minimum`` to ``sys.maxsize`` (or ``None`` when allowed); bools are refused."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(message(param, f"an int >= {minimum}", value))
    if value < minimum:
        raise ValueError(message(param, f"an int >= {minimum}", value))
    if value > sys.maxsize:
        raise ValueError(message(param, f"an int between {minimum} and sys.maxsize ({sys.maxsize})", value))
    return value


def check_rate(param: str, value: object, *, allow_none: bool = False) -> Any:
    """Return a rate in (0, 1] as a float (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    rate = check_number(param, value, "a rate in (0, 1]")
    if not 0 < rate <= 1:
        raise ValueError(message(param, "a rate in (0, 1]", value))
    return rate


def check_bool(param: str, value: object) -> bool:
    """Return ``value`` when it is a bool."""
    if not isinstance(value, bool):
        raise TypeError(message(param, "True or False", value))
    return value


def check_callable(param: str, value: object, *, allow_none: bool = False) -> Any:
    """Return ``value`` when it is callable (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    if not callable(value):
        raise TypeError(message(param, "a callable", value))
    return value


ExceptionFilter = Callable[[BaseException], bool]


def check_exception_filter(param: str, value: object) -> ExceptionFilter:
    """Turn exception types, a tuple of them, or a predicate into one predicate.

    Accepts an exception class, a tuple or list of exception classes, or a callable
    ``(exc) -> bool``. Returns a predicate.
    """
    accepted = "an exception type, a tuple of exception types, or a predicate (exc) -> bool"
    if isinstance(value, type):
        if not issubclass(value, BaseException):
            raise TypeError(message(param, accepted, value))
        exc_type = value
        return lambda exc: isinstance(exc, exc_type)
    if isinstance(value, (tuple, list, frozenset, set)):
        types = tuple(value)
        for item in types:
            if not (isinstance(item, type) and issubclass(item, BaseException)):
                raise TypeError(message(param, accepted, value))
        return lambda exc: isinstance(exc, types)
    if callable(value):
        predicate: ExceptionFilter = value
        return predicate
    raise TypeError(message(param, accepted, value))


def rebuild(cls: Callable[..., Any], fields: dict[str, Any]) -> Any:
    """Return ``cls(**fields)``: how a policy is unpickled, checked and cached afresh."""
    return cls(**fields)


def init_fields(policy: Any) -> dict[str, Any]:
    """Return a dataclass policy's ``__init__`` fields and their values (what ``rebuild`` needs)."""
    return {f.name: getattr(policy, f.name) for f in dataclasses.fields(policy) if f.init}
