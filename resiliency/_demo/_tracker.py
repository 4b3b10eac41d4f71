"""What the demo shows: per-provider rows filled in by the group's hooks as calls run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._errors import CircuitOpenError
from .._failover import Hooks, ProviderContext

__all__ = ["Row", "Tracker", "describe_error"]


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
    """One provider's line in a scenario table."""

    provider: str
    attempts: int = 0
    outcome: str = "not started"
    ok: bool | None = None
    started_ms: float | None = None
    latency_ms: float | None = None
    history: list[str] = field(default_factory=list)


class Tracker:
    """Collects the rows of the running scenario from hooks; read by the live view."""

    def __init__(self) -> None:
        self.title = ""
        self.rows: dict[str, Row] = {}
        self._t0 = time.perf_counter()

    def begin(self, title: str, providers: list[str]) -> None:
        """Start a new scenario table with one row per provider."""
        self.title = title
        self.rows = {name: Row(name) for name in providers}
        self._t0 = time.perf_counter()

    def elapsed_ms(self) -> float:
        """Milliseconds since the scenario began."""
        return (time.perf_counter() - self._t0) * 1000

    def started(self, provider: str) -> None:
        """A provider's attempt is starting (from ``before_execute_op``)."""
        row = self.rows.setdefault(provider, Row(provider))
        if row.started_ms is None:
            row.started_ms = self.elapsed_ms()
        row.outcome = "running"

    def _finish(self, ctx: ProviderContext, ok: bool, label: str) -> None:
        provider = ctx.provider or "?"
        row = self.rows.setdefault(provider, Row(provider))
        row.attempts = max(row.attempts, ctx.attempt)
        row.ok, row.outcome = ok, label
        row.history.append(label)
        if row.started_ms is None:  # rejected before it started (an open breaker)
            row.started_ms = self.elapsed_ms()
        row.latency_ms = self.elapsed_ms() - row.started_ms

    def on_success(self, ctx: ProviderContext, result: Any) -> None:
        """Hook: a provider succeeded."""
        self._finish(ctx, True, "ok")

    def on_fail(self, ctx: ProviderContext, error: BaseException) -> None:
        """Hook: a provider's attempt failed."""
        self._finish(ctx, False, describe_error(error))

    def cancel_running(self) -> None:
        """Mark providers still running as cancelled (losers of a race)."""
        for row in self.rows.values():
            if row.outcome == "running":
                row.outcome, row.ok = "cancelled (lost the race)", None
                if row.started_ms is not None:
                    row.latency_ms = self.elapsed_ms() - row.started_ms

    def hooks(self) -> Hooks:
        """The group hooks that feed this tracker."""
        return Hooks(on_provider_success=self.on_success, on_provider_fail=self.on_fail)
