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
        outcome = row.outcome
        if len(row.history) > 1:
            outcome = " -> ".join(row.history[-4:])
        table.add_row(row.provider, str(row.attempts), Text(outcome, style=style), _ms(row.latency_ms), _ms(row.started_ms))
    footer = Text(verdict if verdict is not None else f"running... {tracker.elapsed_ms():,.0f} ms", style="bold")
    return Panel(Group(Text(explains, style="italic"), table, footer), title=tracker.title, title_align="left")
