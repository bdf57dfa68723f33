"""The default blocking transport: one ``websockets.sync`` connection (a :class:`SyncTransport`).

``websockets.sync`` reads the socket on its own background thread; :meth:`WebsocketsTransport.recv`
takes what that thread has queued (through :class:`~ddp.sync._connection.DirectConnection`, a
lighter hand-over than websockets' own, where the installed websockets allows it; else
websockets' ``recv``), so ``recv(0)`` is cheap and tells "nothing queued right now" apart from
"closed".

:meth:`WebsocketsTransport.abort` never waits on a lock: it shuts the socket down, which wakes
a thread blocked in ``sendall`` (closing the descriptor would not, on Linux) and the reader
thread, which then ends the connection. A sender stuck because the server stopped reading is
freed this way (websockets holds its protocol mutex while it writes, so nothing that takes
that mutex may run first).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from ddp._transport import DialSpec, FrameMeter, Framing, TransportClosed, describe_close
from ddp._wsmessages import connect_options
from ddp.sync._connection import DirectConnection, Waker, connection_options, text_reader

__all__ = ["TransportClosed", "WebsocketsTransport", "dial"]

logger = logging.getLogger("ddp.client")


def dial(spec: DialSpec, meter: FrameMeter) -> WebsocketsTransport:
    """Open a ``websockets.sync`` connection as ``spec`` says and return it as a transport.

    Raises:
        OSError, TimeoutError, websockets.exceptions.InvalidHandshake: The dial failed.
    """
    ws = connect(spec.url, **connect_options(spec), **connection_options())
    # What ``with connect(...) as ws`` does: websockets >= 17.1 warns about a connection
    # used outside a ``with`` block otherwise; we close it ourselves.
    ws = ws.__enter__()
    return WebsocketsTransport(ws, meter, Framing(spec.sockjs))


class WebsocketsTransport:
    """A :class:`ddp._transport.SyncTransport` on a ``websockets.sync`` connection.

    Args:
        ws: The open connection.
        meter: Counts and traces the frames.
        framing: Raw DDP or SockJS.
    """

    __slots__ = ("_aborted", "_direct", "_framing", "_meter", "_next_text", "_ws")

    def __init__(self, ws: ClientConnection, meter: FrameMeter, framing: Framing) -> None:
        self._ws = ws
        self._meter = meter
        self._framing = framing
        self._next_text = text_reader(ws)
        self._aborted: str | None = None
        self._direct = ws if isinstance(ws, DirectConnection) else None

    @property
    def handoff(self) -> bool:
        """Whether :meth:`wait` and :meth:`set_consumer` work: the connection is a
        :class:`~ddp.sync._connection.DirectConnection`, so another thread than the
        client's I/O thread may take the messages for a while (a caller waiting for its
        own result, without a hop through the I/O thread)."""
        return self._direct is not None

    def wait(self, consumer: Waker | None, timeout: float | None) -> bool:
        """Wait until a message is queued for ``consumer`` (``None``: the I/O thread) or
        the connection ended; False after ``timeout`` seconds. Only when :attr:`handoff`.
        A ``consumer`` event is cleared by its owner first (see
        :meth:`DirectConnection.wait <ddp.sync._connection.DirectConnection.wait>`).

        ``recv(0)`` then takes the message (the caller makes sure one thread at a time does).
        """
        assert self._direct is not None
        return self._direct.wait(consumer, timeout)

    def set_consumer(self, consumer: Waker | None) -> None:
        """Have arriving messages wake ``consumer`` (``None``: the I/O thread again, woken
        at once if messages are queued). Only when :attr:`handoff`."""
        assert self._direct is not None
        self._direct.set_consumer(consumer)

    def recv(self, timeout: float | None) -> Sequence[str]:
        """Return the DDP texts of the next message (see the interface)."""
        if self._aborted is not None:
            raise TransportClosed(self._aborted)
        try:
            frame = self._next_text(timeout)
        except ConnectionClosed as exc:
            if self._aborted is None and exc.rcvd is None:
                self._meter.read_failed()
            raise TransportClosed(self._aborted or _describe(exc)) from None
        self._meter.read(frame)
        if not self._framing.sockjs:
            return (frame,)
        return self._framing.decode(frame)

    def take(self, limit: int) -> tuple[Sequence[str], bool]:
        """Return the DDP texts of up to ``limit`` queued messages without waiting, and
        whether that emptied the queue; one call for a burst of them rather than one
        ``recv(0)`` each. Only when :attr:`handoff`.

        Raises:
            TransportClosed: The connection ended and everything before was taken.
        """
        assert self._direct is not None
        if self._aborted is not None:
            raise TransportClosed(self._aborted)
        try:
            frames, dry = self._direct.take(limit)
        except ConnectionClosed as exc:
            if self._aborted is None and exc.rcvd is None:
                self._meter.read_failed()
            raise TransportClosed(self._aborted or _describe(exc)) from None
        read = self._meter.read
        for frame in frames:
            read(frame)
        if not self._framing.sockjs:
            return frames, dry
        decode = self._framing.decode
        return [text for frame in frames for text in decode(frame)], dry

    def send(self, texts: Sequence[str]) -> None:
        """Write ``texts`` in order (SockJS: in one frame); block until written."""
        frames = self._framing.encode(texts)
        send = self._ws.send
        try:
            for frame in frames:
                send(frame)
                self._meter.wrote((frame,))
        except (ConnectionClosed, OSError) as exc:
            self._meter.write_failed()
            reason = self._aborted or (
                _describe(exc) if isinstance(exc, ConnectionClosed) else repr(exc)
            )
            raise TransportClosed(reason) from None

    def close(self) -> None:
        """Close with the websocket handshake (bounded by the close timeout)."""
        try:
            self._ws.close()
        except Exception:
            logger.debug("closing the websocket failed", exc_info=True)
            self.abort("closed")

    def abort(self, reason: str) -> None:
        """Drop the connection now, waking blocked senders and readers; never blocks."""
        if self._aborted is None:
            self._aborted = reason
        try:
            self._ws.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already shut down or closed
        ws = self._ws
        if isinstance(ws, DirectConnection):
            ws.wake_after_abort()


def _describe(exc: ConnectionClosed) -> str:
    return describe_close(exc.rcvd, exc.sent)
