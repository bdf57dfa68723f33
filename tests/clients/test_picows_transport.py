"""The picows transport (``ddp.asyncio._picows``) and how the asyncio client chooses it.

Against real servers on loopback: websockets servers that write hand-made frames (fragments,
binary, invalid UTF-8, oversized messages, several frames in one read), a bare TCP server
that completes the websocket handshake and then ignores everything, or says nothing at all,
and the test DDP server (end to end, on both transports).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("picows")

from async_support import TIMEOUT, next_event
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import CloseCode

import ddp
from ddp import AsyncClient
from ddp._transport import DialSpec, FrameMeter
from ddp.asyncio import _dial
from ddp.asyncio._picows import dial
from ddp.events import ConnectionLost
from ddp.server import Server
from ddp.stats import StatsRecorder

Handler = Callable[[ServerConnection], Awaitable[None]]
TEXT, BINARY, CONT, PING = 0x1, 0x2, 0x0, 0x9


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One unmasked websocket frame, as a server writes it (payloads under 126 bytes)."""
    assert len(payload) < 126
    return bytes(((0x80 if fin else 0) | opcode, len(payload))) + payload


def spec(url: str, **changes: Any) -> DialSpec:
    """A dial of ``url`` with the client's defaults, changed as given."""
    values: dict[str, Any] = {
        "url": url,
        "ssl": None,
        "origin": None,
        "headers": (),
        "compression": False,
        "proxy": None,
        "open_timeout": TIMEOUT,
        "max_size": 1 << 20,
    }
    values.update(changes)
    return DialSpec(**values)


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


class Collector:
    """A ``Deliver`` that records texts and wakes a waiter once ``count`` have arrived."""

    def __init__(self, count: int) -> None:
        self.texts: list[str] = []
        self.count = count
        self.all_in = asyncio.Event()

    def __call__(self, text: str) -> bool:
        self.texts.append(text)
        if len(self.texts) >= self.count:
            self.all_in.set()
        return False

    async def wait(self) -> list[str]:
        async with asyncio.timeout(TIMEOUT):
            await self.all_in.wait()
        return self.texts


# -- receiving ---------------------------------------------------------------------------------


