"""A websockets client connection that hands each text message straight to a callback.

``ClientConnection.recv`` is built for a consumer task: every message goes through a queue
(websockets' ``Assembler``), wakes the consumer, and is fetched by a coroutine call. For a
DDP client that is a third of the cost of ingesting a subscription, and one extra trip
through the event loop per message for a method's round trip. :class:`DirectConnection`
(passed to websockets' ``connect`` as ``create_connection``, the hook websockets offers for
this) instead calls a function with each complete text message, in order, from the
connection's ``data_received``: the bytes just read are parsed and acted on in one go, and
reading stops while they are (the natural flow control of a synchronous consumer).

One exception to "in one go": when the callback says a message woke a waiting task (a method
result), the rest of that read is delivered from a callback scheduled right away, so the task
runs first. A sequential caller then gets its result without waiting for the frames behind it
(the ``updated`` that follows every result) to be processed, as a task reading with ``recv``
would. The order of messages never changes: whatever arrives meanwhile queues behind them.

Everything else stays websockets': the opening and closing handshakes, ping/pong and close
frames, TLS, proxies, permessage-deflate and size limits. Fragmented messages, the UTF-8
check (invalid UTF-8 fails the connection with close code 1007) and binary messages (dropped,
as Meteor's client drops them) are handled as ``recv`` would (see :mod:`ddp._wsmessages`).

The subclass relies on internals of websockets that are not part of its documented API and
change between releases; :data:`FAST_PATH_SUPPORTED` says whether the installed release has
them. When it does not, the driver dials websockets' stock connection and reads it with
``recv``: :func:`connection_options` and :func:`receive_texts` are the one interface the
driver uses for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, TypeAlias

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame
from websockets.protocol import Event, Protocol

from ddp._wsmessages import DATA_OPCODES, TextMessages

__all__ = [
    "FAST_PATH_SUPPORTED",
    "Deliver",
    "DirectConnection",
    "connection_options",
    "receive_texts",
]

_SetExc = Callable[[ClientConnection, BaseException | None], None]

Deliver: TypeAlias = Callable[[str], bool | None]
"""Takes one text message; returns True when it woke a task that should run before the rest
of the bytes already read are delivered (see the module docstring)."""

# Records the exception a ConnectionClosed is chained to: ``set_connection_exc`` since
# websockets 17.4, ``set_recv_exc`` before (same job, renamed).
_set_exc: Final[_SetExc | None] = getattr(
    ClientConnection, "set_connection_exc", getattr(ClientConnection, "set_recv_exc", None)
)

FAST_PATH_SUPPORTED: bool = (
    _set_exc is not None
    and all(hasattr(ClientConnection, name) for name in ("process_event", "send_data"))
    and hasattr(Protocol, "fail")
)
"""Whether the installed websockets has the internals :class:`DirectConnection` overrides
or calls (``process_event``, ``send_data``, ``set_connection_exc``/``set_recv_exc`` and the
protocol's ``fail``); tests switch it off to exercise the stock path."""


class DirectConnection(ClientConnection):
    """A :class:`~websockets.asyncio.client.ClientConnection` that pushes text messages.

    Until :meth:`deliver_to` is called, messages are kept (a server may speak first, in the
    same packet as its handshake response); afterwards each one is passed to the callback as
    soon as it is complete. Do not call ``recv`` on it: it would wait forever.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the connection (websockets' ``connect`` does; see ``ClientConnection``)."""
        super().__init__(*args, **kwargs)
        self._deliver: Deliver | None = None
        self._early: list[str] = []
        # Messages read but held back so that a woken task runs first; None when none are.
        self._deferred: list[str] | None = None
        self._messages = TextMessages()
        self._failed = False  # failed for invalid UTF-8: nothing more is trusted

    def deliver_to(self, deliver: Deliver) -> None:
        """Pass every text message, from now on and those kept so far, to ``deliver``.

        ``deliver`` runs inside the transport's ``data_received`` (or a callback of the
        event loop for the rest of a read it asked to defer); it must not raise (an exception
        there is fatal to the connection) and should not block.
        """
        self._deliver = deliver
        early, self._early = self._early, []
        for text in early:
            deliver(text)

    def process_event(self, event: Event) -> None:
        """Handle one event of the websocket protocol (websockets calls this)."""
        if self.response is None or type(event) is not Frame or event.opcode not in DATA_OPCODES:
            super().process_event(event)  # the handshake response; control frames
            return
        if self._failed:
            return
        try:
            text = self._messages.feed(event)
        except UnicodeDecodeError as exc:
            # What recv() does with invalid UTF-8: fail the connection with 1007.
            self._failed = True
            assert _set_exc is not None  # FAST_PATH_SUPPORTED
            _set_exc(self, exc)
            self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            self.send_data()
            return
        if text is None:
            return
        deferred = self._deferred
        if deferred is not None:
            deferred.append(text)
            return
        deliver = self._deliver
        if deliver is None:
            self._early.append(text)
        elif deliver(text):
            # Let the woken task run before the rest of this read (see the module docstring).
            self._deferred = []
            asyncio.get_running_loop().call_soon(self.deliver_deferred)

    def deliver_deferred(self) -> None:
        """Deliver the messages held back after a woken task, in order (no more deferring).

        Scheduled with ``call_soon`` when they are held back (anything read before it runs
        queues behind them); the reader also calls it once the connection has closed.
        Idempotent.
        """
        deferred = self._deferred
        if deferred is None:
            return
        self._deferred = None
        deliver = self._deliver
        assert deliver is not None  # only deferred after a delivery
        for text in deferred:
            deliver(text)


def connection_options() -> dict[str, Any]:
    """Return the keyword arguments that select the connection class for websockets' ``connect``.

    :class:`DirectConnection` when :data:`FAST_PATH_SUPPORTED`, else none (the stock class).
    """
    return {"create_connection": DirectConnection} if FAST_PATH_SUPPORTED else {}


async def receive_texts(ws: ClientConnection, deliver: Deliver) -> None:
    """Pass each text message of ``ws`` to ``deliver``, in order, until the connection closes.

    A :class:`DirectConnection` calls ``deliver`` from its ``data_received``; a stock
    connection is read with ``recv`` by this coroutine (binary messages dropped, invalid
    UTF-8 failing the connection with 1007, as websockets does). Either way this returns once
    the connection is closed and every message received before has been delivered.

    ``deliver`` must not raise and should not block; its return value only matters to a
    :class:`DirectConnection` (see :data:`Deliver`).
    """
    if isinstance(ws, DirectConnection):
        ws.deliver_to(deliver)
        await ws.wait_closed()
        ws.deliver_deferred()  # in case the close came before the scheduled delivery
        return
    try:
        while True:
            message = await ws.recv()
            if isinstance(message, str):
                deliver(message)
    except ConnectionClosed:
        pass
    await ws.wait_closed()
