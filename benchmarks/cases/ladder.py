"""Composition ladder: 1, 2, 5 and 10 strategies stacked on one sync function.

resiliency fuses a stack of decorators into one pipeline (one wrapper); most peers add
one wrapper per decorator. The ladder shows how the cost per call and the bytes per
call grow with the depth of the stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import resiliency

from .._harness import RESILIENCY, Unavailable, answer, case
from ._peers import quiet_stamina

DEPTHS = (1, 2, 5, 10)
KINDS = ("retry", "timeout", "fallback", "circuit_breaker", "bulkhead")


def _resiliency_kinds() -> list[tuple[str, Callable[[], Any]]]:
    """The strategies to cycle through, outermost first; the stateful ones only if built."""
    kinds: list[tuple[str, Callable[[], Any]]] = [
        ("retry", lambda: resiliency.retry(max_attempts=3)),
        ("timeout", lambda: resiliency.timeout(10, mode="cooperative")),
        ("fallback", lambda: resiliency.fallback(value=0)),
    ]
    breaker = getattr(resiliency, "circuit_breaker", None)
    if breaker is not None:
        kinds.append(("circuit_breaker", lambda: breaker(failure_threshold=5)))
    bulkhead = getattr(resiliency, "bulkhead", None)
    if bulkhead is not None:
        kinds.append(("bulkhead", lambda: bulkhead(max_concurrent=10)))
    return kinds


def _stack(fn: Any, decorators: list[Any]) -> Any:
    for decorate in reversed(decorators):  # decorators[0] is outermost
        fn = decorate(fn)
    return fn


def _cycle(kinds: list[tuple[str, Callable[[], Any]]], depth: int) -> tuple[list[str], list[Any]]:
    chosen = [kinds[i % len(kinds)] for i in range(depth)]
    return [name for name, _ in chosen], [make() for _, make in chosen]


def _resiliency_note() -> str:
    kinds = [name for name, _ in _resiliency_kinds()]
    missing = [k for k in KINDS if k not in kinds]
    text = "cycles " + ", ".join(kinds) + ' (timeout in `mode="cooperative"`, the sync timeout without a thread)'
    if missing:
        text += "; " + ", ".join(missing) + " not available yet, so the stack repeats the others"
    return text


def _tenacity() -> Any:
    import tenacity

    return tenacity.retry(stop=tenacity.stop_after_attempt(3))


def _stamina() -> Any:
    import stamina

    quiet_stamina()
    return stamina.retry(on=Exception, attempts=3)


def _backoff() -> Any:
    import backoff

    return backoff.on_exception(backoff.expo, Exception, max_tries=3)


def _nopanic_kinds() -> list[tuple[str, Callable[[], Any]]]:
    import nopanic

    return [
        ("retry", lambda: nopanic.retry(attempts=3, on=Exception)),
        ("deadline", lambda: nopanic.deadline(10)),
        ("fallback", lambda: nopanic.fallback(0)),
        ("circuit_breaker", nopanic.CircuitBreaker),
        ("bulkhead", lambda: nopanic.bulkhead(10)),
    ]


def _pyresilience_kinds() -> list[tuple[str, Callable[[], Any]]]:
    from pyresilience import BulkheadConfig, CircuitBreakerConfig, FallbackConfig, RetryConfig, resilient

    return [
        ("retry", lambda: resilient(retry=RetryConfig(max_attempts=3))),
        ("fallback", lambda: resilient(fallback=FallbackConfig(handler=0))),
        ("circuit_breaker", lambda: resilient(circuit_breaker=CircuitBreakerConfig(failure_threshold=5))),
        ("bulkhead", lambda: resilient(bulkhead=BulkheadConfig(max_concurrent=10))),
    ]


RETRY_ONLY = "retry is its only strategy: a stack of N 3-attempt retries"
NOPANIC_NOTE = "cycles retry, deadline (its cooperative timeout), fallback, CircuitBreaker, bulkhead"
PYRESILIENCE_NOTE = (
    "N stacked `@resilient` decorators cycling retry, fallback, circuit_breaker, bulkhead; its sync "
    "timeout always runs the call in a thread pool (no cooperative mode), so it is left out"
)

for _depth in DEPTHS:
    _case = case(
        f"ladder_{_depth}",
        f"composition ladder, {_depth} strateg{'y' if _depth == 1 else 'ies'} (sync)",
        f"{_depth} strategy decorator{'s' if _depth > 1 else ''} stacked on `def fn(): return 42`, "
        "success path. Also reports the allocator's peak bytes per call and bytes retained per call.",
        measure="time+alloc",
    )
    _case.add(RESILIENCY, note=_resiliency_note())(lambda d=_depth: _stack(answer, _cycle(_resiliency_kinds(), d)[1]))
    for _name, _make in (("tenacity", _tenacity), ("stamina", _stamina), ("backoff", _backoff)):
        _case.add(_name, note=RETRY_ONLY if _depth > 1 else None)(
            lambda d=_depth, m=_make: _stack(answer, [m() for _ in range(d)])
        )
    _case.add("nopanic", note=NOPANIC_NOTE)(lambda d=_depth: _stack(answer, _cycle(_nopanic_kinds(), d)[1]))
    _case.add("pyresilience", note=PYRESILIENCE_NOTE)(
        lambda d=_depth: _stack(answer, _cycle(_pyresilience_kinds(), d)[1])
    )

    @_case.add("hyx")
    def _hyx() -> Any:
        raise Unavailable("hyx is async-only: its decorators wrap coroutine functions")
