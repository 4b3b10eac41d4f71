"""Test helpers: virtual time, instant retries, fault injection, and a pytest plugin.

- ``FakeClock``: virtual time for sync and async code, shared by many tasks; pass it as
  ``clock=``, or make it process-wide with ``with FakeClock() as clock:`` or
  ``use_clock(clock)`` (``set_clock`` for the bare switch).
- ``instant()``: every retry wait is zero while attempts still count; ``disabled()``:
  one attempt per call.
- ``faults`` and ``FaultyProvider``: calls that fail n times, fail at a seeded rate,
  are slow, hang or answer garbage, for functions, objects and failover providers.
- ``FaultProxy``: a loopback TCP proxy with toxics (latency, bandwidth, reset, blackhole,
  down, heal) between a real client and a real server.
- ``describe(fn)``: the strategies protecting a decorated callable, outermost first.
- The pytest plugin (``resiliency.testing.plugin``, registered through ``pytest11``):
  fixtures ``fake_clock``, ``isolated_registry`` and ``instant_retries``.
"""

from __future__ import annotations

from .._clock import set_clock as set_clock
from .._decorators import describe as describe
from ._fake_clock import FakeClock as FakeClock
from ._fake_clock import use_clock as use_clock
from ._fault_proxy import FaultProxy as FaultProxy
from ._faults import Fault as Fault
from ._faults import faults as faults
from ._faulty import FaultyProvider as FaultyProvider
from ._switches import disabled as disabled
from ._switches import instant as instant

__all__ = [
    "FakeClock",
    "Fault",
    "FaultProxy",
    "FaultyProvider",
    "describe",
    "disabled",
    "faults",
    "instant",
    "set_clock",
    "use_clock",
]

# Tracebacks and reprs name the public path, not the private module.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
