"""The command line: ``python -m resiliency demo [flags]`` and ``python -m resiliency outbox PATH ...``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m resiliency", description="resiliency command line")
    commands = parser.add_subparsers(dest="command", required=True)
    from ._outbox import _cli as outbox_cli

    outbox = commands.add_parser(
        "outbox",
        help="inspect, mend and drain a SqliteOutbox file",
        description="Counts, lists, re-queues, purges and drains the deferred writes of a SqliteOutbox file.",
    )
    outbox_cli.add_arguments(outbox)
    try:
        from ._demo._run import EPILOG, add_arguments, run
    except ImportError as exc:
        if exc.name not in ("httpx", "rich"):
            raise
        demo_missing: str | None = exc.name
    else:
        demo_missing = None
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
    if demo_missing is not None and (argv if argv is not None else sys.argv[1:])[:1] == ["demo"]:
        print(f"the demo needs {demo_missing}: pip install -e '.[demo]'", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command == "outbox":
        return outbox_cli.run(args)
    return run(args)
