"""The five demo scenarios; each fills the tracker and returns a one-line verdict."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .._errors import AllProvidersFailedError
from .._failover import FailoverGroup
from ._pool_scenario import POOL_EXPLAINS, pool_scenario
from ._tracker import Tracker, describe_error

__all__ = ["SCENARIOS", "Scenario"]


@dataclass(frozen=True)
class Scenario:
    """A named demo step: what it shows and the coroutine that runs it."""

    name: str
    title: str
    explains: str
    run: Callable[[FailoverGroup, Tracker, dict[str, object]], Awaitable[str]]


def _served(result: object) -> str:
    provider = result.get("provider") if isinstance(result, dict) else None
    return f"served by {provider}" if provider else f"result {result!r}"


async def sequential(group: FailoverGroup, tracker: Tracker, options: dict[str, object]) -> str:
    """``execute``: providers in priority order until one succeeds."""
    try:
        result = await group.execute("upload", "report.pdf", b"quarterly numbers")
    except AllProvidersFailedError as exc:
        return f"all providers failed: {[describe_error(a.error) for a in exc.attempts]}"
    return f"{_served(result)} after {tracker.elapsed_ms():.0f} ms"


async def parallel_any(group: FailoverGroup, tracker: Tracker, options: dict[str, object]) -> str:
    """``execute_any``: all providers at once; the first success wins, the rest are cancelled."""
    try:
        result = await group.execute_any("download", "report.pdf")
    except AllProvidersFailedError as exc:
        return f"all providers failed ({len(exc.attempts)} attempts)"
    finally:
        tracker.cancel_running()
    return f"{_served(result)} after {tracker.elapsed_ms():.0f} ms; the others were cancelled"


async def parallel_all(group: FailoverGroup, tracker: Tracker, options: dict[str, object]) -> str:
    """``execute_all``: every provider; one outcome each, never raising."""
    outcomes = await group.execute_all("presign", "report.pdf")
    ok = [o.provider for o in outcomes if o.ok]
    failed = [o.provider for o in outcomes if not o.ok]
    return f"{len(outcomes)} outcomes in provider order: ok={ok} failed={failed}"


async def breaker(group: FailoverGroup, tracker: Tracker, options: dict[str, object]) -> str:
    """Repeated calls: the down provider's breaker opens, then it is skipped at once."""
    down = str(options["down"])
    served = []
    for index in range(int(str(options["breaker_calls"]))):
        if index:
            tracker.new_call()
        try:
            result = await group.execute("download", "report.pdf")
            served.append(str(result.get("provider")) if isinstance(result, dict) else "?")
        except AllProvidersFailedError:
            served.append("none")
    row = tracker.rows.get(down)
    history = row.history if row is not None else []
    skipped = sum(1 for label in history if label.startswith("skipped"))
    requests = row.requests if row is not None else 0
    return (
        f"{down}: {len(history) - skipped} real failures ({requests} requests), then skipped {skipped}x "
        f"without a request; served by {served}"
    )


async def hedging(group: FailoverGroup, tracker: Tracker, options: dict[str, object]) -> str:
    """``execute_any`` with ``hedge_delay``: the next provider starts only if the first is slow."""
    hedge = float(str(options["hedge_delay"]))
    narrowed = [str(options["slow"]), str(options["flaky"])]
    view = group.with_options(providers=narrowed, hedge_delay=hedge)
    tracker.narrow(
        narrowed,
        f"narrowed to two providers, {narrowed[0]} (slow) then {narrowed[1]}: "
        f"group.with_options(providers={narrowed!r}, hedge_delay={hedge:g})",
    )
    try:
        result = await view.execute_any("download", "report.pdf")
    except AllProvidersFailedError as exc:
        return f"all providers failed ({len(exc.attempts)} attempts)"
    finally:
        tracker.cancel_running()
    return f"{_served(result)} after {tracker.elapsed_ms():.0f} ms (hedge after {hedge * 1000:.0f} ms)"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("sequential", "Sequential failover", "execute(): by priority until one succeeds", sequential),
    Scenario("any", "Parallel-any", "execute_any(): first success wins, the rest are cancelled", parallel_any),
    Scenario("all", "Parallel-all", "execute_all(): every provider, an outcome each", parallel_all),
    Scenario("breaker", "Circuit breaker", "the down provider's breaker opens; then it is skipped", breaker),
    Scenario("hedging", "Hedging", "execute_any() with hedge_delay: a backup starts only if slow", hedging),
)

SCENARIOS = (*SCENARIOS, Scenario("pool", "Endpoint pool", POOL_EXPLAINS, pool_scenario))
