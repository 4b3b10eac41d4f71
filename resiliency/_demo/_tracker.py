"""What the demo shows: per-provider rows filled in by the group's hooks as calls run.

Each column counts one thing (``LEGEND`` says it in the panel):

- ``calls``: group calls that reached the provider (scenarios say when a call begins);
- ``attempts``: its attempts in those calls; one rejected by its open breaker and one
  cancelled mid-flight count too;
- ``requests``: HTTP requests it sent; a cancelled one counts, a rejected attempt sends
  none;
- ``outcome``: each attempt's outcome, in order;
- ``ms per call``: its time within one call, first attempt to last (backoff included),
  averaged over its calls, never summed across them;
- ``started at``: its first attempt, ms from the scenario's start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._errors import CircuitOpenError
from .._failover import Hooks, ProviderContext

__all__ = ["LEGEND", "Row", "Tracker", "describe_error"]

LEGEND = (
    "calls: group calls that reached the provider · attempts: its attempts in them (skipped by an open "
    "breaker or cancelled included) · requests: HTTP requests it sent (a cancelled one included) · "
    "outcome: each attempt in order · ms per call: its time in one call, first attempt to last, "
    "averaged over calls · started at: its first attempt, ms from the start"
)


def describe_error(error: BaseException) -> str:
    """A short human label for a provider error."""
    if isinstance(error, CircuitOpenError):
        return "skipped: circuit open"
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        retry_after = error.response.headers.get("Retry-After")
        return f"HTTP {status}" + (f" (Retry-After {retry_after}s)" if retry_after else "")
    if isinstance(error, httpx.TransportError):
        return f"{type(error).__name__}"
    return f"{type(error).__name__}: {error}"[:60]


@dataclass
class Row:
    """One provider's line in a scenario table (see the module docstring for each column)."""

    provider: str
    calls: int = 0
    attempts: int = 0
    requests: int = 0
    outcome: str = "not started"
    ok: bool | None = None
    started_ms: float | None = None
    history: list[str] = field(default_factory=list)
    call_ms: list[float] = field(default_factory=list)  # one entry per call, its time in it
    in_flight: bool = False  # an attempt started and has not ended
    _call: int = -1  # the tracker's call number this row last took part in
    _call_start: float = 0.0

    @property
    def ms_per_call(self) -> float | None:
        """Mean time in one call, in ms; None before its first call."""
        return sum(self.call_ms) / len(self.call_ms) if self.call_ms else None


class Tracker:
    """Collects the rows of the running scenario from hooks; read by the live view.

    Args:
        clock: seconds, monotonic (default ``time.perf_counter``).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.title = ""
        self.note = ""
        self.rows: dict[str, Row] = {}
        self._t0 = clock()
        self._call = 0

    def begin(self, title: str, providers: list[str]) -> None:
        """Start a new scenario table with one row per provider; the first call begins."""
        self.title = title
        self.note = ""
        self.rows = {name: Row(name) for name in providers}
        self._t0 = self.clock()
        self._call = 0

    def narrow(self, providers: list[str], note: str) -> None:
        """Keep only the rows of ``providers`` (a view narrowed with ``with_options``) and say so."""
        self.rows = {name: row for name, row in self.rows.items() if name in providers}
        self.note = note

    def new_call(self) -> None:
        """A new group call begins (scenarios that make several calls say so before each)."""
        self._call += 1

    def elapsed_ms(self) -> float:
        """Milliseconds since the scenario began."""
        return (self.clock() - self._t0) * 1000

    def _row(self, provider: str, now: float) -> Row:
        row = self.rows.setdefault(provider, Row(provider))
        if row._call != self._call:  # the first event of this provider in this call
            row._call, row._call_start = self._call, now
            row.calls += 1
            row.call_ms.append(0.0)
        return row

    def _touch(self, row: Row, now: float) -> None:
        row.call_ms[-1] = (now - row._call_start) * 1000

    def started(self, provider: str) -> None:
        """A provider's attempt is starting (from ``before_execute_op``): it will send a request."""
        now = self.clock()
        row = self._row(provider, now)
        if row.started_ms is None:
            row.started_ms = (now - self._t0) * 1000
        row.attempts += 1
        row.in_flight = True
        row.outcome = "running"

    def sent(self, provider: str) -> None:
        """A provider sent an HTTP request."""
        self._row(provider, self.clock()).requests += 1

    def _finish(self, ctx: ProviderContext, ok: bool, label: str) -> None:
        now = self.clock()
        row = self._row(ctx.provider or "?", now - ctx.duration)
        if not row.in_flight:  # rejected before it started (an open breaker): no start event
            row.attempts += 1
            if row.started_ms is None:
                row.started_ms = (now - ctx.duration - self._t0) * 1000
        row.in_flight = False
        row.ok, row.outcome = ok, label
        row.history.append(label)
        self._touch(row, now)

    def on_success(self, ctx: ProviderContext, result: Any) -> None:
        """Hook: a provider succeeded."""
        self._finish(ctx, True, "ok")

    def on_fail(self, ctx: ProviderContext, error: BaseException) -> None:
        """Hook: a provider's attempt failed."""
        self._finish(ctx, False, describe_error(error))

    def cancel_running(self) -> None:
        """Mark providers still running as cancelled (losers of a race)."""
        now = self.clock()
        for row in self.rows.values():
            if row.in_flight:
                row.in_flight = False
                row.outcome, row.ok = "cancelled (lost the race)", None
                row.history.append(row.outcome)
                self._touch(row, now)

    def hooks(self) -> Hooks:
        """The group hooks that feed this tracker."""
        return Hooks(on_provider_success=self.on_success, on_provider_fail=self.on_fail)
