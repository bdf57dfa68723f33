"""The blocking transport: one websocket from ``websockets.sync``, raw DDP or SockJS framing.

A :class:`Transport` turns websocket frames into DDP message texts and back, and counts them
in the client's :class:`~ddp.stats.StatsRecorder`. It holds no DDP logic. ``websockets.sync``
reads the socket on its own background thread; :meth:`Transport.recv` takes what that thread
has queued (through :class:`~ddp.sync._connection.DirectConnection`, a lighter hand-over than
websockets' own, where the installed websockets allows it; else websockets' ``recv``), so
``recv(0)`` is cheap and tells "nothing queued right now" apart from "closed".
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from ssl import SSLContext
from typing import Literal

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from ddp._client_common import ClientOptions
from ddp.exceptions import ProtocolError
from ddp.framing import SockJSFrameKind, sockjs_client_encode, sockjs_decode
from ddp.stats import StatsRecorder, text_size
from ddp.sync._connection import connection_options, text_reader

__all__ = ["CLOSE_TIMEOUT", "Transport", "TransportClosed", "dial"]

logger = logging.getLogger("ddp.client")

CLOSE_TIMEOUT = 2.0
"""Seconds a deliberate close waits for the server's closing handshake."""

_EMPTY: tuple[str, ...] = ()

HAS_CLOSE_SOCKET: bool = hasattr(ClientConnection, "close_socket")
"""Whether :meth:`Transport.abort` can use websockets' ``close_socket`` (not public; in every
release from 15.0 to 17.4), which also frees a reader thread paused by flow control. Without
it, ``abort`` shuts the public ``socket`` down: that wakes a reader waiting for bytes, which
then ends the connection."""


class TransportClosed(Exception):
    """The websocket closed; ``reason`` says how (for logs and ``ConnectionLost``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def dial(options: ClientOptions, url: str) -> Transport:
    """Open a websocket to ``url`` with the client's options and return a :class:`Transport`.

    Raises:
        OSError, websockets.exceptions.InvalidHandshake, TimeoutError: Dialing failed.
    """
    ssl_context = options.ssl if isinstance(options.ssl, SSLContext) else None
    proxy: str | Literal[True] | None = None if options.proxy is False else options.proxy
    ws = connect(
        url,
        ssl=ssl_context,
        origin=None if options.origin is None else Origin(options.origin),
        additional_headers=list(options.headers) or None,
        compression="deflate" if options.compression else None,
        proxy=proxy,
        open_timeout=options.connect_timeout,
        # DDP has its own heartbeats; websockets' pings would only double them.
        ping_interval=None,
        close_timeout=CLOSE_TIMEOUT,
        max_size=options.max_size,
        **connection_options(),
    )
    # What ``with connect(...) as ws`` does: websockets >= 17.1 warns about a connection
    # used outside a ``with`` block otherwise; we close it ourselves.
    ws = ws.__enter__()
    return Transport(ws, sockjs=options.url.sockjs)


class Transport:
    """One open websocket carrying DDP messages.

    Args:
        ws: The open connection.
        sockjs: Whether frames use SockJS framing.
    """

    __slots__ = ("_next_text", "_sockjs", "_ws", "stats", "trace")

    def __init__(self, ws: ClientConnection, *, sockjs: bool) -> None:
        self._ws = ws
        self._next_text = text_reader(ws)
        self._sockjs = sockjs
        self.stats: StatsRecorder | None = None
        #: Log every frame at DEBUG (decided once per connection: free when off).
        self.trace = False

    def recv(self, timeout: float | None) -> Sequence[str]:
        """Return the DDP messages of the next frame, waiting up to ``timeout`` seconds.

        An empty sequence means a frame without messages (a SockJS open/heartbeat frame;
        binary frames, which Meteor's client ignores too, never get here).

        Raises:
            TimeoutError: No frame arrived in time (``timeout=0``: none is queued now).
            TransportClosed: The connection is closed.
        """
        try:
            frame = self._next_text(timeout)
        except ConnectionClosed as exc:
            raise TransportClosed(_describe(exc)) from None
        stats = self.stats
        if stats is not None:
            stats.read_bytes += text_size(frame)
            stats.read_frames += 1
        if not self._sockjs:
            return (frame,)
        return self._sockjs_messages(frame)

    def _sockjs_messages(self, frame: str) -> Sequence[str]:
        try:
            decoded = sockjs_decode(frame)
        except ProtocolError as exc:
            raise TransportClosed(f"bad SockJS frame: {exc}") from None
        if decoded.kind is SockJSFrameKind.CLOSE:
            raise TransportClosed(f"SockJS close {decoded.close_code} {decoded.close_reason}")
        return decoded.messages or _EMPTY

    def send(self, texts: Sequence[str]) -> None:
        """Write DDP message texts in order (SockJS: all of them in one frame).

        Raises:
            TransportClosed: The connection is closed; what was not written is lost (the
                protocol core re-sends or fails it after the reconnect).
        """
        stats = self.stats
        if self.trace:
            for text in texts:
                logger.debug("> %.2000s", text)
        try:
            if self._sockjs:
                frame = sockjs_client_encode(list(texts))
                self._ws.send(frame)
                if stats is not None:
                    stats.write_bytes += text_size(frame)
                    stats.write_frames += 1
                return
            send = self._ws.send
            for text in texts:
                send(text)
                if stats is not None:
                    stats.write_bytes += text_size(text)
                    stats.write_frames += 1
        except ConnectionClosed as exc:
            if stats is not None:
                stats.write_errors += 1
            raise TransportClosed(_describe(exc)) from None

    def close(self) -> None:
        """Close with the websocket handshake (bounded by :data:`CLOSE_TIMEOUT`)."""
        try:
            self._ws.close()
        except Exception:
            logger.debug("closing the websocket failed", exc_info=True)
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once, without a handshake (the peer is presumed dead)."""
        try:
            if HAS_CLOSE_SOCKET:
                self._ws.close_socket()
            else:
                self._ws.socket.shutdown(socket.SHUT_RDWR)
        except Exception:
            logger.debug("aborting the websocket failed", exc_info=True)


def _describe(exc: ConnectionClosed) -> str:
    rcvd = exc.rcvd
    if rcvd is None:
        return "connection lost"
    return f"closed by the server ({rcvd.code}{' ' + rcvd.reason if rcvd.reason else ''})"
