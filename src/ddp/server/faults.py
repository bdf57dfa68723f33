"""Fault injection: the ways a real server or network misbehaves, on demand.

Every switch is an attribute or a method of ``server.faults``; all of them are meant to be
called from the server's event loop (from a test thread, go through
:meth:`ddp.server.ServerThread.call`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddp.messages import encode_message

if TYPE_CHECKING:
    from ddp.server.server import Server
    from ddp.server.session import Session

__all__ = ["Faults"]


class Faults:
    """The fault switches of one server.

    Attributes:
        result_delay: Seconds to wait before sending each method's ``result``/``updated``
            (the method is then "slow": later messages wait too unless it unblocks).
        results_after_updated: Send ``updated`` before ``result`` (DDP allows either order).
        stall_heartbeats: Neither answer the client's pings nor send any (SockJS ``h``
            frames stop too): the client's heartbeat must notice.
    """

    def __init__(self, server: Server) -> None:
        self._server = server
        self.result_delay = 0.0
        self.results_after_updated = False
        self.stall_heartbeats = False
        self._refuse_until: float | None = None

    def reset(self) -> None:
        """Turn every fault off."""
        self.result_delay = 0.0
        self.results_after_updated = False
        self.stall_heartbeats = False
        self._refuse_until = None

    # -- connections ---------------------------------------------------------------------

    def drop(
        self, session_id: str, *, close_frame: bool = False, keep_session: bool = True
    ) -> None:
        """Cut one session's websocket, as a network failure would.

        Args:
            session_id: The session to cut.
            close_frame: Send a websocket close frame (code 1001) instead of cutting TCP.
            keep_session: Keep the session for the grace period, so that the client can
                resume it; with False the session is forgotten (a resume is refused).

        Raises:
            InvalidStateError: no such session.
        """
        self._drop(self._server.session(session_id), close_frame, keep_session)

    def drop_all(self, *, close_frame: bool = False, keep_session: bool = True) -> int:
        """Cut every connected session's websocket (see :meth:`drop`); return how many."""
        sessions = [s for s in self._server.sessions.values() if s.connected]
        for session in sessions:
            self._drop(session, close_frame, keep_session)
        return len(sessions)

    def _drop(self, session: Session, close_frame: bool, keep_session: bool) -> None:
        transport = session.transport
        if not keep_session:
            session.destroy(abort=not close_frame)
        if transport is None:
            return
        unsent = None
        if close_frame:
            transport.close(1001, "Going away")
        else:
            unsent = transport.abort()
        # The server notices at once: what the session sends from now on (and what the
        # socket never wrote) is queued for a resume, not counted as sent on a dead socket.
        self._server._socket_lost(session, transport, unsent)

    def refuse_connections(self, seconds: float | None = None) -> None:
        """Answer new websocket handshakes with HTTP 503 for ``seconds`` (or until
        :meth:`accept_connections`). Existing connections are not touched."""
        loop = self._server.loop
        self._refuse_until = float("inf") if seconds is None else loop.time() + seconds

    def accept_connections(self) -> None:
        """Stop refusing new connections."""
        self._refuse_until = None

    @property
    def refusing(self) -> bool:
        """Whether new handshakes are refused right now."""
        return self._refuse_until is not None and self._server.loop.time() < self._refuse_until

    def restart(self, *, refuse_for: float | None = None) -> None:
        """Act as a server restart on the same port: every socket is cut and every session
        forgotten (clients get a new session id); collections and users stay.

        Args:
            refuse_for: Also refuse new connections for this many seconds.
        """
        self._server._restart()
        if refuse_for is not None:
            self.refuse_connections(refuse_for)

    # -- frames ----------------------------------------------------------------------------

    def send_raw(self, session_id: str | None, text: str, *, framed: bool = True) -> int:
        """Write ``text`` to a session's socket (or every connected one with ``None``).

        The text bypasses the session: it is not counted in ``sent_count`` (as Meteor's
        socket-level writes are not) and not queued while disconnected. Use it for malformed
        frames, huge frames and unknown messages.

        Args:
            session_id: The target session, or ``None`` for all connected sessions.
            text: The message text.
            framed: On a SockJS socket, wrap ``text`` as one message of an ``a[...]`` frame;
                with False it is written as the websocket frame itself.

        Returns:
            The number of sockets written to.
        """
        count = 0
        for session in self._targets(session_id):
            transport = session.transport
            if transport is None:
                continue
            if framed:
                transport.enqueue(text)
            else:
                transport.enqueue_frame(text)
            count += 1
        return count

    def send_message(self, session_id: str | None, msg: dict[str, Any]) -> int:
        """Send ``msg`` through the session(s), exactly like a server message: counted in
        ``sent_count`` and queued for a resume while disconnected. Returns how many sessions.
        """
        encode_message(msg)  # fail here, in the caller, if it cannot be encoded
        targets = self._targets(session_id)
        for session in targets:
            session.send(msg)
        return len(targets)

    def _targets(self, session_id: str | None) -> list[Session]:
        if session_id is not None:
            return [self._server.session(session_id)]
        return [s for s in self._server.sessions.values() if s.connected]
