"""Fixtures for the server tests: a server per test and a raw DDP websocket client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from ddp.ejson import from_json_value, to_json_value
from ddp.framing import SockJSFrameKind, sockjs_client_encode, sockjs_decode
from ddp.server import Server

TIMEOUT = 2.0


class RawClient:
    """A DDP client made of a websocket and JSON: no ``ddp`` client code involved.

    ``received`` counts every message with a ``msg`` except ping/pong, as a Meteor 3.5
    client counts for ``receivedCount``.
    """

    def __init__(self, ws: ClientConnection, *, sockjs: bool = False) -> None:
        self.ws = ws
        self.sockjs = sockjs
        self.session: str | None = None
        self.received = 0
        self._pending: list[str] = []
        self.frames: list[str] = []  # raw SockJS frames seen (o, h, a, c)

    async def send(self, msg: dict[str, Any] | str) -> None:
        text = msg if isinstance(msg, str) else orjson.dumps(to_json_value(msg)).decode()
        await self.ws.send(sockjs_client_encode([text]) if self.sockjs else text)

    async def recv_text(self, within: float = TIMEOUT) -> str:
        while not self._pending:
            frame = await asyncio.wait_for(self.ws.recv(), within)
            assert isinstance(frame, str)
            if not self.sockjs:
                self._pending.append(frame)
                continue
            self.frames.append(frame)
            decoded = sockjs_decode(frame)
            if decoded.kind == SockJSFrameKind.MESSAGES:
                self._pending.extend(decoded.messages)
        return self._pending.pop(0)

    async def recv(self, within: float = TIMEOUT) -> dict[str, Any]:
        msg = from_json_value(orjson.loads(await self.recv_text(within)))
        if isinstance(msg, dict) and "msg" in msg and msg["msg"] not in ("ping", "pong"):
            self.received += 1
        return msg  # type: ignore[no-any-return]

    async def expect(self, msg_type: str, within: float = TIMEOUT) -> dict[str, Any]:
        msg = await self.recv(within)
        assert msg.get("msg") == msg_type, msg
        return msg

    async def recv_many(self, n: int) -> list[dict[str, Any]]:
        return [await self.recv() for _ in range(n)]

    async def connect(
        self, version: str = "1", support: list[str] | None = None, **extra: Any
    ) -> str:
        await self.send(
            {"msg": "connect", "version": version, "support": support or [version], **extra}
        )
        msg = await self.expect("connected")
        self.session = msg["session"]
        return msg["session"]  # type: ignore[no-any-return]

    async def call(self, method: str, *params: Any, id: str = "m") -> list[dict[str, Any]]:
        """Send a method and return the messages up to its result and updated."""
        await self.send({"msg": "method", "id": id, "method": method, "params": list(params)})
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        while seen != {"result", "updated"}:
            msg = await self.recv()
            out.append(msg)
            if msg["msg"] == "result" and msg["id"] == id:
                seen.add("result")
            if msg["msg"] == "updated" and id in msg["methods"]:
                seen.add("updated")
        return out

    async def result(self, method: str, *params: Any, id: str = "m") -> dict[str, Any]:
        """Call and return the ``result`` message."""
        messages = await self.call(method, *params, id=id)
        return next(m for m in messages if m["msg"] == "result")

    async def closed(self, within: float = TIMEOUT) -> None:
        """Wait until the server closes the socket (any pending frames are discarded)."""
        await asyncio.wait_for(self.ws.wait_closed(), within)


Connector = Callable[..., Awaitable[RawClient]]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with Server(heartbeat_interval=0, sockjs_heartbeat_interval=0) as srv:
        yield srv


@pytest.fixture
async def open_client() -> AsyncIterator[Connector]:
    """``await open_client(url)`` opens a raw client; all are closed at teardown."""
    clients: list[RawClient] = []

    async def open_(url: str, *, sockjs: bool = False) -> RawClient:
        ws = await connect(url, open_timeout=TIMEOUT, close_timeout=0.5)
        client = RawClient(ws, sockjs=sockjs)
        clients.append(client)
        if sockjs:
            assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "o"
        return client

    yield open_
    for client in clients:
        await client.ws.close()


@pytest.fixture
async def client(server: Server, open_client: Connector) -> RawClient:
    """A raw client, connected with DDP version 1."""
    raw = await open_client(server.url)
    await raw.connect()
    return raw
