"""Test helpers: virtual time, instant retries, fault injection, and a pytest plugin."""

from __future__ import annotations

from .._clock import set_clock as set_clock
from .._decorators import describe as describe
from ._fake_clock import FakeClock as FakeClock
from ._switches import disabled as disabled
from ._switches import instant as instant

__all__ = ["FakeClock", "describe", "disabled", "instant", "set_clock"]
