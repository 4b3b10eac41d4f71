"""Run the resiliency benchmarks against the bare call and peer libraries.

Usage::

    python benchmarks/run.py                         # every case, ~2-3 minutes
    python benchmarks/run.py --smoke                 # seconds: every entry builds and runs (CI)
    python benchmarks/run.py --case retry --case 'breaker_*' --repeat 11
    python benchmarks/run.py --markdown docs/benchmarks.md

Exit status 1 when an entry failed (an exception, or a wrong answer); a library that
cannot express a case, or a resiliency name not built yet, is "n/a", not a failure.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import cases as _cases
from benchmarks._harness import select
from benchmarks._measure import Config, Measurement, run_case
from benchmarks._report import Results, console_line, environment, load_average, markdown, print_table

BASELINES = ("bare_sync", "bare_async")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="check every entry runs (a few seconds, no numbers)")
    parser.add_argument(
        "--case",
        action="append",
        metavar="PATTERN",
        help="run cases whose name matches (glob, or substring without wildcards); repeatable",
    )
    parser.add_argument("--repeat", type=int, metavar="N", help="timed repeats per entry (median reported; default 15)")
    parser.add_argument("--target-ms", type=float, metavar="MS", help="length of one timed repeat (default 15 ms)")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="write the results page (markdown) to PATH")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases; print progress and tables; return the exit status."""
    args = _parse(argv)
    assert _cases.MODULES  # the import registers the cases
    chosen = select(args.case)
    if args.list:
        for case in chosen:
            print(f"{case.name:<28} {case.title}")
        return 0
    if not chosen:
        print(f"no case matches {args.case!r}; try --list", file=sys.stderr)
        return 2
    cfg = Config.for_smoke() if args.smoke else Config()
    if args.repeat is not None:
        cfg.repeat = max(1, args.repeat)
    if args.target_ms is not None:
        cfg.target_ms = args.target_ms
    # The bare calls are the baselines of every ratio: always measured.
    names = {c.name for c in chosen}
    cases = [c for c in select(None) if c.name in BASELINES and c.name not in names] + chosen
    load = load_average()
    started = time.perf_counter()
    measurements: list[Measurement] = []
    for case in cases:
        for m in run_case(case, cfg):
            measurements.append(m)
            print(console_line(m, case), flush=True)
    elapsed = time.perf_counter() - started
    results = Results(cases, measurements)
    errors = [m for m in measurements if m.status == "error"]
    if not args.smoke:
        print_table(results)
    command = shlex.join(["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(results, environment(command, cfg, load)), encoding="utf-8")
        print(f"\nwrote {args.markdown}")
    ok = sum(m.status == "ok" for m in measurements)
    na = sum(m.status == "n/a" for m in measurements)
    print(f"\n{len(measurements)} entries in {elapsed:.1f} s: {ok} ok, {na} n/a, {len(errors)} errors")
    for m in errors:
        print(f"\nERROR {m.case} / {m.library}:\n{m.reason}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
