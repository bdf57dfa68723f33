"""``ddp demo``: a local server, and the client at work on it, shown live.

On a terminal the narration scrolls above a live table of the subscription, at a pace a
person can follow (about ten seconds); elsewhere (CI, a pipe) the same story is printed as
plain lines at full speed, each change to the subscription on its own line.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any

import click

from ddp import ejson
from ddp.cli.sub import change_message
from ddp.cli.values import write_line
from ddp.collection import CollectionChange

__all__ = ["demo"]

_PACE = 0.7
"""Seconds between steps on a terminal."""


class _LiveDemo:
    """Narration and the live table, drawn by rich's refresh thread under one lock."""

    def __init__(self) -> None:
        from rich.console import Console

        from ddp.cli.view import DocumentTable

        self.console = Console()
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._table = DocumentTable("subscription 'items' (the client's cache)")
        self._table.status = "live"

    def out(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def changes(self, changes: Sequence[CollectionChange]) -> None:
        with self._lock:
            self._table.apply(changes)

    def status(self, status: str) -> None:
        with self._lock:
            self._table.status = status

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        with self._lock:
            height = self.console.size.height
            story = Text("\n".join(self._lines[-max(3, height // 2 - 2) :]))
            return Group(Panel(story, title="ddp demo"), self._table.render(height // 2))


@click.command()
@click.option(
    "--fast", is_flag=True, help="Do not pause between steps (the default off a terminal)."
)
def demo(fast: bool) -> int:
    """Start a local DDP server and show the client at work: login, calls, a typed error,
    a live subscription, a dropped connection and a server restart survived."""
    from ddp.demo import run_demo

    if not sys.stdout.isatty():
        lock = threading.Lock()

        def out(line: str) -> None:
            with lock:
                write_line(line)

        def changes(batch: Sequence[CollectionChange]) -> None:
            with lock:
                for change in batch:
                    mark = {"added": "+", "changed": "~", "removed": "-"}[change.op]
                    fields = change_message(change).get("fields")
                    text = "" if fields is None else " " + ejson.dumps(fields)
                    write_line(f"  {mark} {change.collection} {change.id}{text}")

        run_demo(out, on_changes=changes)
        return 0

    from rich.live import Live

    view = _LiveDemo()
    with Live(view, console=view.console, refresh_per_second=8):
        run_demo(
            view.out, on_changes=view.changes, on_status=view.status, pace=0.0 if fast else _PACE
        )
    return 0
