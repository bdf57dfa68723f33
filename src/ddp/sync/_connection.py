"""A ``websockets.sync`` client connection with a lighter hand-over of received messages.

``websockets.sync`` reads the socket on a background thread of its own and hands frames to
``recv`` through its ``Assembler`` (a mutex and a condition variable taken for every frame on
both sides). For a DDP client ingesting a subscription, that hand-over costs as much as the
frame parsing itself. :class:`DirectConnection` (passed to websockets' ``connect`` as
``create_connection``) instead puts each complete text message on a ``deque``, which needs no
lock, and wakes the consumer only when it is waiting; :meth:`DirectConnection.next_text`
takes them off.

Flow control is kept: past ``high`` queued messages the reader thread stops reading the
socket (websockets' own ``recv_flow_control`` lock, which it checks before every read) until
the consumer is down to ``low``. Everything else stays websockets': handshakes, ping/pong and
close frames, TLS, proxies, permessage-deflate, size limits and sending. Fragmented messages,
the UTF-8 check and binary messages are handled as ``recv`` would (see
:mod:`ddp._wsmessages`).

Undocumented websockets internals are what this subclass builds on, and releases change
them: :data:`FAST_PATH_SUPPORTED` tells whether this one has them all. Without them the
transport falls back to the stock connection, read with ``recv``; it goes through
:func:`connection_options` and :func:`text_reader` either way.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame
from websockets.protocol import Event, Protocol
from websockets.sync.client import ClientConnection

from ddp._wsmessages import DATA_OPCODES, TextMessages, assigned_in_init
from ddp.sync._flag import Flag

__all__ = [
    "FAST_PATH_SUPPORTED",
    "HIGH_WATER",
    "LOW_WATER",
    "DirectConnection",
    "connection_options",
    "text_reader",
]

_SetExc = Callable[[ClientConnection, BaseException | None], None]

# Records the exception a ConnectionClosed is chained to: ``set_connection_exc`` since
# websockets 17.4, ``set_recv_exc`` before (same job, renamed).
_set_exc: Final[_SetExc | None] = getattr(
    ClientConnection, "set_connection_exc", getattr(ClientConnection, "set_recv_exc", None)
)

FAST_PATH_SUPPORTED: bool = (
    _set_exc is not None
    and all(
        hasattr(ClientConnection, name)
        for name in ("process_event", "send_data", "close_socket", "close")
    )
    and all(
        assigned_in_init(ClientConnection, name)
        for name in ("protocol_mutex", "recv_flow_control", "recv_events_thread")
    )
    and hasattr(Protocol, "fail")
)
"""Whether the installed websockets has the internals :class:`DirectConnection` overrides
or uses (``process_event``, ``close_socket``, ``send_data``,
``set_connection_exc``/``set_recv_exc``, the ``protocol_mutex`` and ``recv_flow_control``
locks, the ``recv_events_thread`` and the protocol's ``fail``); tests switch it off to
exercise the stock path."""

HIGH_WATER: Final = 1024
"""Queued messages at which the reader thread stops reading the socket."""

LOW_WATER: Final = 256
"""Queued messages at which it starts again."""


Waker = threading.Event | Flag
"""What wakes a consumer of a :class:`DirectConnection`."""


class DirectConnection(ClientConnection):
    """A :class:`websockets.sync.client.ClientConnection` read with :meth:`next_text`.

    Use :meth:`next_text` from one consumer thread; ``recv`` would wait forever.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the connection (websockets' ``connect`` does; see ``ClientConnection``)."""
        # Everything the reader thread touches is set before websockets starts that thread
        # in ``super().__init__``: a peer that closes at once makes it call close_socket()
        # (and so _resume()) before this method would otherwise have returned.
        self._texts: deque[str] = deque()
        self._ready = threading.Event()  # set when a message arrives or the socket closes
        # Whom an arriving message wakes: ``_ready`` (the client's I/O thread), or the event
        # of a caller receiving its own result (see set_consumer).
        self._consumer: Waker = self._ready
        self._ended = False  # the reader thread is done: what is queued is all there is
        self._messages = TextMessages()
        self._failed = False  # failed for invalid UTF-8: nothing more is trusted
        self._discard = False  # closing: nobody will read what still comes
        self._paused = False
        self._closing = False  # the socket is shut down: the reader is about to end
        self._pause_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def next_text(self, timeout: float | None) -> str:
        """Return the next text message, waiting up to ``timeout`` seconds for it.

        Args:
            timeout: Seconds to wait (``0``: only take one already queued; ``None``: no
                limit).

        Raises:
            TimeoutError: No message in time.
            websockets.exceptions.ConnectionClosed: The connection is closed and every
                message received before that has been taken.
        """
        texts = self._texts
        if not texts:
            if self._ended:
                raise self._close_exc()
            if timeout is not None and timeout <= 0:
                raise TimeoutError
            ready = self._ready
            ready.clear()
            # Re-check after clearing: a message queued before the clear set nothing.
            if not texts and not self._ended and not ready.wait(timeout):
                raise TimeoutError
            if not texts:
                if self._ended:
                    raise self._close_exc()
                raise TimeoutError
        text = texts.popleft()
        if self._paused and len(texts) <= LOW_WATER:
            self._resume()
        return text

    def take(self, limit: int) -> tuple[list[str], bool]:
        """Take up to ``limit`` queued text messages, in order, without waiting; return
        them and whether none is left queued. One consumer at a time, as for
        :meth:`next_text`.

        Raises:
            websockets.exceptions.ConnectionClosed: The connection is closed and every
                message received before that has been taken.
        """
        texts = self._texts
        n = len(texts)
        if not n:
            if self._ended:
                raise self._close_exc()
            return [], True
        popleft = texts.popleft
        taken = [popleft() for _ in range(n if n < limit else limit)]
        if self._paused and len(texts) <= LOW_WATER:
            self._resume()
        return taken, not texts

    def process_event(self, event: Event) -> None:
        """Handle one event of the websocket protocol (websockets' reader thread calls this)."""
        if self.response is None or type(event) is not Frame or event.opcode not in DATA_OPCODES:
            super().process_event(event)  # the handshake response; control frames
            return
        if self._failed or self._discard:
            return
        try:
            text = self._messages.feed(event)
        except UnicodeDecodeError as exc:
            # What recv() does with invalid UTF-8: fail the connection with 1007.
            self._failed = True
            with self.protocol_mutex:
                assert _set_exc is not None  # FAST_PATH_SUPPORTED
                _set_exc(self, exc)
                self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                try:
                    self.send_data()
                except OSError:
                    pass  # the socket is gone already; the reader thread sees it
            return
        if text is None:
            return
        texts = self._texts
        texts.append(text)
        if len(texts) >= HIGH_WATER and not self._paused:
            self._pause()
        # Read after the append: a consumer switched meanwhile sees the message queued.
        consumer = self._consumer
        if not consumer.is_set():
            consumer.set()

    def set_consumer(self, event: Waker | None) -> None:
        """Have arriving messages wake ``event`` rather than :meth:`next_text`'s waiter.

        ``None`` gives them back to :meth:`next_text`'s waiter, which is woken at once if
        messages are queued meanwhile (or the connection ended). Whoever is the consumer
        must be the only one to take messages (the caller serialises that).
        """
        consumer = self._ready if event is None else event
        self._consumer = consumer
        # Checked after the switch: a message queued before it woke the old consumer only.
        if self._texts or self._ended:
            consumer.set()

    def wait(self, event: Waker | None, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds until a message is queued for ``event``'s
        owner (``None``: :meth:`next_text`'s waiter), or the connection ended; return
        whether that happened. An ``event`` given is cleared by its owner before it last
        checked whatever else may set it (so that no setting is lost); ``None``'s is
        cleared here. Takes nothing off the queue: :meth:`next_text` with ``0``
        does. While another consumer is set, only a :meth:`set_consumer` back to this one,
        the end of the connection (once) or the timeout ends the wait."""
        ready: Waker
        if event is None:
            ready = self._ready
            ready.clear()
        else:
            ready = event  # cleared by its owner (see above)
        # Re-check after clearing: a message queued before the clear set nothing.
        if self._consumer is ready and (self._texts or self._ended):
            return True
        return ready.wait(timeout)

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Run the closing handshake; messages still queued or arriving are dropped.

        Dropping them lets a reader stopped by flow control go on to read the server's
        close frame at once, rather than after the close timeout.
        """
        self._discard = True
        self._texts.clear()
        self._resume()
        super().close(code, reason)

    def close_socket(self) -> None:
        """End the connection's socket (websockets calls this when the connection ends).

        Called from any thread but the reader's while the reader runs, it only shuts the
        socket down (which wakes the reader to end-of-file) and frees a reader paused by flow
        control; the reader closes the socket itself as it ends, by calling this again.
        Closing the descriptor under a live reader would let it ``select()`` on a closed,
        or worse reused, descriptor: under gevent (as in Locust) the selector then arms a
        libev watcher on it and libev aborts the whole process (``epoll_modify: Assertion
        ... invalid fd``); with OS threads, a reused descriptor could be read as ours.
        """
        reader = self.recv_events_thread
        if reader.is_alive() and threading.current_thread() is not reader:
            self._closing = True  # what still arrives must not pause the reader again
            try:
                self.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already shut down, or the peer is gone: the reader sees it either way
            self._resume()
            return
        super().close_socket()
        self._ended = True
        self._resume()  # never leave the reader thread blocked on flow control
        self._ready.set()
        self._consumer.set()

    def wake_after_abort(self) -> None:
        """After the socket was shut down: free a reader stopped by flow control (so it
        reads the end of the socket and ends the connection) and a consumer waiting for a
        message. Takes no lock a blocked sender may hold."""
        self._resume()
        self._ready.set()
        self._consumer.set()

    def _close_exc(self) -> ConnectionClosed:
        # What recv() raises: the protocol's ConnectionClosed (a Sans-I/O attribute since
        # long before websockets 15), chained to why the connection dropped; the
        # connection's own ``close_exc`` property that does both is only in websockets 17.4+.
        exc = self.protocol.close_exc
        cause = getattr(self, "connection_exc", getattr(self, "recv_exc", None))
        if cause is not None:
            exc.__cause__ = cause
        return exc

    def _pause(self) -> None:
        with self._pause_lock:
            if not self._paused and not self._ended and not self._closing:
                self._paused = True
                self.recv_flow_control.acquire()

    def _resume(self) -> None:
        with self._pause_lock:
            if self._paused:
                self._paused = False
                self.recv_flow_control.release()


def connection_options() -> dict[str, Any]:
    """Return the keyword arguments that select the connection class for websockets' ``connect``.

    :class:`DirectConnection` when :data:`FAST_PATH_SUPPORTED`, else none (the stock class).
    """
    return {"create_connection": DirectConnection} if FAST_PATH_SUPPORTED else {}


def text_reader(ws: ClientConnection) -> Callable[[float | None], str]:
    """Return the ``next_text(timeout)`` function that reads text messages from ``ws``.

    For a :class:`DirectConnection`, its :meth:`~DirectConnection.next_text`; for a stock
    connection, ``recv`` with binary messages skipped (Meteor's client drops them too),
    raising the same exceptions.
    """
    if isinstance(ws, DirectConnection):
        return ws.next_text

    def next_text(timeout: float | None) -> str:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            message = ws.recv(left)
            if isinstance(message, str):
                return message

    return next_text
