"""The :class:`Server`: listening socket, routing, version negotiation, sessions."""

from __future__ import annotations

import asyncio
import re
import ssl as _ssl
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

import orjson
from websockets.asyncio.server import Server as WebSocketServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ddp.exceptions import InvalidStateError, ProtocolError
from ddp.messages import encode_message, parse_message
from ddp.server._util import logger, random_id
from ddp.server.accounts import DEFAULT_TOKEN_LIFETIME, Accounts
from ddp.server.collection import ServerCollection
from ddp.server.faults import Faults
from ddp.server.method import MethodHandler
from ddp.server.monitor import ConnectRecord, DisconnectRecord, Monitor, Received
from ddp.server.publication import PublishHandler
from ddp.server.ratelimit import Kind, RateLimiter
from ddp.server.session import ConnectionInfo, Session
from ddp.server.stream import AllowEmit, AllowRead, AllowWrite, ServerStream
from ddp.server.transport import SockJSTransport, Transport

__all__ = ["SUPPORTED_VERSIONS", "Server"]

SUPPORTED_VERSIONS = ("1", "pre2", "pre1")
"""Meteor's DDP versions, in order of preference."""

_SOCKJS_PATH = re.compile(r"^/sockjs/[^/.]+/[^/.]+/websocket$")
_NOT_JSON = object()

F = TypeVar("F", bound=Callable[..., Any])


