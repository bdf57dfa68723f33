"""What tests observe: a log of connections and received messages, and waits on it.

Every wait is deterministic: it looks at the whole log (not only what arrives after the call)
and returns as soon as the condition holds, or raises :class:`ddp.DDPTimeoutError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ddp.exceptions import DDPTimeoutError

__all__ = ["ConnectRecord", "DisconnectRecord", "Monitor", "Received"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Received:
    """A DDP message the server received (after parsing; EJSON decoded).

    Attributes:
        session_id: The session of the connection, or ``None`` before ``connect`` succeeded.
        msg: The message.
    """

    session_id: str | None
    msg: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConnectRecord:
    """A ``connected`` the server sent.

    Attributes:
        session_id: The session id sent.
        resumed: True when an existing session was resumed.
        version: The negotiated DDP version.
        transport: ``"websocket"`` (raw) or ``"sockjs"``.
    """

    session_id: str
    resumed: bool
    version: str
    transport: str


@dataclass(frozen=True, slots=True)
class DisconnectRecord:
    """A websocket of a DDP session that closed (for any reason).

    Attributes:
        session_id: The session whose socket closed.
        kept: True when the session stays resumable for the grace period.
    """

    session_id: str
    kept: bool


@dataclass
class Monitor:
    """The log behind ``Server.wait_for_*``; readable directly as ``server.monitor``.

    Attributes:
        record_messages: Keep every received message in :attr:`messages` (turn off for
            benchmarks).
        messages: Received messages, in arrival order.
        connects: Every ``connected`` sent, in order.
        disconnects: Every session socket that closed, in order.
        attempts: Websocket handshakes seen (refused ones included).
        refused: Handshakes refused by ``faults.refuse_connections``.
    """

    record_messages: bool = True
    messages: list[Received] = field(default_factory=list)
    connects: list[ConnectRecord] = field(default_factory=list)
    disconnects: list[DisconnectRecord] = field(default_factory=list)
    attempts: int = 0
    refused: int = 0
    _changed: asyncio.Event | None = field(default=None, repr=False)

    def notify(self) -> None:
        """Wake every waiter so that it re-checks its condition."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def record_message(self, session_id: str | None, msg: dict[str, Any]) -> None:
        """Append a received message (when recording) and wake waiters."""
        if self.record_messages:
            self.messages.append(Received(session_id, msg))
            self.notify()

    async def wait_until(self, check: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Return ``check()``'s first truthy value, re-checked after every logged event.

        Raises:
            DDPTimeoutError: ``check()`` stayed falsy for ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DDPTimeoutError(f"condition not met within {timeout} s")
            if self._changed is None:
                self._changed = asyncio.Event()
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue

    def find_messages(
        self,
        msg_type: str | None = None,
        *,
        session_id: str | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[Received]:
        """Return the logged messages of type ``msg_type`` (and session, and predicate)."""
        return [
            r
            for r in self.messages
            if (msg_type is None or r.msg.get("msg") == msg_type)
            and (session_id is None or r.session_id == session_id)
            and (predicate is None or predicate(r.msg))
        ]
