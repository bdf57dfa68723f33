"""Targets for ``ddp serve MODULE:NAME`` in the tests."""

from __future__ import annotations

from ddp.server import MethodContext, Server

built = Server(port=0, heartbeat_interval=0)


@built.method("where")
def where(ctx: MethodContext) -> str:
    return "built"


def factory(host: str = "127.0.0.1", port: int = 0) -> Server:
    """A factory that takes the address."""
    server = Server(host, port, heartbeat_interval=0)

    @server.method("where")
    def where(ctx: MethodContext) -> str:
        return "factory"

    return server


def bare_factory() -> Server:
    """A factory that takes nothing."""
    return Server(port=0)


def broken_factory() -> Server:
    raise RuntimeError("boom")


def not_a_server() -> str:
    return "nope"


number = 42
