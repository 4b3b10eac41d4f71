"""Rendering with rich: a live table while a scenario runs, then the final table."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ._tracker import Tracker

__all__ = ["render"]

_STYLE = {True: "green", False: "red", None: "yellow"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _collapse(history: list[str]) -> str:
    """``["HTTP 503", "HTTP 503", "ok"]`` -> ``"HTTP 503 x2 -> ok"``."""
    runs: list[list[object]] = []
    for label in history:
        if runs and runs[-1][0] == label:
            runs[-1][1] = int(str(runs[-1][1])) + 1
        else:
            runs.append([label, 1])
    return " -> ".join(f"{label} x{count}" if count != 1 else str(label) for label, count in runs)


def render(tracker: Tracker, explains: str, verdict: str | None = None) -> Panel:
    """The scenario's table: provider, attempts, outcome, latency, start offset."""
    table = Table(expand=False, show_edge=False, pad_edge=False)
    table.add_column("provider", style="bold")
    table.add_column("attempts", justify="right")
    table.add_column("outcome")
    table.add_column("latency ms", justify="right")
    table.add_column("started at ms", justify="right")
    for row in tracker.rows.values():
        style = "dim" if row.outcome == "not started" else _STYLE[row.ok]
        outcome = _collapse(row.history) if len(row.history) > 1 else row.outcome
        table.add_row(
            row.provider, str(row.attempts), Text(outcome, style=style), _ms(row.latency_ms), _ms(row.started_ms)
        )
    footer = Text(verdict if verdict is not None else f"running... {tracker.elapsed_ms():,.0f} ms", style="bold")
    return Panel(Group(Text(explains, style="italic"), table, footer), title=tracker.title, title_align="left")
