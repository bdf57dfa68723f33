"""A websockets client connection that hands each text message straight to a callback.

``ClientConnection.recv`` is built for a consumer task: every message goes through a queue
(websockets' ``Assembler``), wakes the consumer, and is fetched by a coroutine call. For a
DDP client that is a third of the cost of ingesting a subscription, and one extra trip
through the event loop per message for a method's round trip. :class:`DirectConnection`
(passed to websockets' ``connect`` as ``create_connection``, the hook websockets offers for
this) instead calls a function with each complete text message, in order, from the
connection's ``data_received``: the bytes just read are parsed and acted on in one go, and
reading stops while they are (the natural flow control of a synchronous consumer).

Everything else stays websockets': the opening and closing handshakes, ping/pong and close
frames, TLS, proxies, permessage-deflate and size limits. Fragmented messages, the UTF-8
check (invalid UTF-8 fails the connection with close code 1007) and binary messages (dropped,
as Meteor's client drops them) are handled as ``recv`` would (see :mod:`ddp._wsmessages`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import CloseCode, Frame
from websockets.protocol import Event

from ddp._wsmessages import DATA_OPCODES, TextMessages

__all__ = ["DirectConnection"]


class DirectConnection(ClientConnection):
    """A :class:`~websockets.asyncio.client.ClientConnection` that pushes text messages.

    Until :meth:`deliver_to` is called, messages are kept (a server may speak first, in the
    same packet as its handshake response); afterwards each one is passed to the callback as
    soon as it is complete. Do not call ``recv`` on it: it would wait forever.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the connection (websockets' ``connect`` does; see ``ClientConnection``)."""
        super().__init__(*args, **kwargs)
        self._deliver: Callable[[str], None] | None = None
        self._early: list[str] = []
        self._messages = TextMessages()
        self._failed = False  # failed for invalid UTF-8: nothing more is trusted

    def deliver_to(self, deliver: Callable[[str], None]) -> None:
        """Pass every text message, from now on and those kept so far, to ``deliver``.

        ``deliver`` runs inside the transport's ``data_received``; it must not raise (an
        exception there is fatal to the connection) and should not block.
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
            self.set_connection_exc(exc)
            self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            self.send_data()
            return
        if text is None:
            return
        deliver = self._deliver
        if deliver is None:
            self._early.append(text)
        else:
            deliver(text)
