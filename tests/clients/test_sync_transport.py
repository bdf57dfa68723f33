"""The blocking client's websocket hand-over: ``ddp.sync._connection.text_reader``.

Against real ``websockets.sync`` servers on loopback (each on a thread) that send what a DDP
server never would: fragmented and binary messages, invalid UTF-8. The hand-over tests run on
both connections the client may dial (``receive_path``): DirectConnection and websockets'
stock one; the flow-control test is DirectConnection's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame, Opcode
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import Server, ServerConnection, serve

import ddp
from ddp._transport import FrameMeter, Framing, TransportClosed
from ddp.stats import StatsRecorder
from ddp.sync._connection import (
    FAST_PATH_SUPPORTED,
    HIGH_WATER,
    LOW_WATER,
    DirectConnection,
    connection_options,
    text_reader,
)
from ddp.sync._transport import WebsocketsTransport

TIMEOUT = 5.0
CLOSE_TIMEOUT = 4.0

Handler = Callable[[ServerConnection], None]
NextText = Callable[[float | None], str]
Dial = Callable[[str], tuple[ClientConnection, NextText]]


@pytest.fixture
def ws_server() -> Iterator[Callable[[Handler], str]]:
    """Start websockets servers (on threads) with a given handler; yield a URL factory."""
    servers: list[tuple[Server, threading.Thread]] = []

    def start(handler: Handler) -> str:
        server = serve(handler, "127.0.0.1", 0, compression=None)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"ws://127.0.0.1:{server.socket.getsockname()[1]}/websocket"

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(TIMEOUT)


@pytest.fixture
def dial(receive_path: str) -> Dial:
    """Return a function dialing a URL the way the client does, on ``receive_path``."""

    def dial(url: str) -> tuple[ClientConnection, NextText]:
        ws = connect(url, compression=None, close_timeout=CLOSE_TIMEOUT, **connection_options())
        assert isinstance(ws, DirectConnection) == (receive_path == "direct")
        return ws, text_reader(ws)

    return dial


def _direct(url: str) -> DirectConnection:
    ws = connect(
        url, create_connection=DirectConnection, compression=None, close_timeout=CLOSE_TIMEOUT
    )
    assert isinstance(ws, DirectConnection)
    return ws


def test_messages_come_whole_in_order_text_only(
    ws_server: Callable[[Handler], str], dial: Dial
) -> None:
    def handler(ws: ServerConnection) -> None:
        ws.send("one")
        ws.send(b"\x00binary")  # dropped, as Meteor's client drops binary messages
        ws.send(["t", "w", "o"])  # one text message in three fragments
        ws.send([b"frag", b"mented binary"])
        ws.send("thr\u00e9e")
        ws.recv()  # until the client closes

    ws, next_text = dial(ws_server(handler))
    with ws:
        assert [next_text(TIMEOUT) for _ in range(3)] == ["one", "two", "thr\u00e9e"]
        with pytest.raises(TimeoutError):
            next_text(0)


def test_queued_messages_are_read_before_the_close(
    ws_server: Callable[[Handler], str], dial: Dial
) -> None:
    def handler(ws: ServerConnection) -> None:
        ws.send("a")
        ws.send("b")
        ws.close(1001, "bye")

    ws, next_text = dial(ws_server(handler))
    with ws:
        ws.recv_events_thread.join(TIMEOUT)  # the server has closed; all is queued
        assert next_text(TIMEOUT) == "a"
        assert next_text(0) == "b"
        with pytest.raises(ConnectionClosed) as caught:
            next_text(TIMEOUT)
        assert caught.value.rcvd is not None and caught.value.rcvd.code == 1001


def test_invalid_utf8_fails_the_connection_with_1007(
    ws_server: Callable[[Handler], str], dial: Dial
) -> None:
    server_saw: list[int | None] = []
    handler_done = threading.Event()

    def handler(ws: ServerConnection) -> None:
        try:
            ws.send("fine")
            ws.send(b"\xff\xfe bad", text=True)
            ws.send("after")  # never trusted once the connection failed
            ws.recv()
        except ConnectionClosed:
            pass
        finally:
            server_saw.append(ws.close_code)
            handler_done.set()

    ws, next_text = dial(ws_server(handler))
    with ws:
        assert next_text(TIMEOUT) == "fine"
        with pytest.raises(ConnectionClosed):
            next_text(TIMEOUT)
    assert ws.protocol.close_sent is not None
    assert ws.protocol.close_sent.code == CloseCode.INVALID_DATA
    assert handler_done.wait(TIMEOUT)
    assert server_saw == [CloseCode.INVALID_DATA]


@pytest.mark.skipif(not FAST_PATH_SUPPORTED, reason="this websockets lacks what it needs")
def test_flow_control_pauses_the_reader_and_close_releases_it(
    ws_server: Callable[[Handler], str],
) -> None:
    def handler(ws: ServerConnection) -> None:
        for message in ws:  # echo, until the client closes
            ws.send(message)

    ws = _direct(ws_server(handler))
    with ws:
        # This thread plays websockets' reader thread, handing frames over.
        for i in range(HIGH_WATER):
            ws.process_event(Frame(Opcode.TEXT, f"m{i}".encode()))
        assert ws.recv_flow_control.locked()  # the reader stops before its next read
        for i in range(HIGH_WATER - LOW_WATER):
            assert ws.next_text(0) == f"m{i}"
        assert not ws.recv_flow_control.locked()
        ws.send("echo")  # reading goes on: the echo arrives after the queued messages
        rest = [ws.next_text(TIMEOUT) for _ in range(LOW_WATER + 1)]
        assert rest[-1] == "echo"
        for _ in range(HIGH_WATER):
            ws.process_event(Frame(Opcode.TEXT, b"x"))
        assert ws.recv_flow_control.locked()
        started = time.monotonic()
    # Leaving the block closed it, with the reader stopped by flow control: the close
    # frees it at once (not after the close timeout), and the reader thread ends.
    assert time.monotonic() - started < CLOSE_TIMEOUT / 2
    ws.recv_events_thread.join(TIMEOUT)
    assert not ws.recv_events_thread.is_alive()
    assert not ws.recv_flow_control.locked()
    assert ws.protocol.close_rcvd is not None  # a clean closing handshake


def test_abort_ends_the_connection_at_once(ws_server: Callable[[Handler], str], dial: Dial) -> None:
    """``WebsocketsTransport.abort`` (a dead peer) ends the connection without waiting for
    the peer, by shutting the public ``socket`` down (which takes no lock of websockets')."""
    handler_done = threading.Event()

    def handler(ws: ServerConnection) -> None:
        ws.send("hello")
        handler_done.wait(3 * TIMEOUT)  # a peer that says nothing more (till the end)

    ws, _ = dial(ws_server(handler))
    with ws:
        transport = WebsocketsTransport(ws, FrameMeter(StatsRecorder(0.0)), Framing(False))
        try:
            assert transport.recv(TIMEOUT) == ("hello",)
            transport.abort("dead peer")
            with pytest.raises(TransportClosed):
                transport.recv(TIMEOUT)  # at once; the peer would never close
            ws.recv_events_thread.join(TIMEOUT)
            assert not ws.recv_events_thread.is_alive()
        finally:
            handler_done.set()


def test_client_reads_fragmented_ddp_messages(
    ws_server: Callable[[Handler], str], receive_path: str
) -> None:
    def handler(ws: ServerConnection) -> None:
        for message in ws:
            assert isinstance(message, str)
            if '"connect"' in message:
                ws.send(['{"msg":"conn', 'ected","session":"s1"}'])
            elif '"method"' in message:
                method_id = ddp.ejson.loads(message)["id"]
                ws.send(b"\x00binary")  # dropped
                ws.send(['{"msg":"result","id":"', method_id, '","result":42}'])
                ws.send(f'{{"msg":"updated","methods":["{method_id}"]}}')

    url = ws_server(handler)
    with ddp.Client(url, heartbeat_interval=0, reconnect=False) as client:
        assert client.session == "s1"
        assert client.call("answer", timeout=TIMEOUT) == 42
