"""The ``ddp`` command group and :func:`main`, which turns every failure into one line on
stderr and a documented exit status (see :mod:`ddp.cli.errors`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

import ddp
from ddp.cli.bench import bench
from ddp.cli.call import call
from ddp.cli.demo import demo
from ddp.cli.errors import CLIError, ExitCode, describe
from ddp.cli.ping import ping
from ddp.cli.serve import serve
from ddp.cli.sub import sub, watch
from ddp.exceptions import DDPError

__all__ = ["cli", "main"]

_EPILOG = (
    "Exit status: 0 ok, 1 the server answered with an error, 2 usage, 3 connection, "
    "4 login refused, 5 timeout, 130 interrupted, 141 output closed."
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_EPILOG,
)
@click.version_option(
    ddp.__version__, "--version", "-V", prog_name="ddp", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Talk DDP to a Meteor (or any DDP) server: call methods, watch publications, ping,
    benchmark, or serve the demo server.

    URLs are taken as Meteor takes them: localhost:3000, https://host,
    ws://host/websocket, ddp+sockjs://host.
    """


for _command in (call, sub, watch, ping, bench, serve, demo):
    cli.add_command(_command)


def _quiet_stdout() -> None:
    """After the reader went away, send what is left (and Python's final flush) nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (in-process runs): nothing more will be flushed to a pipe


def _fail(message: str, code: ExitCode, command: str) -> int:
    try:
        sys.stderr.write(f"{command}: {message}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    return int(code)


def main(
    argv: Sequence[str] | None = None,
    prog_name: str = "ddp",
    command: click.Command | None = None,
) -> int:
    """Run the ``ddp`` command line with ``argv`` (default ``sys.argv[1:]``); return the
    exit status instead of exiting, so it can be called in-process.

    ``command`` runs one command on its own (``python -m ddp.server`` is ``serve``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    where = prog_name
    try:
        # Not cli.main(): it turns a closed pipe into exit status 1; we report 141, quietly.
        top = cli if command is None else command
        with top.make_context(prog_name, args) as ctx:
            result = top.invoke(ctx)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        if exc.ctx is not None and not args:
            # A bare `ddp` is a request for help, not a mistake.
            click.echo(exc.ctx.get_help())
            return 0
        if exc.ctx is not None:
            where = exc.ctx.command_path
            hint = f" (see '{where} --help')"
        else:
            hint = ""
        return _fail(exc.format_message() + hint, ExitCode.USAGE, where)
    except click.ClickException as exc:
        return _fail(exc.format_message(), ExitCode.USAGE, where)
    except CLIError as exc:
        return _fail(exc.message, exc.code, where)
    except DDPError as exc:
        error = describe(exc)
        return _fail(error.message, error.code, where)
    except (KeyboardInterrupt, click.Abort):
        return _fail("interrupted", ExitCode.INTERRUPTED, where)
    except BrokenPipeError:
        _quiet_stdout()
        return int(ExitCode.CLOSED_PIPE)
    except Exception as exc:  # a bug: still one line, no traceback (-v logs have the rest)
        return _fail(f"internal error: {type(exc).__name__}: {exc}", ExitCode.INTERNAL, where)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return int(ExitCode.CLOSED_PIPE)
    return int(result) if isinstance(result, int) else 0
