"""The command line: ``python -m resiliency demo [flags]``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m resiliency", description="resiliency command line")
    commands = parser.add_subparsers(dest="command", required=True)
    try:
        from ._demo._run import EPILOG, add_arguments, run
    except ImportError as exc:
        if exc.name not in ("httpx", "rich"):
            raise
        print(f"the demo needs {exc.name}: pip install -e '.[demo]'", file=sys.stderr)
        return 2
    demo = commands.add_parser(
        "demo",
        help="fail over across three real HTTP providers on loopback",
        description=(
            "Starts three HTTP storage providers on 127.0.0.1 inside this process (one down, "
            "one slow, one flaky), calls them through httpx, and shows sequential failover, "
            "parallel-any, parallel-all, a circuit breaker opening and the open provider "
            "being skipped, and hedging, with a table per scenario."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(demo)
    args = parser.parse_args(argv)
    return run(args)
