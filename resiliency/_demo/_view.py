"""Rendering with rich: a live table while a scenario runs, then the final table."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ._tracker import LEGEND, Tracker

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
    """The scenario's table, one row per provider; ``LEGEND`` states what each column counts."""
    table = Table(expand=False, show_edge=False, pad_edge=False)
    table.add_column("provider", style="bold")
    table.add_column("calls", justify="right")
    table.add_column("attempts", justify="right")
    table.add_column("requests", justify="right")
    table.add_column("outcome")
    table.add_column("ms per call", justify="right")
    table.add_column("started at", justify="right")
    for row in tracker.rows.values():
        style = "dim" if row.outcome == "not started" else _STYLE[row.ok]
        outcome = _collapse(row.history) if len(row.history) > 1 else row.outcome
        table.add_row(
            row.provider,
            str(row.calls),
            str(row.attempts),
            str(row.requests),
            Text(outcome, style=style),
            _ms(row.ms_per_call),
            _ms(row.started_ms),
        )
    footer = Text(verdict if verdict is not None else f"running... {tracker.elapsed_ms():,.0f} ms", style="bold")
    head = [Text(explains, style="italic")]
    if tracker.note:
        head.append(Text(tracker.note, style="italic"))
    legend = Text(LEGEND, style="dim")
    return Panel(Group(*head, table, legend, footer), title=tracker.title, title_align="left")
