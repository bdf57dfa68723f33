"""The ``ddp`` command: ``ddp demo``, ``ddp call``, ``ddp ping``.

A deliberately small, dependency-free front end (argparse) so that ``pip install ddp-client``
gives a working command. Output is JSON (EJSON text) so that it pipes into other tools.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ddp import ejson
from ddp.exceptions import DDPError

__all__ = ["main"]


def _parse_args(texts: Sequence[str]) -> list[Any]:
    """Each argument is EJSON text; a word that is not valid JSON is taken as a string."""
    args: list[Any] = []
    for text in texts:
        try:
            args.append(ejson.loads(text))
        except DDPError:
            args.append(text)
    return args


def _cmd_call(ns: argparse.Namespace) -> int:
    from ddp.sync import Client

    with Client(ns.url, connect_timeout=ns.timeout, reconnect=False) as client:
        if ns.user:
            client.login(user=ns.user, password=ns.password or "")
        result = client.call(ns.method, *_parse_args(ns.args), timeout=ns.timeout)
    print(ejson.dumps(result, indent=2 if sys.stdout.isatty() else None))
    return 0


def _cmd_ping(ns: argparse.Namespace) -> int:
    from ddp.sync import Client

    with Client(ns.url, connect_timeout=ns.timeout, reconnect=False) as client:
        for _ in range(ns.count):
            rtt = client.ping(timeout=ns.timeout)
            print(f"pong from {client.url}: session={client.session} time={rtt * 1000:.2f} ms")
    return 0


def _cmd_demo(ns: argparse.Namespace) -> int:
    from ddp.demo import run_demo

    run_demo(print)
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ddp", description="Talk DDP to a Meteor server.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="start a local DDP server and show the client at work")
    demo.set_defaults(func=_cmd_demo)

    call = sub.add_parser("call", help="call a method and print its result as EJSON")
    call.add_argument("url", help="server URL, e.g. http://localhost:3000 or ws://host/websocket")
    call.add_argument("method")
    call.add_argument("args", nargs="*", help="arguments as EJSON (bare words are strings)")
    call.add_argument("--user", help="log in first with this username or email")
    call.add_argument("--password", help="password for --user")
    call.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    call.set_defaults(func=_cmd_call)

    ping = sub.add_parser("ping", help="measure DDP round trips")
    ping.add_argument("url")
    ping.add_argument("-c", "--count", type=int, default=3)
    ping.add_argument("--timeout", type=float, default=10.0)
    ping.set_defaults(func=_cmd_ping)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ddp`` command line; returns the process exit status."""
    ns = _build_parser().parse_args(argv)
    try:
        return int(ns.func(ns))
    except DDPError as exc:
        print(f"ddp: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
