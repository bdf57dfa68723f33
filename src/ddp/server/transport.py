"""The two ways a session talks over a websocket: raw DDP frames or SockJS framing.

A transport owns its websocket's write side: :meth:`Transport.enqueue` is synchronous (so
observers and the merge box can send from plain callbacks) and a writer task drains the
queue in order. SockJS batches whatever is queued into one ``a[...]`` frame and sends ``h``
when idle.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from ddp.framing import sockjs_encode_close, sockjs_encode_messages, sockjs_server_decode

__all__ = ["RawTransport", "SockJSTransport", "Transport"]

_CLOSE = object()


class Transport:
    """Raw DDP over a websocket (Meteor's ``/websocket``): one message per text frame.

    Args:
        ws: The accepted websocket.
        stalled: Returns whether heartbeats are stalled (fault injection); a stalled
            SockJS transport stops its ``h`` frames too.
    """

    kind = "websocket"

    def __init__(self, ws: ServerConnection, stalled: Callable[[], bool]) -> None:
        self.ws = ws
        self._stalled = stalled
        # Messages are (text, counted) tuples; other items are _RawFrame / _Close markers.
        self._outbox: deque[tuple[str, bool] | _RawFrame | _Close] = deque()
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self.closing = False
        self.lost = False  # the server has detached it from its session

    def start(self) -> None:
        """Start the writer task (call once, from the event loop)."""
        self._writer = asyncio.create_task(self._write_loop(), name="ddp-server-writer")

    def enqueue(self, text: str, counted: bool = False) -> None:
        """Queue one DDP message's text for sending (dropped once closing).

        Args:
            text: The message text.
            counted: The session counted it in ``sent_count`` (see :meth:`abort`).
        """
        if not self.closing:
            self._outbox.append((text, counted))
            self._wakeup.set()

    def enqueue_frame(self, frame: str) -> None:
        """Queue a websocket frame exactly as given, bypassing the framing (fault injection)."""
        if not self.closing:
            self._outbox.append(_RawFrame(frame))
            self._wakeup.set()

    def decode(self, frame: str) -> list[str]:
        """Return the DDP message texts in one incoming frame.

        Raises:
            ProtocolError: the frame breaks the framing (SockJS only).
        """
        return [frame]

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send what is queued, then close the websocket with ``code`` (idempotent)."""
        if self.closing:
            return
        self.closing = True
        self._outbox.append(_Close(code, reason))
        self._wakeup.set()

    def abort(self) -> list[str]:
        """Cut the TCP connection at once (no close frame).

        Returns:
            The counted messages that were still queued, never written, in order: the
            session takes them back so that a resume does not miss them.
        """
        self.closing = True
        unsent = [item[0] for item in self._outbox if isinstance(item, tuple) and item[1]]
        self._outbox.clear()
        self.ws.transport.abort()
        return unsent

    def stop_writer(self) -> None:
        """Cancel the writer task (the websocket is gone)."""
        if self._writer is not None:
            self._writer.cancel()

    # -- framing ---------------------------------------------------------------------------

    def _frames(self, texts: list[str]) -> list[str]:
        return texts

    def _close_frame(self, code: int, reason: str) -> str | None:
        return None

    def _idle_frame(self) -> str | None:
        return None

    def _idle_timeout(self) -> float | None:
        return None

    async def _write_loop(self) -> None:
        try:
            while True:
                if not self._outbox:
                    self._wakeup.clear()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), self._idle_timeout())
                    except TimeoutError:
                        idle = self._idle_frame()
                        if idle is not None and not self._stalled():
                            await self.ws.send(idle)
                        continue
                if await self._flush():
                    return
        except ConnectionClosed:
            self.closing = True

    async def _flush(self) -> bool:
        """Write everything queued; return True once the websocket was closed."""
        texts: list[str] = []
        while self._outbox:
            item = self._outbox.popleft()
            if isinstance(item, tuple):
                texts.append(item[0])
                continue
            for frame in self._frames(texts):
                await self.ws.send(frame)
            texts = []
            if isinstance(item, _RawFrame):
                await self.ws.send(item.text)
            elif isinstance(item, _Close):
                close_frame = self._close_frame(item.code, item.reason)
                if close_frame is not None:
                    await self.ws.send(close_frame)
                await self.ws.close(item.code if close_frame is None else 1000, item.reason)
                return True
        for frame in self._frames(texts):
            await self.ws.send(frame)
        return False


class _RawFrame:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Close:
    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


RawTransport = Transport


class SockJSTransport(Transport):
    """SockJS's websocket transport: ``o`` on open, ``a[...]`` batches, ``h`` when idle,
    ``c[code,"reason"]`` before closing; the client sends ``["msg", ...]`` frames.

    Args:
        ws: The accepted websocket.
        stalled: As for :class:`Transport`.
        heartbeat_interval: Seconds of idleness before an ``h`` frame (0 disables).
    """

    kind = "sockjs"

    def __init__(
        self, ws: ServerConnection, stalled: Callable[[], bool], heartbeat_interval: float
    ) -> None:
        super().__init__(ws, stalled)
        self._heartbeat_interval = heartbeat_interval
        self._outbox.append(_RawFrame("o"))
        self._wakeup.set()

    def decode(self, frame: str) -> list[str]:
        """Return the messages of a client frame: a JSON array of strings (or one string)."""
        return sockjs_server_decode(frame)

    def _frames(self, texts: list[str]) -> list[str]:
        return [sockjs_encode_messages(texts)] if texts else []

    def _close_frame(self, code: int, reason: str) -> str | None:
        return sockjs_encode_close(code, reason)

    def _idle_frame(self) -> str | None:
        return "h"

    def _idle_timeout(self) -> float | None:
        return self._heartbeat_interval or None
