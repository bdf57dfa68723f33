"""The transport interface: what a client driver needs from a websocket, and nothing more.

A transport carries DDP message texts over one connection. It dials (:class:`DialSpec` holds
everything a dial needs), sends a batch of texts in order, hands every received text to the
driver, and closes gracefully or aborts. It holds no DDP logic. Two shapes, one per driver,
that mirror each other:

* :class:`AsyncTransport` (asyncio): received texts are *pushed* to a :data:`Deliver`
  callback as soon as they are read, and :meth:`AsyncTransport.send` never blocks (the
  transport writes at once when it can and queues otherwise, in order);
* :class:`SyncTransport` (threads): received texts are *pulled* with
  :meth:`SyncTransport.recv` by the driver's I/O thread, and :meth:`SyncTransport.send`
  blocks until written; :meth:`SyncTransport.abort` may be called from any thread and must
  wake a thread blocked in ``send``.

What every transport shares lives here, so that it is done once: the framing of texts into
websocket messages (:class:`Framing`: raw DDP, or SockJS through :mod:`ddp.framing`'s
Sans-I/O codec), and the counting and tracing of frames (:class:`FrameMeter`: bytes and frames
into the client's :class:`~ddp.stats.StatsRecorder`, frame tracing on ``ddp.client.frames``
at DEBUG with secrets redacted by :func:`ddp._redact.redact`).

A transport is chosen with a dial function (:data:`AsyncDial`, :data:`SyncDial`); the
websockets-based ones are the default (:mod:`ddp.asyncio._transport`,
:mod:`ddp.sync._transport`). A test can pass a fake that implements the protocol below.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from ssl import SSLContext
from typing import Literal, Protocol, TypeAlias

from ddp._redact import redact
from ddp.exceptions import ProtocolError
from ddp.framing import SockJSFrameKind, sockjs_client_encode, sockjs_decode
from ddp.stats import StatsRecorder, text_size

__all__ = [
    "CLOSE_TIMEOUT",
    "AsyncDial",
    "AsyncTransport",
    "CloseFrame",
    "Deliver",
    "DialSpec",
    "FrameMeter",
    "Framing",
    "SyncDial",
    "SyncTransport",
    "TransportClosed",
    "describe_close",
    "frames_logger",
]

frames_logger = logging.getLogger("ddp.client.frames")
"""Where frames are traced (``<`` received, ``>`` sent) when it is enabled for DEBUG."""

CLOSE_TIMEOUT = 2.0
"""Seconds a graceful close waits for the server's closing handshake."""

TRACE_LIMIT = 2000
"""Characters of a frame shown in a trace line."""

_EMPTY: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DialSpec:
    """Everything a transport needs to open one connection.

    Attributes:
        url: The websocket URL to open now (for SockJS, already a fresh
            ``.../sockjs/<server>/<session>/websocket``).
        ssl: The TLS context for ``wss://`` (``None``: verified with the system CAs).
        origin: The ``Origin`` header, if any.
        headers: Extra handshake headers, in order.
        compression: Offer permessage-deflate.
        proxy: ``True``: the proxy from the environment; ``None``: none; a string: that
            proxy's URL.
        open_timeout: Seconds allowed for the TCP, TLS and websocket handshakes together.
        max_size: Largest message accepted, in bytes (``None``: no limit).
        sockjs: Whether texts travel in SockJS frames (see :class:`Framing`).
        close_timeout: Seconds a graceful close waits for the server's handshake.
    """

    url: str
    ssl: SSLContext | None
    origin: str | None
    headers: tuple[tuple[str, str], ...]
    compression: bool
    proxy: str | Literal[True] | None
    open_timeout: float
    max_size: int | None
    sockjs: bool = False
    close_timeout: float = CLOSE_TIMEOUT


