"""``python -m resiliency outbox PATH stats|list|retry ID|purge|drain APP``.

Reads and mends a ``SqliteOutbox`` file: counts per state, the items (a table), re-queue
a dead item, purge done (or dead) items, and drain it through an application's group
with a progress bar. Uses rich when it is installed, plain text otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from ._item import STATES
from ._outbox import Outbox
from ._worker import OutboxWorker

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the outbox command's arguments to ``parser``."""
    parser.add_argument("path", help="the SqliteOutbox file")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("stats", help="how many items are pending, in flight, done and dead")
    listing = actions.add_parser("list", help="the items, oldest first")
    listing.add_argument("--state", choices=STATES, help="only items in this state")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    retry = actions.add_parser("retry", help="put a dead item back to pending")
    retry.add_argument("id", help="the item id")
    purge = actions.add_parser("purge", help="delete done items (or --state dead)")
    purge.add_argument("--state", choices=("done", "dead"), default="done")
    drain = actions.add_parser("drain", help="apply pending items through a group, with a progress bar")
    drain.add_argument("group", help="MODULE:ATTRIBUTE of the FailoverGroup that applies the items")
    drain.add_argument("--concurrency", type=int, default=4)
    drain.add_argument("--max-attempts", type=int, default=10)


def _console() -> Any:
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console()


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _load_group(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"group must be MODULE:ATTRIBUTE (got {spec!r})")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def _drain(outbox: Outbox, args: argparse.Namespace, console: Any) -> int:
    worker = OutboxWorker(outbox, _load_group(args.group), concurrency=args.concurrency, max_attempts=args.max_attempts)
    total = outbox.stats().pending
    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(worker.drain_sync()), name="resiliency-outbox-drain")
    thread.start()
    if console is None:
        thread.join()
    else:
        from rich.progress import Progress

        with Progress(console=console) as progress:
            task = progress.add_task("draining", total=total)
            while thread.is_alive():
                progress.update(task, completed=worker.applied + worker.failed)
                time.sleep(0.1)
            progress.update(task, completed=total)
    thread.join()
    print(f"applied {done[0] if done else 0}, failed attempts {worker.failed}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the outbox command ``args.action``; return the exit code."""
    outbox = Outbox(args.path)
    console = _console()
    try:
        if args.action == "stats":
            stats = outbox.stats()
            for state in STATES:
                print(f"{state:<10} {getattr(stats, state)}")
            return 0
        if args.action == "list":
            items = outbox.items(args.state, args.limit)
            if console is None:
                for it in items:
                    print(it.id, it.op, it.state, it.attempts, it.last_error or "", sep="\t")
                return 0
            from rich.table import Table

            table = Table("id", "op", "state", "attempts", "created (UTC)", "last error", title=str(args.path))
            for it in items:
                table.add_row(it.id, it.op, it.state, str(it.attempts), _when(it.created), it.last_error or "")
            console.print(table)
            return 0
        if args.action == "retry":
            if outbox.retry(args.id):
                print(f"item {args.id} is pending again")
                return 0
            print(f"no dead item {args.id}", file=sys.stderr)
            return 1
        if args.action == "purge":
            print(f"purged {outbox.purge(args.state)} {args.state} items")
            return 0
        return _drain(outbox, args, console)
    finally:
        outbox.close()