class Server:
    """A DDP server on ``websockets``, for tests and demos (see :mod:`ddp.server`).

    Args:
        host: Interface to listen on.
        port: Port; 0 picks a free one (read :attr:`port` after start).
        heartbeat_interval: Idle seconds before the server pings (0 disables).
        heartbeat_timeout: Seconds the client has to answer that ping.
        versions: DDP versions offered, in order of preference.
        disconnect_grace_period: Seconds a dropped session stays resumable (0: never).
        max_message_queue_length: Messages queued for a dropped session; one more drops it.
        sockjs_heartbeat_interval: Idle seconds before a SockJS ``h`` frame (0 disables).
        token_lifetime: Seconds a login token is valid.
        record_messages: Keep every received message in ``monitor.messages``.
        max_size: Largest accepted websocket frame in bytes.
        compression: ``"deflate"`` (permessage-deflate, as Meteor) or ``None``.
        ssl: A server-side ``ssl.SSLContext`` to serve TLS (``wss://``; the URLs then say
            ``wss``/``https``), or ``None`` for plain ``ws://``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        heartbeat_interval: float = 15.0,
        heartbeat_timeout: float = 15.0,
        versions: Sequence[str] = SUPPORTED_VERSIONS,
        disconnect_grace_period: float = 15.0,
        max_message_queue_length: int = 100,
        sockjs_heartbeat_interval: float = 25.0,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        record_messages: bool = True,
        max_size: int | None = 16 * 1024 * 1024,
        compression: str | None = "deflate",
        ssl: _ssl.SSLContext | None = None,
    ) -> None:
        if isinstance(versions, str) or not versions:
            raise ValueError("versions must be a non-empty sequence of version strings")
        if ssl is not None and not isinstance(ssl, _ssl.SSLContext):
            raise TypeError("ssl must be an ssl.SSLContext or None")
        self._ssl = ssl
        self.host = host
        self._requested_port = port
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.versions = tuple(versions)
        self.disconnect_grace_period = disconnect_grace_period
        self.max_message_queue_length = max_message_queue_length
        self.sockjs_heartbeat_interval = sockjs_heartbeat_interval
        self._max_size = max_size
        self._compression = compression
        self._collections: dict[str, ServerCollection] = {}
        self._publications: dict[str, PublishHandler] = {}
        self._universal_publications: list[PublishHandler] = []
        self._streams: dict[str, ServerStream] = {}
        self.accounts = Accounts(token_lifetime=token_lifetime, collection=self.collection("users"))
        self.faults = Faults(self)
        self.monitor = Monitor(record_messages=record_messages)
        self._methods: dict[str, MethodHandler] = {
            "login": self.accounts.login,
            "logout": self.accounts.logout,
        }
        # Meteor's accounts publish the logged-in user's own document to every connection.
        self._universal_publications.append(self.accounts.publish_user)
        self._rate_limiter = RateLimiter()
        self._sessions: dict[str, Session] = {}
        self._transports: set[Transport] = set()
        self._ws_server: WebSocketServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port: int | None = None

    # -- registration --------------------------------------------------------------------

    def method(self, name: str) -> Callable[[F], F]:
        """Decorator: register ``fn(ctx: MethodContext, *params)`` as method ``name``."""

        def register(fn: F) -> F:
            self.add_method(name, fn)
            return fn

        return register

    def add_method(self, name: str, handler: MethodHandler) -> None:
        """Register ``handler(ctx, *params)`` (plain or async) as method ``name``."""
        if not isinstance(name, str) or not callable(handler):
            raise TypeError("add_method needs a str name and a callable handler")
        self._methods[name] = handler

    def publish(self, name: str | None) -> Callable[[F], F]:
        """Decorator: register ``fn(sub: Subscription, *params)`` as publication ``name``.

        ``None`` registers a universal publication (see :meth:`add_publication`).
        """

        def register(fn: F) -> F:
            self.add_publication(name, fn)
            return fn

        return register

    def add_publication(self, name: str | None, handler: PublishHandler) -> None:
        """Register ``handler(sub, *params)`` (plain or async) as publication ``name``.

        With ``name=None`` the publication is universal, as Meteor's ``publish(null, fn)``:
        the server runs ``handler(sub)`` for every connection, without being asked, right
        after ``connected`` (for live connections: at once), and runs it again whenever the
        connection's user logs in or out. Its ``sub`` has no id: ``ready()`` sends nothing
        and no ``nosub`` is ever sent. Call it on the server's loop once started.
        """
        if not (name is None or isinstance(name, str)) or not callable(handler):
            raise TypeError("add_publication needs a str name (or None) and a callable handler")
        if name is not None:
            self._publications[name] = handler
            return
        self._universal_publications.append(handler)
        for session in list(self._sessions.values()):
            session.start_universal(handler)

    def stream(
        self,
        name: str,
        *,
        allow_read: AllowRead | None = None,
        allow_emit: AllowEmit | None = None,
        allow_write: AllowWrite | None = None,
        retransmit_to_self: bool | None = None,
    ) -> ServerStream:
        """Return the stream ``name`` (publication ``stream-<name>``), created on first use.

        ``stream.emit(event_name, *args)`` sends an event to the subscribers of that event
        name, from any thread. Clients may emit through the method ``stream-<name>`` when
        ``allow_write`` allows it. See :class:`ServerStream` for the hooks and options,
        which given here replace those of an existing stream.

        Example::

            messages = server.stream("room-messages")
            messages.emit("GENERAL", {"msg": "hello", "u": {"username": "bot"}})
        """
        if not isinstance(name, str) or not name:
            raise TypeError("a stream needs a non-empty str name")
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = ServerStream(self, name)
            self.add_publication(stream.publication, stream.handler)
            self.add_method(stream.publication, stream.client_emit)
        if allow_write is not None:
            stream.allow_write = allow_write
        if retransmit_to_self is not None:
            stream.retransmit_to_self = retransmit_to_self
        if allow_read is not None:
            stream.allow_read = allow_read
        if allow_emit is not None:
            stream.allow_emit = allow_emit
        return stream

    @property
    def streams(self) -> Mapping[str, ServerStream]:
        """The streams by name (read-only)."""
        return MappingProxyType(self._streams)

    def collection(self, name: str) -> ServerCollection:
        """Return the reactive in-memory collection ``name`` (created on first use)."""
        coll = self._collections.get(name)
        if coll is None:
            coll = self._collections[name] = ServerCollection(name)
        return coll

    def rate_limit(
        self, name: str, max_calls: int, per_seconds: float, *, kind: Kind = "method"
    ) -> None:
        """Allow each connection ``max_calls`` calls of method (or subscription) ``name``
        per ``per_seconds``; over that, Meteor's ``too-many-requests`` error is sent."""
        self._rate_limiter.add_rule(kind, name, max_calls, per_seconds)

    # -- addresses and state ---------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the server runs on.

        Raises:
            InvalidStateError: the server is not started.
        """
        if self._loop is None:
            raise InvalidStateError("the server is not started")
        return self._loop

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise InvalidStateError("the server is not started")
        return self._port

    @property
    def _url_host(self) -> str:
        if self.host in ("", "0.0.0.0"):
            return "127.0.0.1"
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def url(self) -> str:
        """The raw DDP websocket URL, ``ws://HOST:PORT/websocket`` (``wss://`` with TLS)."""
        return f"{self._scheme('ws')}://{self._url_host}:{self.port}/websocket"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (``https://`` with TLS), for clients that build their own
        path (SockJS)."""
        return f"{self._scheme('http')}://{self._url_host}:{self.port}"

    @property
    def sockjs_url(self) -> str:
        """A SockJS websocket URL, ``ws://HOST:PORT/sockjs/NNN/XXXXXXXX/websocket``
        (random server and session parts, fresh on every read)."""
        prefix = f"{self._scheme('ws')}://{self._url_host}:{self.port}"
        return f"{prefix}/sockjs/{random_id(3)}/{random_id(8)}/websocket"

    def _scheme(self, plain: str) -> str:
        return plain if self._ssl is None else f"{plain}s"

    @property
    def sessions(self) -> Mapping[str, Session]:
        """Live sessions (connected or in their grace period) by id (read-only)."""
        return MappingProxyType(self._sessions)

    def session(self, session_id: str) -> Session:
        """Return the live session ``session_id``.

        Raises:
            InvalidStateError: no such session.
        """
        session = self._sessions.get(session_id)
        if session is None:
            raise InvalidStateError(f"no live session {session_id!r}")
        return session

    # -- waiting (tests) ---------------------------------------------------------------------

    async def wait_until(self, check: Callable[[], Any], timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """Wait until ``check()`` is truthy (re-checked on every connection or message)."""
        return await self.monitor.wait_until(check, timeout)

    async def wait_for_connections(
        self,
        n: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ConnectRecord:
        """Wait until ``n`` ``connected`` were sent in total; return the ``n``-th record."""
        connects = self.monitor.connects
        result: ConnectRecord = await self.monitor.wait_until(
            lambda: connects[n - 1] if len(connects) >= n else None, timeout
        )
        return result

    async def wait_for_disconnections(
        self,
        n: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> DisconnectRecord:
        """Wait until ``n`` session sockets closed in total; return the ``n``-th record."""
        records = self.monitor.disconnects
        result: DisconnectRecord = await self.monitor.wait_until(
            lambda: records[n - 1] if len(records) >= n else None, timeout
        )
        return result

    async def wait_for_message(
        self,
        msg_type: str | None = None,
        *,
        count: int = 1,
        session_id: str | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Received:
        """Wait until ``count`` matching messages were received; return the ``count``-th."""

        def check() -> Received | None:
            found = self.monitor.find_messages(msg_type, session_id=session_id, predicate=predicate)
            return found[count - 1] if len(found) >= count else None

        result: Received = await self.monitor.wait_until(check, timeout)
        return result

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start serving.

        Raises:
            InvalidStateError: already started.
        """
        if self._ws_server is not None:
            raise InvalidStateError("the server is already started")
        self._loop = asyncio.get_running_loop()
        self._ws_server = await serve(
            self._handle,
            self.host,
            self._port or self._requested_port,
            process_request=self._process_request,
            ping_interval=None,  # DDP has its own heartbeat
            max_size=self._max_size,
            compression=self._compression,
            server_header=None,
            ssl=self._ssl,
        )
        sockets = list(self._ws_server.sockets)
        self._port = sockets[0].getsockname()[1]
        logger.info("DDP server listening on %s", self.url)

    async def stop(self) -> None:
        """Close every connection, end every session and stop listening (idempotent)."""
        server, self._ws_server = self._ws_server, None
        if server is None:
            return
        tasks: list[asyncio.Task[Any]] = []
        for session in list(self._sessions.values()):
            tasks.extend(session._tasks)
            tasks.append(session._worker)
            session.cancel_tasks()
            session.destroy()
        server.close()
        await server.wait_closed()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _forget_session(self, session: Session) -> None:
        if self._sessions.get(session.id) is session:
            del self._sessions[session.id]
        self._rate_limiter.forget(session.id)
        self.monitor.notify()  # waiters may be watching `sessions`

    def _restart(self) -> None:
        for session in list(self._sessions.values()):
            session.destroy(abort=True)
        for transport in list(self._transports):
            transport.abort()

    # -- connections ---------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.monitor.attempts += 1
        self.monitor.notify()
        path = request.path.partition("?")[0]
        if path == "/sockjs/info":
            body = orjson.dumps(
                {"websocket": True, "origins": ["*:*"], "cookie_needed": False, "entropy": 0}
            ).decode()
            response = connection.respond(HTTPStatus.OK, body)
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json; charset=UTF-8"
            return response
        if path != "/websocket" and not _SOCKJS_PATH.match(path):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")
        if self.faults.refusing:
            self.monitor.refused += 1
            self.monitor.notify()
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service unavailable\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path.partition("?")[0] if ws.request is not None else ""
        stalled = lambda: self.faults.stall_heartbeats  # noqa: E731
        transport: Transport
        if path == "/websocket":
            transport = Transport(ws, stalled)
        else:
            transport = SockJSTransport(ws, stalled, self.sockjs_heartbeat_interval)
        transport.start()
        self._transports.add(transport)
        session: Session | None = None
        try:
            async for frame in ws:
                if transport.closing or not isinstance(frame, str):
                    continue  # binary frames are ignored, as Meteor's transports do
                if session is not None:
                    session.note_activity()
                try:
                    texts = transport.decode(frame)
                except ProtocolError:
                    transport.close(3000, "Broken framing.")
                    continue
                for text in texts:
                    session = self._on_text(transport, session, text)
        except ConnectionClosed:
            pass
        finally:
            self._transports.discard(transport)
            transport.stop_writer()
            if session is not None:
                self._socket_lost(session, transport)

    def _socket_lost(
        self, session: Session, transport: Transport, unsent: list[str] | None = None
    ) -> None:
        """Detach ``transport`` from ``session`` (once) and log the disconnection."""
        if transport.lost:
            return
        transport.lost = True
        kept = session.detach(transport, unsent)
        self.monitor.disconnects.append(DisconnectRecord(session.id, kept))
        self.monitor.notify()

    def _socket_error(self, transport: Transport, reason: str, offending: Any = None) -> None:
        # Written straight to the socket: Meteor does not count these in sentCount.
        msg: dict[str, Any] = {"msg": "error", "reason": reason}
        if offending is not None:
            msg["offendingMessage"] = offending
        transport.enqueue(encode_message(msg))

    def _on_text(self, transport: Transport, session: Session | None, text: str) -> Session | None:
        try:
            msg = parse_message(text)
        except ProtocolError:
            value = _json_or_not(text)
            if value is _NOT_JSON or isinstance(value, dict):
                self._socket_error(transport, "Parse error")
            else:
                self._socket_error(transport, "Bad request", value)
            return session
        self.monitor.record_message(session.id if session is not None else None, msg)
        kind = msg.get("msg")
        if not kind:
            self._socket_error(transport, "Bad request", msg)
        elif kind == "connect":
            if session is not None:
                self._socket_error(transport, "Already connected", msg)
            else:
                return self._connect(transport, msg)
        elif session is None:
            self._socket_error(transport, "Must connect first", msg)
        else:
            session.receive(msg)
        return session

    def _connect(self, transport: Transport, msg: dict[str, Any]) -> Session | None:
        version, support = msg.get("version"), msg.get("support")
        if not (
            isinstance(version, str)
            and isinstance(support, list)
            and all(isinstance(v, str) for v in support)
            and version in support
        ):
            self._fail(transport, self.versions[0])
            return None
        chosen = next((v for v in support if v in self.versions), self.versions[0])
        if version != chosen:
            self._fail(transport, chosen)
            return None
        old = self._sessions.get(msg["session"]) if isinstance(msg.get("session"), str) else None
        if old is not None and old.in_grace:
            if old.can_resume(msg.get("receivedCount")):
                old.version = version
                old.attach(transport)
                self._record_connect(old, resumed=True, transport=transport)
                return old
            old.destroy()  # a stale count means lost messages: that session is over
        ws = transport.ws
        headers = {k.lower(): v for k, v in ws.request.headers.raw_items()} if ws.request else {}
        info = ConnectionInfo(
            id=random_id(), client_address=ws.remote_address, http_headers=headers
        )
        session = Session(self, info.id, version, info)
        self._sessions[session.id] = session
        session.attach(transport)
        self._record_connect(session, resumed=False, transport=transport)
        return session

    def _record_connect(self, session: Session, *, resumed: bool, transport: Transport) -> None:
        record = ConnectRecord(session.id, resumed, session.version, transport.kind)
        self.monitor.connects.append(record)
        self.monitor.notify()

    def _fail(self, transport: Transport, version: str) -> None:
        transport.enqueue(encode_message({"msg": "failed", "version": version}))
        transport.close()


def _json_or_not(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _NOT_JSON
