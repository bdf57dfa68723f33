"""The server's DDP heartbeat, as Meteor's (``ddp-common/heartbeat.js``).

After ``interval`` seconds without any inbound frame the server sends a ``ping`` and gives
the client ``timeout`` seconds to send anything at all; if nothing comes the connection is
treated as lost (the session stays resumable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Heartbeat"]


class Heartbeat:
    """One connection's heartbeat task.

    Args:
        interval: Idle seconds before a ``ping`` (0 disables the heartbeat).
        timeout: Seconds to wait for any frame after the ``ping``.
        send_ping: Sends ``{"msg": "ping"}``.
        on_timeout: Called once when the client stayed silent.
        stalled: While it returns True, no ping is sent and no timeout fires (fault injection).
    """

    def __init__(
        self,
        interval: float,
        timeout: float,
        send_ping: Callable[[], None],
        on_timeout: Callable[[], None],
        stalled: Callable[[], bool],
    ) -> None:
        self._interval = interval
        self._timeout = timeout
        self._send_ping = send_ping
        self._on_timeout = on_timeout
        self._stalled = stalled
        self._activity = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the heartbeat (no-op when the interval is 0)."""
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="ddp-server-heartbeat")

    def stop(self) -> None:
        """Stop the heartbeat."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def received(self) -> None:
        """Note that a frame arrived (every inbound frame counts as a pong)."""
        self._activity.set()

    async def _quiet_for(self, seconds: float) -> bool:
        self._activity.clear()
        try:
            await asyncio.wait_for(self._activity.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _run(self) -> None:
        while True:
            if not await self._quiet_for(self._interval) or self._stalled():
                continue
            self._send_ping()
            if await self._quiet_for(self._timeout) and not self._stalled():
                self._task = None
                self._on_timeout()
                return
