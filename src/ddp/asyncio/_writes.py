"""Coalesced writes: several DDP frames to one websocket connection in one socket write.

``ClientConnection.send`` writes every message with its own ``transport.write`` (one system
call, and on loopback one wake-up of the peer, per message). When many calls are made in one
event-loop iteration (500 tasks each awaiting ``client.call``), that is most of the cost of a
call. :func:`write_texts` frames the messages with the connection's own Sans-I/O protocol
(``ws.protocol``: masking, permessage-deflate and state checks all stay websockets') and hands
the bytes to the transport in one write.

It only takes the fast path when nothing can go wrong that ``send`` would have handled: the
connection is open, no fragmented message is being sent, and the transport is not applying
backpressure. Otherwise it writes nothing and the caller falls back to ``await ws.send()``,
which waits for the drain or for the close and raises ``ConnectionClosed``. So does a
websockets release whose protocol object lacks what it uses (:data:`FAST_WRITES_SUPPORTED`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from websockets.asyncio.client import ClientConnection
from websockets.protocol import Protocol, State

from ddp._wsmessages import assigned_in_init

__all__ = ["FAST_WRITES_SUPPORTED", "WRITE_BUFFER_LIMIT", "write_texts"]

FAST_WRITES_SUPPORTED: bool = all(
    hasattr(Protocol, name) for name in ("send_text", "data_to_send", "state")
) and assigned_in_init(Protocol, "expect_continuation_frame")
"""Whether websockets' Sans-I/O protocol has what :func:`write_texts` uses (every release
from 15.0 to 17.4 does); when not, it always declines and the caller uses ``ws.send``."""

WRITE_BUFFER_LIMIT: Final = 64 * 1024
"""Bytes already buffered by the transport above which the fast path is not taken (so that
``ws.send`` applies websockets' flow control instead)."""


def write_texts(ws: ClientConnection, texts: Sequence[str]) -> bool:
    """Write ``texts`` as websocket text messages, in order, in one transport write.

    Args:
        ws: An asyncio websockets connection.
        texts: The messages.

    Returns:
        True when all were written; False when none was (the connection is not open, is
        busy with a fragmented message, or its transport is backed up): use ``ws.send``.
    """
    if not FAST_WRITES_SUPPORTED:
        return False
    protocol = ws.protocol
    transport = ws.transport
    if (
        protocol.state is not State.OPEN
        or protocol.expect_continuation_frame
        or transport.is_closing()
        or transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT
    ):
        return False
    send_text = protocol.send_text
    for text in texts:
        send_text(text.encode())
    # An open connection that only sent text frames has nothing else queued: in particular
    # no end-of-stream marker (an empty chunk), which only follows a closing handshake.
    transport.write(b"".join(protocol.data_to_send()))
    return True
