"""The picows transport: the asyncio driver's websocket in C (an :class:`AsyncTransport`).

picows parses websocket frames in Cython and hands each one to a listener callback, straight
from the read buffer: a frame costs a fraction of a microsecond, against several for a
pure-Python parser. For a DDP client, whose every document is a frame, that is most of the
transport's share of ingest. This module adapts it to :mod:`ddp._transport`'s interface:

* **receiving**: each complete text message (fragments joined) is UTF-8 decoded, counted by
  the :class:`~ddp._transport.FrameMeter`, de-framed (:class:`~ddp._transport.Framing`) and
  pushed to the driver's :data:`~ddp._transport.Deliver` from picows' callback. When the
  driver says a text woke a task, the texts behind it in the same read are held back and
  delivered from a ``call_soon`` callback, so the woken task runs first (picows tells whether
  a frame is the last one of the read: then there is nothing to hold back). Binary messages
  are dropped, as Meteor's client drops them; invalid UTF-8 closes with 1007 and a message
  larger than ``max_size`` (one frame, or fragments joined) with 1009. Pings are answered
  by picows.
* **sending**: picows writes each message at once (a ``send`` system call when the socket's
  buffer is empty, else queued by the event loop's transport, which never blocks). The sends
  that follow the first one in the same loop iteration (a read that woke 500 callers) are
  corked (Linux's ``TCP_CORK``) and leave in one go at the end of the iteration: one packet
  and one wake-up of the server instead of 500.
* **closing**: the client sends its close frame and waits (at most ``close_timeout``) for the
  server's; a close the server starts is answered with the same code.
* **dialing**: TLS (the given context, else a verified default one), ``Origin`` and extra
  headers, HTTP ``CONNECT`` and SOCKS proxies (given, or from the environment exactly as
  the websockets transport finds them), all bounded by ``open_timeout``.

What picows does not do: permessage-deflate. It is offered only on the websockets transport
(:mod:`ddp.asyncio._dial` chooses websockets when ``compression=True`` is asked for). On the
small JSON frames of DDP, deflate saves bytes on the wire at a CPU cost per frame at both
ends; on a LAN or loopback it is slower, not faster; on a slow link with large documents it
may pay.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any, Final, NoReturn

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSProtocolError, WSTransport
from picows import ws_connect as _ws_connect
from websockets.uri import parse_uri

try:
    from websockets.proxy import get_proxy
except ImportError:  # websockets 15.0 kept it in websockets.uri
    from websockets.uri import get_proxy  # type: ignore[attr-defined,no-redef]

from ddp._transport import Deliver, DialSpec, FrameMeter, Framing, TransportClosed
from ddp.stats import text_size

__all__ = ["PicowsTransport", "dial"]

logger = logging.getLogger("ddp.client")

_TEXT: Final = WSMsgType.TEXT
_CONT: Final = WSMsgType.CONTINUATION
_CLOSE: Final = WSMsgType.CLOSE
_BINARY: Final = WSMsgType.BINARY

WAKE_BATCH: Final = 64
"""Most held-back texts that wake a task delivered in one loop iteration. The tasks woken
by one batch run before the next one is delivered: waking 500 callers at once makes the
``asyncio.Semaphore`` many of them release scan every waiter woken before (its waiters
leave its queue only when they run), 500 x 500 steps; batches of 64 cut that to a few
percent, at the price of a loop iteration per batch."""

_NO_LIMIT: Final = 2**62
"""picows' frame size limit when the client sets none (``max_size=None``)."""


def proxy_for(spec: DialSpec) -> str | None:
    """Return the proxy URL a dial of ``spec`` goes through, if any.

    ``proxy=True`` reads the environment (``wss_proxy``, ``https_proxy``... and
    ``no_proxy``) with websockets' own rules, so that both transports take the same route.
    """
    if spec.proxy is None or isinstance(spec.proxy, str):
        return spec.proxy
    return get_proxy(parse_uri(spec.url))


