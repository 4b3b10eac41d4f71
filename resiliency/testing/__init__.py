"""Test helpers: virtual time, and (more to come) fault injection and a pytest plugin."""

from __future__ import annotations

from .._decorators import describe as describe
from ._fake_clock import FakeClock as FakeClock

__all__ = ["FakeClock", "describe"]
