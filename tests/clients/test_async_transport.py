"""The asyncio client's websocket plumbing: ``receive_texts`` and ``write_texts``.

Against real websockets servers on loopback that send what a DDP server never would:
fragmented and binary messages, invalid UTF-8. Each test runs on both connections the
client may dial (``receive_path``): DirectConnection (push delivery) and websockets' stock
one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import CloseCode

import ddp
from ddp.asyncio import _writes
from ddp.asyncio._connection import (
    FAST_PATH_SUPPORTED,
    DirectConnection,
    connection_options,
    receive_texts,
)
from ddp.asyncio._writes import write_texts

Handler = Callable[[ServerConnection], Awaitable[None]]


@pytest.fixture
async def ws_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start websockets servers running a given handler; yield a function returning its URL."""
    servers = []

    async def start(handler: Handler) -> str:
        server = await serve(handler, "127.0.0.1", 0, compression=None)
        servers.append(server)
        port = next(iter(server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/websocket"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
def dial(receive_path: str) -> Callable[[str], Awaitable[ClientConnection]]:
    """Return a function dialing a URL the way the client does, on ``receive_path``."""

    async def dial(url: str) -> ClientConnection:
        ws = await connect(url, compression=None, **connection_options())
        assert isinstance(ws, DirectConnection) == (receive_path == "direct")
        return ws

    return dial


async def test_messages_are_delivered_in_order_whole_and_text_only(
    ws_server: Callable[[Handler], Awaitable[str]],
    dial: Callable[[str], Awaitable[ClientConnection]],
) -> None:
    sent_first = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.send("one")  # before the client is listening: kept for it
        sent_first.set()
        assert await ws.recv() == "go"
        await ws.send(b"\x00binary")  # Meteor's client drops binary messages; so do we
        await ws.send(["t", "w", "o"])  # one text message in three fragments
        await ws.send([b"frag", b"mented binary"])
        await ws.send("thr\u00e9e")
        await ws.wait_closed()

    ws = await dial(await ws_server(handler))
    got: list[str] = []
    first = asyncio.Event()
    done = asyncio.Event()
    await asyncio.wait_for(sent_first.wait(), 5)
    # The pong is written after "one", so once it is back "one" has been read.
    await asyncio.wait_for(await ws.ping(), 5)

    def deliver(text: str) -> None:
        got.append(text)
        first.set()
        if len(got) == 3:
            done.set()

    reader = asyncio.create_task(receive_texts(ws, deliver))
    await asyncio.wait_for(first.wait(), 5)
    assert got == ["one"]  # kept until there was a listener, and only it
    await ws.send("go")
    await asyncio.wait_for(done.wait(), 5)
    assert got == ["one", "two", "thr\u00e9e"]
    await ws.close()
    await asyncio.wait_for(reader, 5)  # it returns once the connection is closed
    assert got == ["one", "two", "thr\u00e9e"]


@pytest.mark.skipif(not FAST_PATH_SUPPORTED, reason="this websockets lacks what it needs")
async def test_direct_connection_delivers_kept_messages_at_once(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("one")  # before the client is listening: kept for it
        await ws.wait_closed()

    ws = await connect(await ws_server(handler), create_connection=DirectConnection)
    assert isinstance(ws, DirectConnection)
    # The pong is written after "one", so once it is back "one" has been read.
    await asyncio.wait_for(await ws.ping(), 5)
    got: list[str] = []
    ws.deliver_to(got.append)
    assert got == ["one"]
    await ws.close()


def _text_frame(text: str) -> bytes:
    """One unmasked, unfragmented websocket text frame, as a server writes it."""
    payload = text.encode()
    assert len(payload) < 126
    return bytes((0x81, len(payload))) + payload


@pytest.mark.skipif(not FAST_PATH_SUPPORTED, reason="this websockets lacks what it needs")
async def test_a_woken_task_runs_before_the_rest_of_the_read(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        assert await ws.recv() == "go"
        # Three messages in one write, so that the client reads them in one go.
        ws.transport.write(b"".join(_text_frame(t) for t in ("result", "after", "later")))
        await ws.wait_closed()

    ws = await connect(await ws_server(handler), create_connection=DirectConnection)
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()
    got: list[str] = []
    all_in = asyncio.Event()

    def deliver(text: str) -> bool:
        got.append(text)
        if len(got) == 3:
            all_in.set()
        if text == "result":
            woken.set_result(None)
            return True  # let the waiter run before "after" and "later"
        return False

    reader = asyncio.create_task(receive_texts(ws, deliver))
    await ws.send("go")
    async with asyncio.timeout(5):  # (wait_for would add loop turns of its own)
        await woken
    assert got == ["result"]  # the rest of the read waits for the woken task
    await asyncio.wait_for(all_in.wait(), 5)
    assert got == ["result", "after", "later"]  # then comes, in order
    await ws.close()
    await asyncio.wait_for(reader, 5)


async def test_invalid_utf8_fails_the_connection_with_1007(
    ws_server: Callable[[Handler], Awaitable[str]],
    dial: Callable[[str], Awaitable[ClientConnection]],
) -> None:
    server_saw: list[int | None] = []
    handler_done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.send("fine")
        await ws.send(b"\xff\xfe bad", text=True)
        await ws.send("after")  # never trusted once the connection failed
        await ws.wait_closed()
        server_saw.append(ws.close_code)
        handler_done.set()

    ws = await dial(await ws_server(handler))
    got: list[str] = []
    await asyncio.wait_for(receive_texts(ws, got.append), 5)
    assert got == ["fine"]
    assert ws.protocol.close_sent is not None
    assert ws.protocol.close_sent.code == CloseCode.INVALID_DATA
    # The server's side of the close runs on its own schedule (since 3.12, wait_for runs the
    # reader in this task, so the test resumes a loop turn earlier): wait for it.
    await asyncio.wait_for(handler_done.wait(), 5)
    assert server_saw == [CloseCode.INVALID_DATA]


async def test_write_texts_writes_in_order_and_declines_when_closed(
    ws_server: Callable[[Handler], Awaitable[str]],
    dial: Callable[[str], Awaitable[ClientConnection]],
) -> None:
    received: list[str] = []
    all_in = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            assert isinstance(message, str)
            received.append(message)
            if len(received) == 102:
                all_in.set()

    ws = await dial(await ws_server(handler))
    reader = asyncio.create_task(receive_texts(ws, lambda text: None))
    texts = [f"m{i}" for i in range(100)]
    assert write_texts(ws, texts)
    assert write_texts(ws, ["\u00e9t\u00e9", "last"])
    await asyncio.wait_for(all_in.wait(), 5)
    assert received == [*texts, "\u00e9t\u00e9", "last"]
    await ws.close()
    assert not write_texts(ws, ["too late"])
    await asyncio.wait_for(reader, 5)


async def test_write_texts_declines_without_the_protocol_internals(
    ws_server: Callable[[Handler], Awaitable[str]],
    dial: Callable[[str], Awaitable[ClientConnection]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    ws = await dial(await ws_server(handler))
    monkeypatch.setattr(_writes, "FAST_WRITES_SUPPORTED", False)
    assert not write_texts(ws, ["x"])  # the caller then uses ws.send
    assert ws.transport.get_write_buffer_size() == 0
    await ws.close()


async def test_client_reads_fragmented_ddp_messages(
    ws_server: Callable[[Handler], Awaitable[str]],
    receive_path: str,
) -> None:
    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            assert isinstance(message, str)
            if '"connect"' in message:
                await ws.send(['{"msg":"conn', 'ected","session":"s1"}'])
            elif '"method"' in message:
                method_id = ddp.ejson.loads(message)["id"]
                await ws.send(['{"msg":"result","id":"', method_id, '","result":42}'])
                await ws.send(f'{{"msg":"updated","methods":["{method_id}"]}}')

    url = await ws_server(handler)
    async with ddp.AsyncClient(url, heartbeat_interval=0, reconnect=False) as client:
        assert client.session == "s1"
        assert await client.call("answer", timeout=5) == 42