async def dial(spec: DialSpec, meter: FrameMeter) -> PicowsTransport:
    """Open a picows connection as ``spec`` says and return it as a transport.

    Raises:
        OSError, TimeoutError, picows.WSError, python_socks.ProxyError: The dial failed.
    """
    loop = asyncio.get_running_loop()
    framing = Framing(spec.sockjs)
    headers = list(spec.headers)
    if spec.origin is not None:
        headers.append(("Origin", spec.origin))
    limit = spec.max_size if spec.max_size is not None else _NO_LIMIT
    sockets: list[socket.socket] = []

    async def open_socket(parsed: Any) -> socket.socket:
        # Our own socket (to the server or the proxy), so that a dial given up midway
        # (timeout, cancellation) can be cut short: picows keeps no handle we could close.
        error: OSError | None = None
        for family, kind, proto, _, address in await loop.getaddrinfo(
            parsed.host, parsed.port, type=socket.SOCK_STREAM
        ):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
            except OSError as exc:
                sock.close()
                error = exc
            except BaseException:
                sock.close()
                raise
            else:
                return sock
        raise error or OSError(f"cannot resolve {parsed.host!r}")

    try:
        async with asyncio.timeout(spec.open_timeout):
            ws, listener = await _ws_connect(
                lambda: PicowsTransport(meter, framing, limit, spec.close_timeout),
                spec.url,
                ssl_context=spec.ssl,
                websocket_handshake_timeout=spec.open_timeout,
                # DDP has its own heartbeats; picows still answers the server's pings.
                enable_auto_ping=False,
                max_frame_size=limit,
                extra_headers=headers,
                proxy=proxy_for(spec),
                socket_factory=open_socket,
            )
    except BaseException:
        for sock in sockets:
            if sock.fileno() != -1:
                # Owned by an event-loop transport now: shutting it down makes that
                # transport see the end and close (and so free) it.
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        raise
    assert isinstance(listener, PicowsTransport)
    listener.opened(ws)
    return listener


