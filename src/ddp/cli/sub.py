"""``ddp sub`` / ``ddp watch URL PUBLICATION [ARGS...]``: follow a publication live.

On a terminal: a live table (:mod:`ddp.cli.view`). With ``--json`` or in a pipe: one EJSON
object per line, as DDP names them::

    {"msg":"added","collection":"items","id":"a1","fields":{"text":"hi"}}
    {"msg":"changed","collection":"items","id":"a1","fields":{"done":true},"cleared":["due"]}
    {"msg":"removed","collection":"items","id":"a1"}
    {"msg":"ready","publication":"items"}
    {"msg":"status","status":"RECONNECTING","reason":"connection closed"}

A dropped connection is re-established (the table shows it); after a reconnect only what
really changed is reported.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from typing import Any, Protocol

import click

from ddp import ejson
from ddp.cli.connect import Connection, connection_options, open_async_client
from ddp.cli.errors import CLIError, ExitCode
from ddp.cli.values import parse_args, write_line
from ddp.collection import MISSING, CollectionChange
from ddp.events import StatusChanged

__all__ = ["change_message", "sub", "watch"]

_REFRESH = 0.25
"""Seconds between redraws of the live table (and checks that the subscription stands)."""


def change_message(change: CollectionChange) -> dict[str, Any]:
    """The ``--json`` line of one change, shaped like DDP's own data messages."""
    message: dict[str, Any] = {"msg": change.op, "collection": change.collection, "id": change.id}
    if change.op == "added":
        message["fields"] = change.fields or {}
    elif change.op == "changed":
        fields = change.fields or {}
        message["fields"] = {k: v for k, v in fields.items() if v is not MISSING}
        cleared = [k for k, v in fields.items() if v is MISSING]
        if cleared:
            message["cleared"] = cleared
    return message


class _Sink(Protocol):
    def changes(self, changes: Sequence[CollectionChange]) -> None: ...
    def note(self, message: dict[str, Any]) -> None: ...
    def tick(self) -> None: ...
    def close(self) -> None: ...


class _JsonSink:
    def changes(self, changes: Sequence[CollectionChange]) -> None:
        for change in changes:
            write_line(ejson.dumps(change_message(change)))

    def note(self, message: dict[str, Any]) -> None:
        write_line(ejson.dumps(message))

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


class _LiveSink:
    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        from ddp.cli.view import DocumentTable

        self._console = Console()
        self._table = DocumentTable(title)
        self._live = Live(console=self._console, auto_refresh=False, transient=False)
        self._live.start()
        self._drawn_at = 0.0

    def changes(self, changes: Sequence[CollectionChange]) -> None:
        self._table.apply(changes)

    def note(self, message: dict[str, Any]) -> None:
        if message["msg"] == "status":
            self._table.status = str(message["status"]).lower()
        elif message["msg"] == "ready":
            self._table.status = "ready"

    def tick(self) -> None:
        # At most a few redraws a second however fast changes come (and while highlights
        # fade); each is cheap, as only the visible rows are built.
        now = time.monotonic()
        if now - self._drawn_at >= _REFRESH:
            self._draw(now)

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        self._live.update(self._table.render(self._console.size.height), refresh=True)

    def close(self) -> None:
        self._draw(time.monotonic())
        self._live.stop()


async def _follow(
    connection: Connection,
    publication: str,
    params: list[Any],
    sink: _Sink,
    count: int | None,
    duration: float | None,
    connect_timeout: float,
) -> int:
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    seen = 0
    async with open_async_client(connection, timeout=connect_timeout, reconnect=True) as client:
        client.on_collection_change(lambda changes: queue.put_nowait(("changes", changes)))

        def on_status(change: StatusChanged) -> None:
            message = {"msg": "status", "status": change.new.name}
            if change.reason:
                message["reason"] = change.reason
            queue.put_nowait(("note", message))

        client.on_status(on_status)
        subscription = await client.subscribe(publication, *params, wait=False)

        async def ready() -> None:
            # Resumes after the listener call that carries the initial documents (both are
            # scheduled on the loop in order), so "ready" follows them in the output.
            await subscription.ready(connect_timeout)
            queue.put_nowait(("note", {"msg": "ready", "publication": publication}))

        ready_task = asyncio.create_task(ready())
        deadline = None if duration is None else time.monotonic() + duration
        try:
            while True:
                wait = _REFRESH
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        break
                try:
                    kind, item = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    kind, item = "tick", None
                if kind == "tick":
                    sink.tick()
                    failure = ready_task.exception() if ready_task.done() else None
                    failure = failure or subscription.error
                    if failure is not None:
                        raise failure
                    if subscription.stopped:
                        sink.note({"msg": "nosub", "publication": publication})
                        return 0
                    continue
                if kind == "changes":
                    if count is not None:
                        item = item[: count - seen]
                    sink.changes(item)
                    seen += len(item)
                    if count is not None and seen >= count:
                        return 0
                else:
                    sink.note(item)
                sink.tick()
        finally:
            ready_task.cancel()
            sink.close()
    if count is not None:
        raise CLIError(f"{seen} of {count} changes within {duration} s", ExitCode.TIMEOUT)
    return 0


def _command(name: str, help_text: str) -> click.Command:
    @click.command(name, context_settings={"ignore_unknown_options": True}, help=help_text)
    @connection_options
    @click.argument("publication")
    @click.argument("args", nargs=-1)
    @click.option("--json", "as_json", is_flag=True, help="One EJSON event per line.")
    @click.option(
        "--count",
        "-n",
        type=click.IntRange(min=1),
        default=None,
        help="Exit after this many added/changed/removed events.",
    )
    @click.option(
        "--timeout",
        "-t",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Exit after this many seconds (with --count: exit status 5 if fewer came).",
    )
    @click.option(
        "--connect-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=10.0,
        show_default=True,
        help="Seconds to connect and for the subscription to be ready.",
    )
    def command(
        connection: Connection,
        publication: str,
        args: tuple[str, ...],
        as_json: bool,
        count: int | None,
        timeout: float | None,
        connect_timeout: float,
    ) -> int:
        params = parse_args(args)
        live = not as_json and sys.stdout.isatty()
        sink: _Sink = _LiveSink(f"{publication} @ {connection.url}") if live else _JsonSink()
        return asyncio.run(
            _follow(connection, publication, params, sink, count, timeout, connect_timeout)
        )

    return command


_HELP = """Subscribe to PUBLICATION with ARGS (EJSON) and show its documents live.

On a terminal, a table highlights added, changed and removed documents; with --json or in
a pipe, one event per line. Ctrl-C ends it; --count and --timeout end it for scripts.
"""

sub = _command("sub", _HELP)
watch = _command("watch", _HELP.replace("Subscribe", "The same as 'ddp sub': subscribe", 1))
