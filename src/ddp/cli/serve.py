"""``ddp serve [TARGET]`` (also ``python -m ddp.server``): run a DDP server until Ctrl-C.

TARGET is ``module:name``: a :class:`ddp.server.Server` (served as built), or a factory
that returns one; a factory that accepts ``host`` and ``port`` keywords gets the options'
values. Without TARGET, the demo server (:func:`ddp.demo.demo_server`) is served. The first
line printed is the server's URL, so a script can read it (``--port 0`` picks a free port).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import signal
import sys
from typing import Any

import click

from ddp.cli.errors import CLIError, ExitCode
from ddp.cli.values import write_line
from ddp.server import Server

__all__ = ["load_server", "serve"]

DEFAULT_TARGET = "ddp.demo:demo_server"


def load_server(target: str, host: str | None, port: int | None) -> Server:
    """Import ``module:name`` and return the server it names or makes.

    Raises:
        CLIError: the target cannot be imported or is neither a server nor a factory, or
            ``--host``/``--port`` were given for a server that fixes its own (usage).
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise CLIError(f"TARGET {target!r} is not module:name", ExitCode.USAGE)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"cannot import {module_name!r}: {exc}", ExitCode.USAGE) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CLIError(f"{module_name!r} has no {attr!r}", ExitCode.USAGE) from None
    if isinstance(obj, Server):
        if host is not None or port is not None:
            raise CLIError(
                f"{target} is a Server built with its own host and port; "
                "give a factory to use --host/--port",
                ExitCode.USAGE,
            )
        return obj
    if not callable(obj):
        raise CLIError(f"{target} is neither a Server nor a factory", ExitCode.USAGE)
    kwargs = _address(obj, host, port, target)
    try:
        server = obj(**kwargs)
    except Exception as exc:
        raise CLIError(
            f"{target}() raised {type(exc).__name__}: {exc}", ExitCode.INTERNAL
        ) from None
    if not isinstance(server, Server):
        raise CLIError(
            f"{target}() returned {type(server).__name__}, not a ddp.server.Server",
            ExitCode.USAGE,
        )
    return server


def _address(factory: Any, host: str | None, port: int | None, target: str) -> dict[str, Any]:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    kwargs: dict[str, Any] = {}
    for name, value in (("host", host), ("port", port)):
        if value is None:
            continue
        if takes_any or name in parameters:
            kwargs[name] = value
        else:
            raise CLIError(f"{target} takes no {name!r}; --{name} cannot be used", ExitCode.USAGE)
    return kwargs


async def _serve(server: Server) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # SIGTERM (service managers, `kill`) ends it as cleanly as Ctrl-C does.
    try:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError, ValueError):
        pass  # not the main thread, or a platform without it: Ctrl-C still works
    try:
        await server.start()
    except OSError as exc:
        raise CLIError(
            f"cannot listen on {server.host}: {exc.strerror or exc}", ExitCode.CONNECTION
        ) from None
    try:
        write_line(server.url)
        write_line(
            f"serving DDP on {server.url} (SockJS on {server.base_url}); Ctrl-C to stop", sys.stderr
        )
        await stop.wait()
    finally:
        await server.stop()
        try:
            loop.remove_signal_handler(signal.SIGTERM)
        except (NotImplementedError, RuntimeError, ValueError):
            pass


@click.command()
@click.argument("target", required=False, default=None, metavar="[MODULE:NAME]")
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port (default 3000, Meteor's; 0 picks a free one).",
)
def serve(target: str | None, host: str | None, port: int | None) -> int:
    """Run a DDP server: the demo server, or MODULE:NAME (a ddp.server.Server, or a
    factory returning one). Prints its URL first; stops on Ctrl-C or SIGTERM."""
    if target is None:
        server = load_server(DEFAULT_TARGET, host or "127.0.0.1", 3000 if port is None else port)
    else:
        server = load_server(target, host, port)
    try:
        asyncio.run(_serve(server))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a server is meant to stop
    return 0
