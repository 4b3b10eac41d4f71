"""``@chaos``: inject faults, latency or results into a call, at given rates (Polly's chaos).

Per call, when enabled: with probability ``latency_rate`` wait ``latency`` seconds
(through the clock); then with probability ``fault_rate`` fail with ``fault`` without
calling; else with probability ``result_rate`` answer ``result`` without calling; else
call through. A seeded ``rng`` makes the sequence repeatable.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._clock import Clock, get_clock
from ._decorators import Decorator, apply_strategy
from ._engine import AsyncLayer, Strategy, SyncLayer
from ._outcome import Failure
from ._validate import check_duration, check_number, message

__all__ = ["ChaosPolicy", "ChaosStrategy", "chaos"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _rate(param: str, value: object) -> float:
    rate = check_number(param, value, "a probability in [0, 1]")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(message(param, "a probability in [0, 1]", value))
    return rate


@dataclass(frozen=True, slots=True)
class ChaosPolicy:
    """What ``@chaos`` injects and how often (see ``chaos``)."""

    fault: Any = None
    fault_rate: float = 0.0
    latency: float | None = None
    latency_rate: float = 0.0
    result: Any = MISSING
    result_rate: float = 0.0
    enabled: bool | Callable[[], bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "fault_rate", _rate("fault_rate", self.fault_rate))
        object.__setattr__(self, "latency_rate", _rate("latency_rate", self.latency_rate))
        object.__setattr__(self, "result_rate", _rate("result_rate", self.result_rate))
        object.__setattr__(self, "latency", check_duration("latency", self.latency, allow_none=True))
        fault = self.fault
        if not (fault is None or isinstance(fault, BaseException) or callable(fault)):
            raise TypeError(message("fault", "an exception, an exception class or a callable returning one", fault))
        if self.fault_rate and fault is None:
            raise ValueError(message("fault", "an exception when fault_rate > 0", fault))
        if self.latency_rate and self.latency is None:
            raise ValueError(message("latency", "seconds when latency_rate > 0", self.latency))
        if self.result_rate and self.result is MISSING:
            raise ValueError(message("result", "a value when result_rate > 0", "MISSING"))
        if not (isinstance(self.enabled, bool) or callable(self.enabled)):
            raise TypeError(message("enabled", "a bool or a callable returning one", self.enabled))

    def make_fault(self) -> BaseException:
        """A fresh exception to inject (a copy of an instance, a new one of a class)."""
        fault = self.fault
        if isinstance(fault, BaseException):
            return copy.copy(fault)
        made = fault()
        if not isinstance(made, BaseException):
            raise TypeError(message("fault", "a callable returning an exception", made))
        return made


class ChaosStrategy(Strategy):
    """The chaos strategy in a pipeline; its decision (``roll``) is shared by both layers."""

    __slots__ = ("_clock", "_policy", "_rng")
    kind = "chaos"

    def __init__(self, policy: ChaosPolicy, rng: random.Random | None, clock: Clock | None) -> None:
        self._policy = policy
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock

    @property
    def policy(self) -> ChaosPolicy:
        """The ``ChaosPolicy``."""
        return self._policy

    def roll(self) -> tuple[float, Any]:
        """Decide one call: ``(seconds to wait, what to answer instead or MISSING)``."""
        p = self._policy
        enabled = p.enabled if isinstance(p.enabled, bool) else bool(p.enabled())
        if not enabled:
            return 0.0, MISSING
        rng = self._rng
        wait = p.latency if p.latency is not None and p.latency_rate and rng.random() < p.latency_rate else 0.0
        if p.fault_rate and rng.random() < p.fault_rate:
            return wait, Failure(p.make_fault())
        if p.result_rate and rng.random() < p.result_rate:
            return wait, p.result
        return wait, MISSING

    def sync_layer(self, inner: SyncLayer) -> SyncLayer:
        """Wait, fail or answer as ``roll`` decides; else call through."""

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            wait, answer = self.roll()
            if wait:
                (self._clock or get_clock()).sleep(wait)
            return inner(args, kwargs) if answer is MISSING else answer

        return layer

    def async_layer(self, inner: AsyncLayer) -> AsyncLayer:
        """Async form of ``sync_layer``."""

        async def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            wait, answer = self.roll()
            if wait:
                await (self._clock or get_clock()).asleep(wait)
            return await inner(args, kwargs) if answer is MISSING else answer

        return layer


def chaos(
    *,
    fault: Any = None,
    fault_rate: float = 0.0,
    latency: float | None = None,
    latency_rate: float = 0.0,
    result: Any = MISSING,
    result_rate: float = 0.0,
    enabled: bool | Callable[[], bool] = True,
    rng: random.Random | None = None,
    clock: Clock | None = None,
) -> Decorator:
    """Inject faults, latency or results into calls, for resilience tests and game days.

    Args:
        fault: the exception to raise (an instance, copied per call; a class; or a
            callable returning one).
        fault_rate: probability in [0, 1] that a call fails with ``fault``.
        latency: seconds to wait before the call (float or timedelta).
        latency_rate: probability that a call waits ``latency``.
        result: the value answered instead of calling.
        result_rate: probability that a call answers ``result``.
        enabled: a bool, or a callable read on every call (a feature flag).
        rng: the random source (seed it for repeatable tests).
        clock: the ``Clock`` that sleeps (default: the process clock).

    Raises:
        TypeError, ValueError: a bad argument (at decoration), e.g. a rate outside
            [0, 1] or a rate without what it injects.
    """
    policy = ChaosPolicy(fault, fault_rate, latency, latency_rate, result, result_rate, enabled)
    strategy = ChaosStrategy(policy, rng, clock)
    return lambda target: apply_strategy(target, strategy)
