"""Rendering results: the console lines and the markdown page (targets, summary, tables)."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from collections.abc import Iterable

from ._harness import RESILIENCY, Case
from ._measure import Config, Measurement

PEERS = (
    "tenacity", "stamina", "backoff", "pybreaker", "circuitbreaker", "purgatory",
    "aiobreaker", "nopanic", "pyresilience", "hyx", "anyio", "trio", "wrapt",
)  # fmt: skip
BARE_CASE = {"sync": "bare_sync", "asyncio": "bare_async", "trio": "bare_async"}


def _fmt_ns(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _fmt_ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


class Results:
    """All measurements of a run, with the lookups the tables need."""

    def __init__(self, cases: list[Case], measurements: list[Measurement]) -> None:
        self.cases = cases
        self.by_case: dict[str, list[Measurement]] = {}
        for m in measurements:
            self.by_case.setdefault(m.case, []).append(m)

    def bare(self, runner: str) -> float | None:
        """The bare call's ns for a runner (sync, asyncio or trio)."""
        want = "bare [trio]" if runner == "trio" else "bare"
        for m in self.by_case.get(BARE_CASE[runner], []):
            if m.library == want and m.ns is not None:
                return m.ns
        return None

    def resiliency(self, case: str) -> Measurement | None:
        """The resiliency row (asyncio for async cases) of a case, if it ran."""
        for m in self.by_case.get(case, []):
            if m.library == RESILIENCY and m.status == "ok":
                return m
        return None

    def value(self, m: Measurement, case: Case) -> float | None:
        """The headline number of a row: bytes for size cases, ns otherwise."""
        return m.size if case.measure == "size" else m.ns

    def overhead(self, m: Measurement) -> float | None:
        """ns per call minus the bare call of the same runner."""
        bare = self.bare(m.runner)
        return None if m.ns is None or bare is None else m.ns - bare