async def test_texts_arrive_in_order_whole_and_text_only(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        write = ws.transport.write
        write(frame(TEXT, b"one"))  # before the client listens: kept for it
        assert await ws.recv() == "go"
        write(frame(BINARY, b"\x00binary"))  # Meteor's client drops binary; so do we
        write(frame(TEXT, b"t", fin=False) + frame(CONT, b"w", fin=False) + frame(CONT, b"o"))
        # A fragmented binary message with a ping between its fragments: all dropped.
        write(frame(BINARY, b"frag", fin=False) + frame(PING, b"p") + frame(CONT, b"ment"))
        write(frame(TEXT, "thr\u00e9e".encode()))
        await ws.wait_closed()

    stats = StatsRecorder(time.monotonic)
    transport = await dial(spec(await ws_server(handler)), FrameMeter(stats))
    got = Collector(3)
    transport.send(["go"])
    transport.deliver_to(got)
    assert await got.wait() == ["one", "two", "thr\u00e9e"]
    assert stats.read_frames == 3 and stats.read_bytes == len("onetwothr\u00e9e".encode())
    assert stats.write_frames == 1 and stats.write_bytes == 2
    await transport.close()
    assert await transport.wait_closed() == "closed by the server (1000)"


async def test_a_woken_task_runs_before_the_rest_of_the_read(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        assert await ws.recv() == "go"
        # Three messages in one write, so that the client reads them in one go.
        ws.transport.write(b"".join(frame(TEXT, t) for t in (b"result", b"after", b"later")))
        await ws.wait_closed()

    transport = await dial(
        spec(await ws_server(handler)), FrameMeter(StatsRecorder(time.monotonic))
    )
    woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    got = Collector(3)

    def deliver(text: str) -> bool:
        got(text)
        if text == "result":
            woken.set_result(None)
            return True  # let the waiter run before "after" and "later"
        return False

    transport.deliver_to(deliver)
    transport.send(["go"])
    async with asyncio.timeout(TIMEOUT):  # (wait_for would add loop turns of its own)
        await woken
    assert got.texts == ["result"]  # the rest of the read waits for the woken task
    assert await got.wait() == ["result", "after", "later"]  # then comes, in order
    await transport.close()
    await transport.wait_closed()


async def test_sockjs_texts_and_close_frame(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        write = ws.transport.write
        write(frame(TEXT, b"o") + frame(TEXT, b"h"))
        assert await ws.recv() == '["go"]'  # the client frames what it sends
        write(frame(TEXT, b'a["one","two"]') + frame(TEXT, b'c[3000,"go away"]'))
        write(frame(TEXT, b'a["never"]'))  # after a close frame, nothing is trusted
        await ws.wait_closed()

    url = await ws_server(handler)
    transport = await dial(spec(url, sockjs=True), FrameMeter(StatsRecorder(time.monotonic)))
    got = Collector(2)
    transport.deliver_to(got)
    transport.send(["go"])
    async with asyncio.timeout(TIMEOUT):
        assert await transport.wait_closed() == "SockJS close 3000 go away"
    assert got.texts == ["one", "two"]


@pytest.mark.parametrize("fragmented", [False, True])
async def test_invalid_utf8_closes_with_1007(
    ws_server: Callable[[Handler], Awaitable[str]], fragmented: bool
) -> None:
    server_saw: list[int | None] = []
    server_done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        write = ws.transport.write
        write(frame(TEXT, b"fine"))
        bad = b"ok \xff\xfe bad"
        if fragmented:
            write(frame(TEXT, bad[:4], fin=False) + frame(CONT, bad[4:]))
        else:
            write(frame(TEXT, bad))
        write(frame(TEXT, b"after"))  # never trusted once the connection failed
        await ws.wait_closed()
        server_saw.append(ws.close_code)
        server_done.set()

    stats = StatsRecorder(time.monotonic)
    transport = await dial(spec(await ws_server(handler)), FrameMeter(stats))
    got = Collector(1)
    transport.deliver_to(got)
    async with asyncio.timeout(TIMEOUT):
        reason = await transport.wait_closed()
    assert "invalid UTF-8" in reason and "1007" in reason
    assert got.texts == ["fine"]
    assert stats.read_errors == 1
    async with asyncio.timeout(TIMEOUT):
        await server_done.wait()
    assert server_saw == [CloseCode.INVALID_DATA]


@pytest.mark.parametrize("fragmented", [False, True])
async def test_a_message_over_max_size_closes_with_1009(
    ws_server: Callable[[Handler], Awaitable[str]], fragmented: bool
) -> None:
    server_saw: list[int | None] = []
    server_done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        write = ws.transport.write
        write(frame(TEXT, b"0123456789"))  # exactly max_size: fine
        if fragmented:  # each fragment fits; the message does not
            write(frame(TEXT, b"01234567", fin=False) + frame(CONT, b"01234567"))
        else:
            write(frame(TEXT, b"0123456789+"))
        await ws.wait_closed()
        server_saw.append(ws.close_code)
        server_done.set()

    stats = StatsRecorder(time.monotonic)
    transport = await dial(spec(await ws_server(handler), max_size=10), FrameMeter(stats))
    got = Collector(1)
    transport.deliver_to(got)
    async with asyncio.timeout(TIMEOUT):
        reason = await transport.wait_closed()
    assert "1009" in reason
    assert got.texts == ["0123456789"]
    assert stats.read_errors == 1
    async with asyncio.timeout(TIMEOUT):
        await server_done.wait()
    assert server_saw == [CloseCode.MESSAGE_TOO_BIG]


# -- sending -----------------------------------------------------------------------------------


async def test_sends_of_one_iteration_arrive_in_order(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    received: list[str] = []
    all_in = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            assert isinstance(message, str)
            received.append(message)
            if len(received) == 1002:
                all_in.set()

    stats = StatsRecorder(time.monotonic)
    transport = await dial(spec(await ws_server(handler)), FrameMeter(stats))
    texts = [f"m{i}" for i in range(1000)]
    for text in texts:  # one send each, in one loop iteration: all but the first corked
        transport.send([text])
    await asyncio.sleep(0)  # the next iteration
    transport.send(["\u00e9t\u00e9", "last"])
    async with asyncio.timeout(TIMEOUT):
        await all_in.wait()
    assert received == [*texts, "\u00e9t\u00e9", "last"]
    assert stats.write_frames == 1002
    await transport.close()
    await transport.wait_closed()
    transport.send(["too late"])  # dropped, and counted
    assert stats.write_errors == 1


# -- ending ------------------------------------------------------------------------------------


async def test_a_close_the_server_starts_is_answered_with_its_code(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    answered: list[int] = []
    server_done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.close(4001, "bye")
        assert ws.protocol.close_rcvd is not None
        answered.append(ws.protocol.close_rcvd.code)
        server_done.set()

    transport = await dial(
        spec(await ws_server(handler)), FrameMeter(StatsRecorder(time.monotonic))
    )
    transport.deliver_to(lambda text: None)
    async with asyncio.timeout(TIMEOUT):
        assert await transport.wait_closed() == "closed by the server (4001 bye)"
        await server_done.wait()
    assert answered == [4001]


async def test_abort_keeps_the_first_reason(
    ws_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    stats = StatsRecorder(time.monotonic)
    transport = await dial(spec(await ws_server(handler)), FrameMeter(stats))
    transport.deliver_to(lambda text: None)
    transport.abort("reconnect requested")
    transport.abort("something else")
    transport.send(["after the abort"])  # dropped at once, and counted
    assert stats.write_errors == 1
    async with asyncio.timeout(TIMEOUT):
        assert await transport.wait_closed() == "reconnect requested"
    await transport.close()  # on an ended connection: returns at once


@dataclass
class Peer:
    """A bare TCP server's view of its one client."""

    url: str
    requested: asyncio.Event = field(default_factory=asyncio.Event)  # the upgrade request is in
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the client closed its socket


@pytest.fixture
async def tcp_server() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """Start bare TCP servers: each reads the upgrade request, answers it (with ``first``
    bytes after the response) or never does, then only reads (never a close frame)."""
    servers: list[asyncio.Server] = []

    async def start(*, handshake: bool, first: bytes = b"") -> Peer:
        peer = Peer("")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                request = await reader.readuntil(b"\r\n\r\n")
                peer.requested.set()
                if handshake:
                    writer.write(_upgrade_response(request) + first)
                while await reader.read(4096):
                    pass
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
                peer.closed.set()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        peer.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/websocket"
        return peer

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def _upgrade_response(request: bytes) -> bytes:
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


async def test_texts_read_before_deliver_to_are_kept(
    tcp_server: Callable[..., Awaitable[Peer]],
) -> None:
    # The server's first message comes in the same write as its handshake response, so
    # picows reads it before the dial even returns.
    peer = await tcp_server(handshake=True, first=frame(TEXT, b"early"))
    transport = await dial(spec(peer.url), FrameMeter(StatsRecorder(time.monotonic)))
    got = Collector(1)
    transport.deliver_to(got)
    assert got.texts == ["early"]  # kept, and delivered at once by deliver_to
    transport.abort("done")
    async with asyncio.timeout(TIMEOUT):
        assert await transport.wait_closed() == "done"
        await peer.closed.wait()


async def test_close_is_bounded_when_the_server_never_answers(
    tcp_server: Callable[..., Awaitable[Peer]],
) -> None:
    peer = await tcp_server(handshake=True)
    transport = await dial(
        spec(peer.url, close_timeout=0.1), FrameMeter(StatsRecorder(time.monotonic))
    )
    transport.deliver_to(lambda text: None)
    async with asyncio.timeout(TIMEOUT):
        await transport.close()  # no close frame comes back: aborts past close_timeout
        assert await transport.wait_closed() == "closed"
        await peer.closed.wait()  # and the socket really is closed


@pytest.mark.parametrize("how", ["timeout", "cancel"])
async def test_a_dial_given_up_during_the_handshake_leaves_no_socket_open(
    tcp_server: Callable[..., Awaitable[Peer]], how: str
) -> None:
    peer = await tcp_server(handshake=False)  # reads the upgrade request, never answers
    if how == "timeout":
        with pytest.raises(TimeoutError):
            await dial(spec(peer.url, open_timeout=0.1), FrameMeter(StatsRecorder(time.monotonic)))
        assert peer.requested.is_set()
    else:
        task = asyncio.create_task(dial(spec(peer.url), FrameMeter(StatsRecorder(time.monotonic))))
        async with asyncio.timeout(TIMEOUT):
            await peer.requested.wait()  # the dial now waits for the handshake response
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    async with asyncio.timeout(TIMEOUT):
        await peer.closed.wait()  # the server saw the socket close


# -- through the client ------------------------------------------------------------------------


def _user_agent(server: Server, client: AsyncClient) -> str:
    """What the dialing library said it was (websockets sends a User-Agent; picows none)."""
    seen = server.session(client.session or "").connection.http_headers
    return str(seen.get("user-agent", ""))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"transport": "websockets"}, "websockets"),
        ({"transport": "picows"}, "picows"),
        ({}, "picows"),  # "auto", where picows is installed
        ({"compression": True}, "websockets"),  # only websockets has permessage-deflate
        ({"compression": False}, "picows"),
    ],
)
async def test_the_transport_option_picks_the_websocket(
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
    expected: str,
) -> None:
    monkeypatch.setattr(_dial, "PICOWS_AVAILABLE", True)  # whatever DDP_TEST_TRANSPORT says
    async with AsyncClient(server.url, **options) as client:
        assert ("websockets" in _user_agent(server, client)) == (expected == "websockets")
        assert await client.call("add", 2, 40) == 42


async def test_auto_falls_back_to_websockets_without_picows(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_dial, "PICOWS_AVAILABLE", False)
    async with AsyncClient(server.url) as client:
        assert "websockets" in _user_agent(server, client)
    with pytest.raises(ValueError, match="picows"):
        AsyncClient(server.url, transport="picows")


def test_transport_options_are_validated() -> None:
    with pytest.raises(ValueError, match="permessage-deflate"):
        AsyncClient("ws://h/websocket", transport="picows", compression=True)
    with pytest.raises(ValueError, match="unknown transport"):
        AsyncClient("ws://h/websocket", transport="aiohttp")
    with pytest.raises(TypeError):
        AsyncClient("ws://h/websocket", transport=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AsyncClient("ws://h/websocket", compression="yes")  # type: ignore[arg-type]


async def test_both_transports_count_the_same(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same conversation gives the same frame and byte counts on either transport."""
    monkeypatch.setattr(_dial, "PICOWS_AVAILABLE", True)
    counts = []
    for transport in ("websockets", "picows"):
        async with AsyncClient(server.url, transport=transport, heartbeat_interval=0) as client:
            call = client.go("echo", "d\u00e9j\u00e0 vu")
            await call.data_visible(timeout=TIMEOUT)  # the result and the updated are in
            stats = client.stats()
            counts.append([(s.ops, s.bytes, s.errors) for s in (stats.reads, stats.writes)])
    assert counts[0] == counts[1]


@pytest.mark.parametrize("transport", ["picows", "websockets"])
async def test_a_message_over_max_size_ends_the_connection_on_both_transports(
    server: Server, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    monkeypatch.setattr(_dial, "PICOWS_AVAILABLE", True)
    client = AsyncClient(server.url, transport=transport, max_size=1000, reconnect=False)
    stream = client.events()
    await client.connect()
    call = client.go("echo", "x" * 2000)  # the result is over max_size
    lost = await next_event(stream, ConnectionLost)
    if transport == "picows":  # (the websockets transport says "connection lost")
        assert "1009" in lost.reason
    with pytest.raises(ddp.ConnectionClosedError):
        await call.result(timeout=TIMEOUT)
    await client.close()
