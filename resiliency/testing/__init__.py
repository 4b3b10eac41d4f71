"""Test helpers: virtual time, instant retries, fault injection, and a pytest plugin."""

from .._clock import set_clock as set_clock
from .._decorators import describe as describe
from ._fake_clock import FakeClock as FakeClock
from ._switches import disabled as disabled
from ._switches import instant as instant

__all__ = ["FakeClock", "describe", "disabled", "instant", "set_clock"]

# Reprs and tracebacks name the public path, not the private module.
for _name in __all__:
    try:
        globals()[_name].__module__ = __name__
    except (AttributeError, TypeError):
        pass
del _name
