"""The success paths of two versions of resiliency in one process, interleaved.

Usage::

    git worktree add /tmp/main-copy main        # or any checkout of the baseline
    python benchmarks/compare_success.py --baseline /tmp/main-copy [--repeat 31]
    python benchmarks/compare_success.py --smoke  # the baseline is this tree (CI-free check)

The baseline's ``resiliency`` package is copied to a temporary directory as
``resiliency_base`` (its relative imports make that work) and both versions decorate
the same functions; each repeat times both, case by case, and the best repeat of each
is reported (on a shared machine the median moves with the load, the best repeat much
less). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def answer() -> int:
    return 42


async def aanswer() -> int:
    return 42


def build(lib: Any) -> dict[str, Callable[[], Any]]:
    """The cases of ``benchmarks/run.py`` this compares, built on ``lib``."""
    breaker = lib.CircuitBreaker(failure_threshold=5, reset_timeout=3600)
    rejected = breaker(answer)
    breaker.force_open()

    def open_call() -> int:
        try:
            rejected()
        except lib.CircuitOpenError:
            return 42
        return 0

    group = lib.FailoverGroup(
        "g", policy=lib.PolicyConfig(default=lib.RetryPolicy(max_attempts=1)), registry=lib.Registry()
    )
    lib.provider("a", op="op", group=group)(answer)
    agroup = lib.FailoverGroup(
        "h", policy=lib.PolicyConfig(default=lib.RetryPolicy(max_attempts=1)), registry=lib.Registry()
    )
    lib.provider("a", op="op", group=agroup)(aanswer)
    return {
        "failover_sequential_sync": lambda: group.execute_sync("op"),
        "failover_sequential_async": lambda: agroup.execute("op"),
        "retry_success_sync": lib.retry(max_attempts=3)(answer),
        "breaker_closed_sync": lib.circuit_breaker(failure_threshold=5, reset_timeout=3600)(answer),
        "breaker_open_sync": open_call,
        "bulkhead_sync": lib.bulkhead(max_concurrent=10)(answer),
        "retry_success_async": lib.retry(max_attempts=3)(aanswer),
        "breaker_closed_async": lib.circuit_breaker(failure_threshold=5)(aanswer),
        "bulkhead_async": lib.bulkhead(max_concurrent=10)(aanswer),
    }


def _time(fn: Callable[[], Any], loops: int, is_async: bool) -> float:
    if is_async:

        async def run() -> float:
            start = time.perf_counter_ns()
            for _ in range(loops):
                await fn()
            return (time.perf_counter_ns() - start) / loops

        return asyncio.run(run())
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        return (time.perf_counter_ns() - start) / loops
    finally:
        gc.enable()


def load_baseline(source: Path, into: Path) -> Any:
    """Import ``source/resiliency`` as ``resiliency_base``."""
    target = into / "resiliency_base"
    shutil.copytree(source / "resiliency", target)
    for path in target.rglob("*.py"):  # the odd absolute self-import becomes relative
        text = path.read_text()
        fixed = re.sub(r"^from resiliency\.", "from .", text, flags=re.MULTILINE)
        if fixed != text:
            path.write_text(fixed)
    sys.path.insert(0, str(into))
    import resiliency_base

    return resiliency_base


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(prog="benchmarks/compare_success.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="a checkout holding the baseline's resiliency/ package")
    parser.add_argument("--repeat", type=int, default=31)
    parser.add_argument("--loops", type=int, default=20_000)
    parser.add_argument("--smoke", action="store_true", help="a few calls each, the baseline being this tree")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import resiliency

    repeats, loops = (1, 20) if args.smoke else (args.repeat, args.loops)
    with tempfile.TemporaryDirectory() as home:
        base = load_baseline(args.baseline or ROOT, Path(home))
        old, new = build(base), build(resiliency)
        best: dict[str, list[float]] = {name: [float("inf"), float("inf")] for name in old}
        for _ in range(repeats):
            for name in old:
                is_async = name.endswith("_async")
                best[name][0] = min(best[name][0], _time(old[name], loops, is_async))
                best[name][1] = min(best[name][1], _time(new[name], loops, is_async))
    print(f"- Command: `python benchmarks/compare_success.py {' '.join(argv or sys.argv[1:])}`")
    print()
    print("| case | baseline, best repeat (ns) | this tree (ns) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, (a, b) in best.items():
        print(f"| `{name}` | {a:,.0f} | {b:,.0f} | {b / a:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
