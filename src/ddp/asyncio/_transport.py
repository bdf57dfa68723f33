"""The default asyncio transport: a websockets client connection (an :class:`AsyncTransport`).

Received messages are pushed to the driver as they are read (through
:class:`~ddp.asyncio._connection.DirectConnection` where the installed websockets allows it,
else read with ``recv`` by a task: :func:`~ddp.asyncio._connection.receive_texts`). Sends are
coalesced: the first batch of a loop iteration is written at once, what is sent after it in
the same iteration goes out in one socket write at its end
(:func:`~ddp.asyncio._writes.write_texts`), and whatever cannot take that path
(backpressure, a websockets release without the internals it needs) is written by a writer
task with ``ws.send`` and websockets' flow control. Queued texts sit in a deque, so each one
is queued and taken once: O(1) per text, however large the backlog.

Everything that touches websockets' internals is in this package's ``_connection`` and
``_writes`` modules and here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ddp._transport import (
    CLOSE_TIMEOUT,
    Deliver,
    DialSpec,
    FrameMeter,
    Framing,
    TransportClosed,
    describe_close,
)
from ddp._wsmessages import connect_options
from ddp.asyncio._connection import connection_options, receive_texts
from ddp.asyncio._writes import write_texts
from ddp.stats import text_size

__all__ = ["WebsocketsTransport", "dial"]

logger = logging.getLogger("ddp.client")


async def dial(spec: DialSpec, meter: FrameMeter) -> WebsocketsTransport:
    """Open a websockets connection as ``spec`` says and return it as a transport.

    Raises:
        OSError, TimeoutError, websockets.exceptions.InvalidHandshake: The dial failed.
    """
    ws = await ws_connect(spec.url, **connect_options(spec), **connection_options())
    return WebsocketsTransport(ws, meter, Framing(spec.sockjs), spec.close_timeout)


class WebsocketsTransport:
    """An :class:`ddp._transport.AsyncTransport` on a websockets ``ClientConnection``.

    Args:
        ws: The open connection.
        meter: Counts and traces the frames.
        framing: Raw DDP or SockJS.
        close_timeout: Seconds a graceful close may take in all (writing what is queued,
            then the handshake) before it aborts.
    """

    def __init__(
        self,
        ws: ClientConnection,
        meter: FrameMeter,
        framing: Framing,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self._ws = ws
        self._close_timeout = close_timeout
        self._meter = meter
        self._framing = framing
        self._loop = asyncio.get_running_loop()
        self._queue: deque[str] = deque()
        self._armed = False  # a _tick is scheduled: later sends join its batch
        self._writing = False  # the writer task is writing: sends queue behind it
        self._ready = asyncio.Event()
        self._writer = self._loop.create_task(self._write_loop())
        self._reader: asyncio.Task[None] | None = None
        self._reason: str | None = None  # why we ended it (abort, SockJS close)

    # -- receiving ----------------------------------------------------------------------
    def deliver_to(self, deliver: Deliver) -> None:
        """Start passing received texts to ``deliver`` (see the interface)."""
        stats = self._meter.stats
        trace = self._meter.trace
        framing = self._framing

        def on_message(frame: str) -> bool | None:
            stats.read_bytes += len(frame) if frame.isascii() else text_size(frame)
            stats.read_frames += 1
            if trace:
                self._meter.trace_read(frame)
            if not framing.sockjs:
                return deliver(frame)
            if self._reason is not None:
                return False  # ended (a SockJS close): nothing more is trusted
            try:
                texts = framing.decode(frame)
            except TransportClosed as exc:
                self.abort(exc.reason)
                return False
            woke = False
            for text in texts:
                woke = bool(deliver(text)) or woke
            return woke

        self._reader = self._loop.create_task(receive_texts(self._ws, on_message))

    async def wait_closed(self) -> str:
        """Wait for the end of the connection; return why it ended."""
        if self._reader is not None:
            await self._reader
        else:
            await self._ws.wait_closed()
        self._writer.cancel()
        if self._reason is not None:
            return self._reason
        protocol = self._ws.protocol
        if protocol.close_rcvd is None:
            self._meter.read_failed()
        return describe_close(protocol.close_rcvd, protocol.close_sent)

    # -- sending ------------------------------------------------------------------------
    def send(self, texts: Sequence[str]) -> None:
        """Queue ``texts``; write them at once when nothing is queued before them."""
        frames = self._framing.encode(texts) if self._framing.sockjs else texts
        if not frames:
            return
        if self._armed or self._writing or self._queue:
            self._queue.extend(frames)
            if not self._armed:
                self._ready.set()
            return
        if write_texts(self._ws, frames):
            self._meter.wrote(frames)
            self._armed = True
            self._loop.call_soon(self._tick)
            return
        self._queue.extend(frames)
        self._ready.set()

    def _tick(self) -> None:
        # The end of the loop iteration of a fast write: what queued since goes out now.
        self._armed = False
        if not self._queue or self._writing:
            return
        frames = list(self._queue)
        if write_texts(self._ws, frames):
            self._queue.clear()
            self._meter.wrote(frames)
            self._armed = True
            self._loop.call_soon(self._tick)
        else:
            self._ready.set()

    async def _write_loop(self) -> None:
        ready = self._ready
        try:
            while True:
                await ready.wait()
                ready.clear()
                if self._queue and not self._armed:
                    await self._write_queued()
        except ConnectionClosed:
            self._meter.write_failed()  # the reader sees the close and ends the connection

    async def _write_queued(self) -> None:
        """Write the queue in order until it is empty (``ws.send`` under backpressure)."""
        self._writing = True
        queue = self._queue
        try:
            while queue:
                frames = list(queue)
                queue.clear()
                if write_texts(self._ws, frames):
                    self._meter.wrote(frames)
                    continue
                for i, frame in enumerate(frames):
                    try:
                        await self._ws.send(frame)
                    except BaseException:
                        queue.extendleft(reversed(frames[i:]))
                        raise
                    self._meter.wrote(frames[i : i + 1])
        finally:
            self._writing = False

    # -- ending -------------------------------------------------------------------------
    async def close(self) -> None:
        """Write what is queued, then run the closing handshake; abort on any trouble or
        past the close timeout (a server that stopped reading)."""
        try:
            async with asyncio.timeout(self._close_timeout):
                if self._queue and not self._writing:
                    await self._write_queued()
                await self._ws.close()
        except Exception:  # the peer may be gone or stuck; closing must still end
            logger.debug("closing the websocket failed", exc_info=True)
            self.abort("closed")

    def abort(self, reason: str) -> None:
        """Drop the connection now (the first reason given is kept)."""
        if self._reason is None:
            self._reason = reason
        if self._ws.state is not State.CLOSED:
            self._ws.transport.abort()
