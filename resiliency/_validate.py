"""Argument checks shared by every policy: one message shape for every bad value.

Every check raises ``ValueError`` (right type, wrong range) or ``TypeError`` (wrong
type) with the message ``"<param> must be <accepted> (got <value!r>)"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

__all__ = [
    "check_bool",
    "check_callable",
    "check_count",
    "check_duration",
    "check_exception_filter",
    "check_number",
    "check_rate",
    "message",
]


def message(param: str, accepted: str, value: object) -> str:
    """Format the one error message shape: ``<param> must be <accepted> (got <value!r>)``."""
    return f"{param} must be {accepted} (got {value!r})"


def check_number(param: str, value: object, accepted: str = "a number") -> float:
    """Return ``value`` as a float; a bool, a string or NaN is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(message(param, accepted, value))
    result = float(value)
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
        ValueError: NaN, negative, zero when ``allow_zero`` is false, or infinite.
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
    if math.isinf(seconds) and not allow_inf:
        raise ValueError(message(param, "a finite number of seconds", value))
    return seconds


def check_count(param: str, value: object, *, minimum: int = 1, allow_none: bool = False) -> Any:
    """Return an ``int`` >= ``minimum`` (or ``None`` when allowed); bools are refused."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(message(param, f"an int >= {minimum}", value))
    if value < minimum:
        raise ValueError(message(param, f"an int >= {minimum}", value))
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