def describe_close(rcvd: CloseFrame | None, sent: CloseFrame | None) -> str:
    """Say in words how a websocket connection ended, for logs and ``ConnectionLost``.

    The server's close frame comes first; without one, a close frame we sent (1009 for a
    message over ``max_size``, 1007 for invalid UTF-8) says why; with neither, the connection
    was simply lost.
    """
    if rcvd is not None:
        return f"closed by the server ({_code_and_reason(rcvd)})"
    if sent is not None:
        return f"closed by the client ({_code_and_reason(sent)})"
    return "connection lost"


class CloseFrame(Protocol):
    """A websocket close frame as a transport library reports it."""

    @property
    def code(self) -> int:
        """The close code (1009: message too big, ...)."""
        ...

    @property
    def reason(self) -> str:
        """The close reason, maybe empty."""
        ...


_CLOSE_NAMES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1006: "abnormal closure",
    1007: "invalid data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
}


def _code_and_reason(close: CloseFrame) -> str:
    words = close.reason or _CLOSE_NAMES.get(close.code, "")
    return f"{close.code} {words}" if words else str(close.code)


class TransportClosed(Exception):
    """The connection is closed; :attr:`reason` says how (for logs and ``ConnectionLost``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: Why the connection ended, in words.
        self.reason = reason


class Framing:
    """How DDP texts map to websocket messages: one each (raw), or SockJS arrays.

    Sans-I/O: it only turns texts into frames and frames into texts.

    Args:
        sockjs: Use SockJS framing (``a[...]`` arrays, ``o``/``h``/``c[...]`` frames).
    """

    __slots__ = ("sockjs",)

    def __init__(self, sockjs: bool) -> None:
        self.sockjs = sockjs

    def encode(self, texts: Sequence[str]) -> list[str]:
        """Return the websocket messages that carry ``texts``, in order."""
        if not texts:
            return []
        if self.sockjs:
            return [sockjs_client_encode(list(texts))]
        return list(texts)

    def decode(self, frame: str) -> Sequence[str]:
        """Return the DDP texts one received websocket message carries (maybe none).

        Raises:
            TransportClosed: A SockJS close frame, or a SockJS frame that cannot be trusted
                (the connection must end).
        """
        if not self.sockjs:
            return (frame,)
        try:
            decoded = sockjs_decode(frame)
        except ProtocolError as exc:
            raise TransportClosed(f"bad SockJS frame: {exc}") from None
        if decoded.kind is SockJSFrameKind.CLOSE:
            raise TransportClosed(f"SockJS close {decoded.close_code} {decoded.close_reason}")
        return decoded.messages or _EMPTY


class FrameMeter:
    """Counts a connection's frames and bytes, and traces them: the one place that does.

    Every transport calls :meth:`read` for each websocket message received and
    :meth:`wrote` for the messages it wrote (after framing), so both drivers and every
    transport report the same figures. Tracing is decided once, when the meter is made (one
    per connection), so it costs nothing when DEBUG is off.

    Args:
        stats: The client's counters.
    """

    __slots__ = ("stats", "trace")

    def __init__(self, stats: StatsRecorder) -> None:
        self.stats = stats
        #: Whether frames are traced (``ddp.client.frames`` enabled for DEBUG).
        self.trace = frames_logger.isEnabledFor(logging.DEBUG)

    def read(self, frame: str) -> None:
        """Count (and trace) one received websocket text message."""
        stats = self.stats
        stats.read_bytes += len(frame) if frame.isascii() else text_size(frame)
        stats.read_frames += 1
        if self.trace:
            self.trace_read(frame)

    def trace_read(self, frame: str) -> None:
        """Log one received frame at DEBUG, secrets redacted (a transport that counts
        inline on its hot path calls this when :attr:`trace` is set)."""
        frames_logger.debug("< %s", redact(frame[:TRACE_LIMIT]))

    def wrote(self, frames: Sequence[str]) -> None:
        """Count (and trace) websocket text messages just written."""
        stats = self.stats
        stats.write_frames += len(frames)
        for frame in frames:
            stats.write_bytes += len(frame) if frame.isascii() else text_size(frame)
        if self.trace:
            for frame in frames:
                frames_logger.debug("> %s", redact(frame[:TRACE_LIMIT]))

    def read_failed(self) -> None:
        """Count a failed read: a connection lost with an error, a failed dial, a bad frame."""
        self.stats.read_errors += 1

    def write_failed(self) -> None:
        """Count a write that could not be made (the connection was closed under it)."""
        self.stats.write_errors += 1


Deliver: TypeAlias = Callable[[str], bool | None]
"""Takes one received DDP text; returns True when handling it woke a task that should run
before the rest of the bytes already read are delivered (an asyncio transport then delivers
the rest from a ``call_soon`` callback; the order of texts never changes)."""


class AsyncTransport(Protocol):
    """One open connection for the asyncio driver (see the module docstring).

    Every method is called on the event loop that dialed it.
    """

    def deliver_to(self, deliver: Deliver) -> None:
        """Pass every received DDP text (de-framed, counted) to ``deliver``, in order.

        Texts received before this call are kept and delivered first. ``deliver`` must not
        raise and should not block.
        """
        ...

    def send(self, texts: Sequence[str]) -> None:
        """Queue ``texts`` for writing, in order, after everything sent before; never blocks.

        The transport writes at once when it can and coalesces what is sent in one loop
        iteration. On a closed connection the texts are dropped (the core re-sends what
        matters after a reconnect) and a write error is counted.
        """
        ...

    async def wait_closed(self) -> str:
        """Wait until the connection has ended and every received text was delivered.

        Returns:
            Why it ended, in words (the reason given to :meth:`abort`, the server's close
            code and reason, a SockJS close frame, "connection lost").
        """
        ...

    async def close(self) -> None:
        """Write what is queued, then close with the websocket handshake.

        Bounded by :attr:`DialSpec.close_timeout`; aborts past it. Never raises.
        """
        ...

    def abort(self, reason: str) -> None:
        """Drop the connection now, without a handshake; :meth:`wait_closed` returns
        ``reason`` (the first reason given, if called twice). Never raises."""
        ...


AsyncDial: TypeAlias = Callable[[DialSpec, FrameMeter], Awaitable[AsyncTransport]]
"""Opens an :class:`AsyncTransport`; raises (``OSError``, ``TimeoutError``, a handshake
error...) when the dial fails."""


class SyncTransport(Protocol):
    """One open connection for the blocking driver (see the module docstring).

    :meth:`recv` is called by one thread (the driver's I/O thread); :meth:`send` by any
    thread, one at a time; :meth:`abort` and :meth:`close` by any thread at any time.
    """

    def recv(self, timeout: float | None) -> Sequence[str]:
        """Return the DDP texts of the next received message (de-framed, counted).

        An empty sequence is a message that carries none (a SockJS heartbeat).

        Raises:
            TimeoutError: Nothing arrived within ``timeout`` seconds (``0``: nothing is
                queued now).
            TransportClosed: The connection has ended.
        """
        ...

    def send(self, texts: Sequence[str]) -> None:
        """Write ``texts`` in order; block until they are handed to the socket.

        Raises:
            TransportClosed: The connection has ended, or was aborted while this waited;
                what was not written is lost (the core re-sends or fails it after the
                reconnect). A write error is counted.
        """
        ...

    def close(self) -> None:
        """Close with the websocket handshake (bounded by :attr:`DialSpec.close_timeout`)."""
        ...

    def abort(self, reason: str) -> None:
        """Drop the connection now; wakes a thread blocked in :meth:`send` or :meth:`recv`
        (which then raise :class:`TransportClosed` with ``reason``). Never blocks on a lock
        a blocked sender holds. Never raises."""
        ...


SyncDial: TypeAlias = Callable[[DialSpec, FrameMeter], SyncTransport]
"""Opens a :class:`SyncTransport`; raises (``OSError``, ``TimeoutError``, a handshake
error...) when the dial fails."""