def load_average() -> str:
    """The 1-minute load average (``os.getloadavg``), or "n/a" where it does not exist."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "n/a"


def environment(command: str, cfg: Config, load: str = "") -> list[tuple[str, str]]:
    """Date, machine, Python, command, load and library versions, as (label, value) pairs."""
    try:
        date = subprocess.run(["date"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    versions = []
    for name in (RESILIENCY, *PEERS):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs (nproc), {platform.system()} {platform.release()}"
    return [
        ("Date", date),
        ("Machine", machine + (f", {cpu}" if cpu else "")),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("Command", f"`{command}`"),
        (
            "Settings",
            f"median of {cfg.repeat} interleaved repeats, each ~{cfg.target_ms:g} ms of calls, after warm-up; gc off"
            + (" (SMOKE RUN: one tiny loop per entry, the numbers mean nothing)" if cfg.smoke else ""),
        ),
        ("Load average (1 min) at start / end", f"{load} / {load_average()} on {os.cpu_count()} CPUs"),
        ("Versions", ", ".join(versions)),
    ]


def console_line(m: Measurement, case: Case) -> str:
    """One progress line for the terminal."""
    head = f"{m.case:<28} {m.library:<34}"
    if m.status != "ok":
        return f"{head} {m.status}: {m.reason.splitlines()[0] if m.reason else ''}"
    if case.measure == "size":
        return f"{head} {m.size:>10,.0f} B/object"
    text = f"{head} {_fmt_ns(m.ns):>10} ns/call  (min {_fmt_ns(m.best)}, n={m.number}, repeats={len(m.samples)})"
    if m.alloc_peak is not None:
        text += f"  peak {m.alloc_peak:,.0f} B/call, retained {m.alloc_retained:,.1f} B/call"
    return text


# The targets were set on a machine where a bare sync call takes ~18 ns. The
# "scaled" column multiplies a time target by this machine's bare-call ratio (fastest
# repeat here / 18 ns), so a slower or noisier machine is judged fairly; the verdict on
# the plain target stays beside it.
REFERENCE_BARE_NS = 18.0


def _scale(results: Results) -> float | None:
    for m in results.by_case.get(BARE_CASE["sync"], []):
        if m.library == "bare" and m.best is not None:
            return max(m.best / REFERENCE_BARE_NS, 1.0)
    return None


def _target_rows(results: Results) -> Iterable[str]:
    scale = _scale(results)
    note = f"x{scale:.2f}" if scale is not None else "n/a"
    yield (
        "| case | target | resiliency (median) | min | verdict (on the median) "
        f"| target scaled to this machine ({note}) | verdict (min vs scaled) |"
    )
    yield "|---|---|---:|---:|---|---:|---|"
    for case in results.cases:
        if case.target is None:
            continue
        m = results.resiliency(case.name)
        t = case.target
        if m is None:
            yield f"| `{case.name}` | {t.label()} | n/a | | not measured (not available yet) | | |"
            continue
        best = ""
        best_value: float | None = None
        if t.metric == "bytes":
            got, shown = m.size, f"{m.size:,.0f} B" if m.size is not None else "n/a"
        elif t.metric == "overhead":
            got = results.overhead(m)
            shown = f"{_fmt_ns(got)} ns overhead ({_fmt_ns(m.ns)} ns total)"
            bare = results.bare(m.runner)
            if m.best is not None and bare is not None:
                best_value = m.best - bare
                best = f"{_fmt_ns(best_value)} ns overhead"
        else:
            got, shown = m.ns, f"{_fmt_ns(m.ns)} ns"
            best_value = m.best
            best = f"{_fmt_ns(m.best)} ns"
        if got is None:
            verdict = "n/a"
        else:
            verdict = "met" if got <= t.limit else f"**missed** ({got / t.limit:.1f}x the target)"
        scaled, scaled_verdict = "", ""
        if t.metric != "bytes" and scale is not None:
            limit = t.limit * scale
            scaled = f"{_fmt_ns(limit)} ns"
            if best_value is not None:
                scaled_verdict = "met" if best_value <= limit else f"**missed** ({best_value / limit:.1f}x)"
        yield f"| `{case.name}` | {t.label()} | {shown} | {best} | {verdict} | {scaled} | {scaled_verdict} |"


def _summary_rows(results: Results) -> Iterable[str]:
    yield "| case | resiliency | x bare | fastest other row | its value | other / resiliency |"
    yield "|---|---:|---:|---|---:|---:|"
    for case in results.cases:
        if case.name.startswith("bare_"):
            continue
        rows = results.by_case.get(case.name, [])
        mine = results.resiliency(case.name)
        unit = " B" if case.measure == "size" else " ns"
        peers = [
            m for m in rows
            if m.status == "ok" and not m.library.startswith(RESILIENCY) and results.value(m, case) is not None
        ]  # fmt: skip
        best = min(peers, key=lambda m: results.value(m, case) or 0.0, default=None)
        mine_v = results.value(mine, case) if mine else None
        best_v = results.value(best, case) if best else None
        bare = results.bare(mine.runner) if mine and case.measure != "size" else None
        cells = [
            f"`{case.name}`",
            _fmt_ns(mine_v) + unit if mine_v is not None else "n/a",
            _fmt_ratio(mine_v / bare) if mine_v and bare else "",
            best.library if best else "",
            _fmt_ns(best_v) + unit if best_v is not None else "",
            _fmt_ratio(best_v / mine_v) if best_v is not None and mine_v else "",
        ]
        yield "| " + " | ".join(cells) + " |"


def _case_section(results: Results, case: Case) -> Iterable[str]:
    yield f"### `{case.name}`: {case.title}"
    yield ""
    yield case.description
    yield ""
    rows = results.by_case.get(case.name, [])
    mine = results.resiliency(case.name)
    mine_v = results.value(mine, case) if mine else None
    notes: list[str] = []

    def mark(text: str) -> str:
        if text not in notes:  # the same footnote text gets the same number
            notes.append(text)
        return f" [{notes.index(text) + 1}]"

    if case.measure == "size":
        yield "| library | bytes per object | peer / resiliency |"
        yield "|---|---:|---:|"
    else:
        alloc = case.measure == "time+alloc"
        head = "| library | ns/call | min ns | overhead ns | x bare | peer / resiliency |"
        yield head + (" peak B/call | retained B/call |" if alloc else "")
        yield "|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if alloc else "")
    for m in rows:
        label = m.library + (mark(m.note) if m.note else "")
        if m.status != "ok":
            reason = m.reason.splitlines()[0] if m.reason else m.status
            cell = ("n/a" if m.status == "n/a" else "error") + mark(reason)
            width = 2 if case.measure == "size" else (7 if case.measure == "time+alloc" else 5)
            yield f"| {label} | {cell} |" + " |" * (width - 1)
            continue
        v = results.value(m, case)
        ratio = _fmt_ratio(v / mine_v) if v is not None and mine_v else ""
        if case.measure == "size":
            yield f"| {label} | {v:,.0f} | {ratio} |"
            continue
        bare = results.bare(m.runner)
        over = results.overhead(m)
        cells = [label, _fmt_ns(m.ns), _fmt_ns(m.best), _fmt_ns(over) if over is not None else "",
                 _fmt_ratio(m.ns / bare) if m.ns and bare else "", ratio]  # fmt: skip
        if case.measure == "time+alloc":
            cells += [f"{m.alloc_peak:,.0f}", f"{m.alloc_retained:,.1f}"]
        yield "| " + " | ".join(cells) + " |"
    if notes:
        yield ""
        for i, text in enumerate(notes, 1):
            yield f"[{i}] {text}  "
    yield ""


def markdown(results: Results, env: list[tuple[str, str]]) -> str:
    """The whole results page."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run.py`; how to run it, what each case measures and how to read",
        "the ratios: `benchmarks/README.md` in the repository. Numbers are from one machine",
        "and one run: compare rows within a table, not with another machine's figures.",
        "",
    ]
    lines += [f"- **{label}:** {value}" for label, value in env]
    lines += ["", "## Targets", "", *_target_rows(results), "", "## Summary", ""]
    lines += [
        "`x bare`: resiliency's ns per call over the bare call's (same runner). `other / resiliency`:",
        "the fastest (or smallest) other row of the case, a peer or a hand-written reference, over",
        "resiliency; above 1.00x it is slower (or bigger) than resiliency.",
        "",
        *_summary_rows(results),
        "",
        "## Results per case",
        "",
    ]
    for case in results.cases:
        lines += list(_case_section(results, case))
    return "\n".join(lines).rstrip() + "\n"


def print_table(results: Results) -> None:
    """Print the targets and summary tables to stdout."""
    print()
    for line in (*_target_rows(results), "", *_summary_rows(results)):
        print(line)
    sys.stdout.flush()
