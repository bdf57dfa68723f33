"""``ddp call URL METHOD [ARGS...]``: call one method and print its result as EJSON."""

from __future__ import annotations

import sys

import click

from ddp.cli.connect import Connection, connection_options, open_client
from ddp.cli.values import dump_value, parse_args, write_line

__all__ = ["call"]


@click.command(context_settings={"ignore_unknown_options": True})
@connection_options
@click.argument("method")
@click.argument("args", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Compact one-line output (for pipes).")
@click.option(
    "--timeout",
    "-t",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to connect, and then to wait for the result.",
)
@click.option("--no-retry", is_flag=True, help="Fail rather than re-send after a lost connection.")
def call(
    connection: Connection,
    method: str,
    args: tuple[str, ...],
    as_json: bool,
    timeout: float,
    no_retry: bool,
) -> int:
    """Call METHOD with ARGS and print its result as EJSON.

    Each ARG is EJSON (a bare word is a string): ddp call URL add 2 40,
    ddp call URL items.insert '{"text": "hi"}'. The result is indented on a terminal and
    one compact line with --json or in a pipe.
    """
    params = parse_args(args)
    with open_client(connection, timeout=timeout) as client:
        result = client.call(method, *params, timeout=timeout, no_retry=no_retry)
    pretty = not as_json and sys.stdout.isatty()
    write_line(dump_value(result, pretty=pretty))
    return 0