class PicowsTransport(WSListener):
    """An :class:`ddp._transport.AsyncTransport` on a picows connection.

    It is the connection's picows listener too (picows calls :meth:`on_ws_frame` and
    :meth:`on_ws_disconnected`); texts that arrive before :meth:`deliver_to` are kept.

    Args:
        meter: Counts and traces the frames.
        framing: Raw DDP or SockJS.
        max_size: Largest message accepted, in bytes.
        close_timeout: Seconds a graceful close waits for the server's close frame.
    """

    def __init__(
        self, meter: FrameMeter, framing: Framing, max_size: int, close_timeout: float
    ) -> None:
        super().__init__()
        self._meter = meter
        self._framing = framing
        self._max_size = max_size
        self._close_timeout = close_timeout
        self._loop = asyncio.get_running_loop()
        self._ws: WSTransport | None = None
        self._deliver: Deliver | None = None
        self._early: list[str] = []
        # Texts read but held back so that a woken task runs first; None when none are.
        self._deferred: list[str] | None = None
        self._deferred_at = 0  # the first of them not yet delivered
        self._partial: bytearray | None = None  # a fragmented text message, so far
        self._in_binary = False  # the rest of a fragmented binary message is to be skipped
        self._done = False  # failed, or closing: no more received text is delivered
        self._reason: str | None = None  # why we ended it (abort, SockJS close, bad frame)
        self._ended: asyncio.Future[None] = self._loop.create_future()
        # A frame went out since the last read (or the last _tick): the next send in the same
        # loop iteration corks the socket until the iteration ends.
        self._sent = False
        self._corked = False
        self._cork: Callable[[bool], None] | None = None
        self._stats = meter.stats
        # ``deliver`` while nothing stands in the way of handing a whole text frame straight
        # to it, or to the texts held back (no SockJS, no tracing, no fragment in progress,
        # not ended): the per-frame fast path. None otherwise.
        self._direct: Deliver | None = None

    def _refresh(self) -> None:
        """Recompute :attr:`_direct` after a change of state."""
        fast = not (
            self._framing.sockjs or self._meter.trace or self._partial is not None or self._done
        )
        self._direct = self._deliver if fast else None

    def opened(self, ws: WSTransport) -> None:
        """Attach the picows transport once the handshake is done (the dial calls this)."""
        self._ws = ws
        self._cork = _corker(ws)

    # -- picows callbacks ----------------------------------------------------------------
    def on_ws_connected(self, transport: WSTransport) -> None:
        """picows: the handshake is done."""
        self._ws = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """picows: one frame arrived (called from the read, frame by frame)."""
        self._sent = False  # the sends this read causes: the first one goes out at once
        direct = self._direct
        if direct is not None and frame.msg_type is _TEXT and frame.fin:
            # The fast path: a whole text message, straight to the driver (or held back).
            size = frame.payload_size
            if size <= self._max_size:
                try:
                    text = frame.get_payload_as_utf8_text()
                except UnicodeDecodeError as exc:
                    self._fail(WSCloseCode.INVALID_TEXT, _utf8_error(exc))
                stats = self._stats
                stats.read_bytes += size
                stats.read_frames += 1
                deferred = self._deferred
                if deferred is not None:
                    deferred.append(text)
                elif direct(text) and not frame.last_in_buffer:
                    self._hold_back()
                return
        self._on_frame(transport, frame)

    def _on_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        """Any frame, the general way (the fast path's exceptions)."""
        kind = frame.msg_type
        if kind is _CLOSE:
            self._on_close(transport)
            return
        if self._done:
            return
        if frame.payload_size > self._max_size:
            # picows checks this too, but it reads a frame ahead of the one it delivers and
            # may still hand over the oversized frame after failing the connection for it.
            self._fail(WSCloseCode.MESSAGE_TOO_BIG, f"message over {self._max_size} bytes")
        if kind is _TEXT and frame.fin and self._partial is None:
            try:
                text = frame.get_payload_as_utf8_text()
            except UnicodeDecodeError as exc:
                self._fail(WSCloseCode.INVALID_TEXT, _utf8_error(exc))
            stats = self._meter.stats
            stats.read_bytes += frame.payload_size
            stats.read_frames += 1
            self._received(text, frame.last_in_buffer)
        else:
            self._fragment(kind, frame)

    def _fragment(self, kind: WSMsgType, frame: WSFrame) -> None:
        """A frame that is not a whole text message: join fragments, drop binary ones."""
        if kind is _TEXT or kind is _BINARY:
            # A new message while one is in progress would be the server's error: the new
            # one wins.
            self._partial = bytearray(frame.get_payload_as_memoryview()) if kind is _TEXT else None
            self._in_binary = kind is _BINARY and not frame.fin
            self._refresh()
            if kind is _TEXT and frame.fin:  # whole, yet a message was in progress
                self._complete(frame)
            return
        if kind is not _CONT:
            return  # a pong
        if self._in_binary:
            self._in_binary = not frame.fin  # the rest of a binary message: dropped
            return
        partial = self._partial
        if partial is None:
            return  # nothing in progress: ignored, as Meteor's client would
        if len(partial) + frame.payload_size > self._max_size:
            self._fail(WSCloseCode.MESSAGE_TOO_BIG, f"message over {self._max_size} bytes")
        partial += frame.get_payload_as_memoryview()
        if frame.fin:
            self._complete(frame)

    def _complete(self, frame: WSFrame) -> None:
        partial = self._partial
        assert partial is not None
        self._partial = None
        self._refresh()
        try:
            text = partial.decode()
        except UnicodeDecodeError as exc:
            self._fail(WSCloseCode.INVALID_TEXT, _utf8_error(exc))
        stats = self._meter.stats
        stats.read_bytes += len(partial)
        stats.read_frames += 1
        self._received(text, frame.last_in_buffer)

    def _fail(self, code: WSCloseCode, reason: str) -> NoReturn:
        """Fail the connection: picows sends the close frame and disconnects."""
        self._done = True
        self._direct = None
        self._meter.read_failed()
        if self._reason is None:
            self._reason = f"{reason} (closed with {code.value})"
        raise WSProtocolError(code, reason)

    def _on_close(self, transport: WSTransport) -> None:
        if not transport.is_close_frame_sent:
            # The server started the close: answer with its code (RFC 6455, 5.5.1).
            handshake = transport.close_handshake
            code = handshake.recv.code if handshake and handshake.recv else WSCloseCode.OK
            transport.send_close(code if code != WSCloseCode.NO_INFO else WSCloseCode.OK)
        transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        """picows: the connection is gone."""
        if not self._ended.done():
            self._ended.set_result(None)

    def pause_writing(self) -> None:
        """picows: the socket's buffer is full. Sends keep queueing (they never block); DDP
        traffic the server does not read soon ends with the heartbeat's timeout."""

    def resume_writing(self) -> None:
        """picows: the socket's buffer drained."""

    # -- receiving ----------------------------------------------------------------------
    def _received(self, frame: str, last: bool) -> None:
        """One whole text message: trace it, de-frame it, hand its texts on."""
        meter = self._meter
        if meter.trace:
            meter.trace_read(frame)
        if not self._framing.sockjs:
            self._push(frame, last)
            return
        try:
            texts = self._framing.decode(frame)
        except TransportClosed as exc:
            self._done = True
            self._direct = None
            self.abort(exc.reason)
            return
        end = len(texts) - 1
        for i, text in enumerate(texts):
            self._push(text, last and i == end)

    def _push(self, text: str, last: bool) -> None:
        deferred = self._deferred
        if deferred is not None:
            deferred.append(text)
            return
        deliver = self._deliver
        if deliver is None:
            self._early.append(text)
        elif deliver(text) and not last:
            self._hold_back()

    def _hold_back(self) -> None:
        # Let the woken task run before the rest of this read (see the module docstring).
        self._deferred = []
        self._loop.call_soon(self._deliver_deferred)

    def _deliver_deferred(self) -> None:
        """Deliver the texts held back, at most :data:`WAKE_BATCH` of those that wake a
        task per loop iteration: the tasks woken run before the next batch."""
        deferred = self._deferred
        if deferred is None:
            return
        deliver = self._deliver
        assert deliver is not None  # only deferred after a delivery
        woke = 0
        start = self._deferred_at
        for i in range(start, len(deferred)):
            if deliver(deferred[i]):
                woke += 1
                if woke == WAKE_BATCH and i + 1 < len(deferred):
                    self._deferred_at = i + 1
                    self._loop.call_soon(self._deliver_deferred)
                    return
        self._deferred = None
        self._deferred_at = 0

    def _deliver_all_deferred(self) -> None:
        while self._deferred is not None:
            self._deliver_deferred()

    def deliver_to(self, deliver: Deliver) -> None:
        """Pass every received text to ``deliver``, those kept so far first (see the
        interface)."""
        self._deliver = deliver
        early, self._early = self._early, []
        for text in early:
            deliver(text)
        self._refresh()

    async def wait_closed(self) -> str:
        """Wait for the end of the connection; return why it ended."""
        await asyncio.shield(self._ended)
        self._deliver_all_deferred()
        ws = self._ws
        error: BaseException | None = None
        if ws is not None:
            try:
                await ws.wait_disconnected()
            except Exception as exc:  # picows failed the connection (a bad frame)
                error = exc
        if self._reason is not None:
            return self._reason
        if isinstance(error, WSProtocolError):  # picows' own check (a frame over max_size)
            self._meter.read_failed()
            return f"{error.args[-1]} (closed with {int(error.args[0])})"
        handshake = ws.close_handshake if ws is not None else None
        if handshake is not None and handshake.recv is not None:
            recv = handshake.recv
            said = f" {recv.reason}" if recv.reason else ""
            return f"closed by the server ({recv.code.value}{said})"
        self._meter.read_failed()
        return "connection lost"

    # -- sending ------------------------------------------------------------------------
    def send(self, texts: Sequence[str]) -> None:
        """Write ``texts`` now, in order (the event loop queues what the socket cannot take).

        The first send after a read goes out at once; the sends after it in the same loop
        iteration (a read that woke 500 callers) are corked and leave together at its end.
        """
        frames = self._framing.encode(texts) if self._framing.sockjs else texts
        if not frames:
            return
        ws = self._ws
        if ws is None or self._reason is not None or ws.is_close_frame_sent or ws.is_disconnected:
            self._meter.write_failed()  # ended, or ending (aborted, failed): dropped
            return
        if not self._sent:
            # No callback for the common case (one send per read: a round trip).
            self._sent = True
        elif not self._corked and self._cork is not None:
            self._cork(True)
            self._corked = True
            self._loop.call_soon(self._tick)
        send = ws.send
        meter = self._meter
        if meter.trace:
            for frame in frames:
                send(_TEXT, frame)
            meter.wrote(frames)
            return
        stats = self._stats
        for frame in frames:
            send(_TEXT, frame)
            stats.write_bytes += len(frame) if frame.isascii() else text_size(frame)
        stats.write_frames += len(frames)

    def _tick(self) -> None:
        # The end of a loop iteration that corked: what was held since then leaves together.
        self._sent = False
        if self._corked:
            self._corked = False
            assert self._cork is not None
            self._cork(False)

    # -- ending -------------------------------------------------------------------------
    async def close(self) -> None:
        """Send the close frame, wait for the server's (bounded), then disconnect."""
        ws = self._ws
        if ws is None or self._ended.done():
            return
        self._done = True  # the client is done with this connection: its data is dropped
        self._direct = None
        try:
            if not ws.is_close_frame_sent and not ws.is_disconnected:
                ws.send_close(WSCloseCode.OK)
            async with asyncio.timeout(self._close_timeout):
                await asyncio.shield(self._ended)
        except Exception:  # the close timed out, or the peer is gone: closing must still end
            logger.debug("closing the websocket failed", exc_info=True)
            self.abort("closed")

    def abort(self, reason: str) -> None:
        """Drop the connection now (the first reason given is kept)."""
        if self._reason is None:
            self._reason = reason
        ws = self._ws
        if ws is not None and not ws.is_disconnected:
            ws.disconnect(graceful=False)


def _corker(ws: WSTransport) -> Callable[[bool], None] | None:
    """Return a function that corks and uncorks the connection's socket (Linux's
    ``TCP_CORK``: writes are held until uncorked), or None where there is none."""
    cork = getattr(socket, "TCP_CORK", None)
    sock = ws.underlying_transport.get_extra_info("socket")
    if cork is None or sock is None:
        return None
    setsockopt = sock.setsockopt

    def set_cork(on: bool) -> None:
        try:
            setsockopt(socket.IPPROTO_TCP, cork, on)
        except OSError:
            pass  # the socket is closing: nothing to hold or release

    return set_cork


def _utf8_error(exc: UnicodeDecodeError) -> str:
    return f"invalid UTF-8: {exc.reason} at position {exc.start}"
