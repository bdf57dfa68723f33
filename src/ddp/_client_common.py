"""What the two client drivers (:mod:`ddp.asyncio`, :mod:`ddp.sync`) share, free of I/O.

URL translation, option validation, the listener registry (and its hook into the store for
``on_collection_change``), login arguments and results, token freshness, and the error a
client ends with when its core gives up. Nothing here touches a socket, a thread, an event
loop or a clock of its own: each function is given what it needs, so both drivers behave
identically by construction.
"""

from __future__ import annotations

import logging
import math
import random
import ssl as _ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Generic, ParamSpec, TypeAlias
from urllib.parse import urlsplit

from ddp.auth import LoginResult, TokenStore, password_login_params, resume_login_params
from ddp.backoff import Backoff
from ddp.collection import Collection, CollectionChange, CollectionRegistry, CollectionStats
from ddp.events import Connected, Status, StatusChanged
from ddp.exceptions import (
    ConnectionFailedError,
    DDPError,
    InvalidStateError,
    InvocationFailedError,
    LoginError,
    MethodError,
    ProtocolError,
    RateLimitedError,
    RemoteError,
)
from ddp.framing import sockjs_websocket_url, websocket_url
from ddp.protocol import DEFAULT_VERSIONS, ClientProtocol

__all__ = [
    "DEFAULT_MAX_SIZE",
    "SUPPORTED_VERSIONS",
    "TOKEN_EXPIRY_MARGIN",
    "ClientBase",
    "ClientOptions",
    "HeadersLike",
    "ListenerRegistry",
    "ServerURL",
    "add_change_listener",
    "as_login_error",
    "login_params",
    "parse_login_result",
    "parse_url",
    "permanent_failure",
    "token_is_usable",
    "validate_options",
]

logger = logging.getLogger("ddp.client")

SUPPORTED_VERSIONS: tuple[str, ...] = DEFAULT_VERSIONS
"""Every DDP version the core speaks, in order of preference."""

DEFAULT_MAX_SIZE = 64 * 1024 * 1024
"""Largest websocket message accepted (64 MiB): DDP sends a whole document in one frame, and
an initial ``added`` of a big document must not kill the connection, yet a runaway peer
must not exhaust memory either."""

TOKEN_EXPIRY_MARGIN = 60.0
"""A resume token expiring within this many seconds is not used: the login would race the
expiry and fail with "Your session has expired" anyway."""

HeadersLike: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
"""Extra HTTP headers for the websocket handshake: a mapping or (name, value) pairs."""


# -- URLs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerURL:
    """Where a client connects: the websocket URL and the framing to use.

    Attributes:
        base: The server URL to dial: the raw DDP endpoint (``ws(s)://.../websocket``), or
            for SockJS the URL from which every dial derives a fresh
            ``.../sockjs/<3 digits>/<8 chars>/websocket``
            (:func:`ddp.framing.sockjs_websocket_url`).
        sockjs: Whether SockJS framing is used.
        key: The URL as the user gave it: a stable name of the server (the token store key).
    """

    base: str
    sockjs: bool
    key: str

    def dial_url(self, rng: random.Random | None = None) -> str:
        """Return the URL to open now (SockJS URLs carry a new random server/session id)."""
        return sockjs_websocket_url(self.base, rng) if self.sockjs else self.base

    @property
    def secure(self) -> bool:
        """Whether the connection uses TLS."""
        return self.dial_url().startswith("wss://")


def parse_url(url: str, *, sockjs: bool = False) -> ServerURL:
    """Check a server URL and decide how to reach it, the way Meteor's client does.

    ``http(s)://host[/path]``, a bare ``host[:port][/path]`` and ``ddp(i)+sockjs://`` URLs
    are translated by :func:`ddp.framing.websocket_url` (``.../websocket``); ``ws(s)://``
    URLs are used as given. ``ddp+sockjs://`` (TLS) and ``ddpi+sockjs://`` (plain) URLs, or
    ``sockjs=True``, select SockJS framing at ``[/path]/sockjs/<3 digits>/<8 chars>/websocket``
    (a ``ws(s)://`` URL given with ``sockjs=True`` loses a trailing ``/websocket`` first).

    Args:
        url: The URL as the user wrote it.
        sockjs: Force SockJS framing.

    Raises:
        ValueError: ``url`` is empty or relative, has another scheme, no host or a bad port.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("the server URL must be a non-empty string")
    key = url = url.strip()
    lowered = url.lower()
    if lowered.startswith(("ddp+sockjs://", "ddpi+sockjs://")):
        sockjs = True
    elif lowered.startswith(("ws://", "wss://")):
        if sockjs:
            url = url.rstrip("/").removesuffix("/websocket")
        else:
            return _checked(url, url, sockjs=False, key=key)
    elif "://" in url and not lowered.startswith(("http://", "https://")):
        raise ValueError(
            f"unsupported URL scheme in {url!r} (use http, https, ws, wss or ddp+sockjs)"
        )
    if url.partition("://")[2].startswith("/") or url.endswith("://"):
        raise ValueError(f"no host in server URL {url!r}")
    endpoint = sockjs_websocket_url(url) if sockjs else websocket_url(url)
    return _checked(endpoint, url if sockjs else endpoint, sockjs=sockjs, key=key)


def _checked(endpoint: str, base: str, *, sockjs: bool, key: str) -> ServerURL:
    parts = urlsplit(endpoint)
    if not parts.hostname:
        raise ValueError(f"no host in server URL {endpoint!r}")
    try:
        parts.port  # noqa: B018 -- validates the port; urlsplit parses it lazily
    except ValueError as exc:
        raise ValueError(f"bad port in server URL {endpoint!r}") from exc
    return ServerURL(base=base, sockjs=sockjs, key=key)


# -- options ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """The validated options of a client (both drivers take the same ones).

    See :func:`validate_options` for the meaning of each field.
    """

    url: ServerURL
    ssl: _ssl.SSLContext | bool | None
    origin: str | None
    headers: tuple[tuple[str, str], ...]
    compression: bool
    proxy: str | bool | None
    heartbeat_interval: float
    heartbeat_timeout: float
    connect_timeout: float
    backoff: Any
    max_attempts: int | None
    versions: tuple[str, ...]
    token_store: TokenStore | None
    collections: bool
    max_size: int | None

    @property
    def heartbeats(self) -> bool:
        """Whether the client sends heartbeat pings (an interval of 0 turns them off)."""
        return self.heartbeat_interval > 0


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {seconds!r}")
    return seconds


def validate_options(
    url: str,
    *,
    sockjs: bool = False,
    ssl: _ssl.SSLContext | bool | None = None,
    origin: str | None = None,
    headers: HeadersLike | None = None,
    compression: bool = True,
    proxy: str | bool | None = True,
    heartbeat_interval: float = 17.5,
    heartbeat_timeout: float = 15.0,
    connect_timeout: float = 10.0,
    reconnect: Backoff | bool = True,
    max_attempts: int | None = None,
    versions: Sequence[str] = DEFAULT_VERSIONS,
    token_store: TokenStore | None = None,
    collections: bool = True,
    max_size: int | None = DEFAULT_MAX_SIZE,
) -> ClientOptions:
    """Check a client's options and return them normalised.

    Args:
        url: The server URL (see :func:`parse_url`).
        sockjs: Use SockJS framing.
        ssl: An ``ssl.SSLContext`` for ``wss://`` (default: verified with the system CAs),
            or ``False``/``None`` for the default. ``True`` is the same as the default.
        origin: The ``Origin`` header to send.
        headers: Extra handshake headers (cookies, ``Authorization``...).
        compression: Offer permessage-deflate.
        proxy: ``True`` takes the proxy from the environment (websockets' behaviour),
            ``None``/``False`` disables proxies, a string is a proxy URL.
        heartbeat_interval: Idle seconds before the client pings (0 turns heartbeats off).
        heartbeat_timeout: Seconds to wait for the ``pong`` before the connection is dead.
        connect_timeout: Seconds to wait for ``connected`` after dialing.
        reconnect: ``True`` for Meteor's backoff, ``False`` to never reconnect, or a
            ``ddp.backoff.Backoff`` schedule.
        max_attempts: Give up (status FAILED) after this many failed attempts in a row.
        versions: The DDP versions to offer, preferred first.
        token_store: Where resume tokens are kept (default: in memory, per client).
        collections: Keep a local cache of published documents.
        max_size: Largest message accepted, in bytes (``None``: no limit).

    Raises:
        TypeError: An option has the wrong type.
        ValueError: An option has an impossible value.
    """
    server = parse_url(url, sockjs=bool(sockjs))
    if ssl is not None and not isinstance(ssl, bool | _ssl.SSLContext):
        raise TypeError("ssl must be an ssl.SSLContext, True, False or None")
    if ssl not in (None, False, True) and not server.secure:
        raise ValueError("an ssl context was given for a plain ws:// URL")
    if origin is not None and not isinstance(origin, str):
        raise TypeError("origin must be a string")
    pairs: list[tuple[str, str]] = []
    if headers is not None:
        items = headers.items() if isinstance(headers, Mapping) else headers
        for item in items:
            if not (
                isinstance(item, tuple) and len(item) == 2 and all(isinstance(s, str) for s in item)
            ):
                raise TypeError("headers must map header names to string values")
            pairs.append(item)
    if proxy is not None and not isinstance(proxy, bool | str):
        raise TypeError("proxy must be True, False, None or a proxy URL")
    interval = _positive("heartbeat_interval", heartbeat_interval, allow_zero=True)
    timeout = _positive("heartbeat_timeout", heartbeat_timeout)
    connect = _positive("connect_timeout", connect_timeout)
    backoff: Any
    if reconnect is True:
        backoff = None
    elif reconnect is False or reconnect is None:
        backoff = False
    elif isinstance(reconnect, Backoff):
        backoff = reconnect
    else:
        raise TypeError("reconnect must be True, False or a ddp.backoff.Backoff")
    if max_attempts is not None and (
        isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
    ):
        raise ValueError("max_attempts must be None or an integer >= 1")
    if isinstance(versions, str):
        raise TypeError("versions must be a sequence of version strings, not a string")
    offered = tuple(versions)
    if not offered:
        raise ValueError("offer at least one DDP version")
    unknown = [v for v in offered if v not in SUPPORTED_VERSIONS]
    if unknown:
        raise ValueError(f"unsupported DDP versions {unknown}; choose from {SUPPORTED_VERSIONS}")
    if token_store is not None and not all(
        callable(getattr(token_store, m, None)) for m in ("load", "save", "delete")
    ):
        raise TypeError("token_store must have load(), save() and delete() methods")
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1
    ):
        raise ValueError("max_size must be None or a positive integer")
    return ClientOptions(
        url=server,
        ssl=ssl,
        origin=origin,
        headers=tuple(pairs),
        compression=bool(compression),
        proxy=proxy,
        heartbeat_interval=interval,
        heartbeat_timeout=timeout,
        connect_timeout=connect,
        backoff=backoff,
        max_attempts=max_attempts,
        versions=offered,
        token_store=token_store,
        collections=bool(collections),
        max_size=max_size,
    )


# -- listeners --------------------------------------------------------------------------------

P = ParamSpec("P")


class ListenerRegistry(Generic[P]):
    """Callbacks for one kind of notification, each one isolated from the others.

    :meth:`emit` calls every listener in the order they were added; an exception is logged
    (with its traceback) on ``ddp.client`` and never propagates. A listener that returns an
    awaitable (a coroutine function) has it handed to ``on_awaitable`` (the asyncio driver
    runs it as a task); without one, it is closed and a warning is logged.

    Args:
        kind: What is notified, for log messages (``"status"``, ``"connected"``...).
        on_awaitable: What to do with an awaitable a listener returned.
    """

    __slots__ = ("_kind", "_listeners", "_on_awaitable")

    def __init__(
        self, kind: str, on_awaitable: Callable[[Awaitable[Any]], None] | None = None
    ) -> None:
        self._kind = kind
        self._listeners: tuple[Callable[P, Any], ...] = ()
        self._on_awaitable = on_awaitable

    def add(self, callback: Callable[P, Any]) -> Callable[[], None]:
        """Add ``callback``; return a function that removes it (safe to call twice)."""
        if not callable(callback):
            raise TypeError(f"a {self._kind} listener must be callable")
        # A tuple swapped whole keeps emit() safe when a listener adds or removes listeners.
        self._listeners = (*self._listeners, callback)

        def remove() -> None:
            listeners = list(self._listeners)
            for i, cb in enumerate(listeners):
                if cb is callback:
                    del listeners[i]
                    self._listeners = tuple(listeners)
                    return

        return remove

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def __len__(self) -> int:
        return len(self._listeners)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener with the given arguments, logging any exception."""
        for callback in self._listeners:
            try:
                result = callback(*args, **kwargs)
            except Exception:
                logger.exception("%s listener %r raised", self._kind, callback)
                continue
            if result is not None and isinstance(result, Awaitable):
                if self._on_awaitable is not None:
                    self._on_awaitable(result)
                else:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
                    logger.warning(
                        "%s listener %r returned an awaitable; the blocking client cannot "
                        "run coroutines, it was discarded",
                        self._kind,
                        callback,
                    )


def add_change_listener(
    registry: CollectionRegistry | None,
    callback: Callable[[Sequence[CollectionChange]], Any],
    *,
    on_awaitable: Callable[[Awaitable[Any]], None] | None = None,
    defer: Callable[[Callable[[], None]], Any] | None = None,
) -> Callable[[], None]:
    """Hook an ``on_collection_change`` callback to a client's store.

    The store calls its change listeners through its own ``dispatch`` (the blocking
    client's dispatcher thread; at once, on the event loop, for the asyncio client);
    ``defer`` moves the call on once more (the asyncio client passes ``loop.call_soon``, so
    a listener never runs inside the receive loop). The callback is isolated like every
    other listener (see :class:`ListenerRegistry`).

    Args:
        registry: The client's store, or ``None`` when it keeps no collections.
        callback: Called with a tuple of :class:`ddp.collection.CollectionChange`.
        on_awaitable: What to do with an awaitable the callback returns.
        defer: Runs a no-argument function later (``None``: run it now).

    Returns:
        A function that removes the callback; nothing is delivered to it once it returns.

    Raises:
        InvalidStateError: The client keeps no collections (``collections=False``).
        TypeError: ``callback`` is not callable.
    """
    if registry is None:
        raise InvalidStateError("this client keeps no collections (collections=False)")
    listener: ListenerRegistry[[Sequence[CollectionChange]]] = ListenerRegistry(
        "collection change", on_awaitable
    )
    unlisten = listener.add(callback)
    if defer is None:
        unhook = registry.add_listener(listener.emit)
    else:

        def deferred(changes: Sequence[CollectionChange]) -> None:
            defer(partial(listener.emit, changes))

        unhook = registry.add_listener(deferred)

    def remove() -> None:
        unlisten()  # a deferred delivery already queued then reaches nobody
        unhook()

    return remove


# -- failure ----------------------------------------------------------------------------------


def permanent_failure(failure: DDPError | None, url: str) -> DDPError:
    """Return the error a client raises for good once its core has given up (status FAILED).

    Args:
        failure: The core's :attr:`ddp.protocol.ClientProtocol.failure`: a
            :class:`ddp.VersionNegotiationError` or a :class:`ddp.ConnectionFailedError`.
        url: The server, named in the message.
    """
    if failure is None:  # the core reports FAILED only with a failure; stay typed regardless
        return ConnectionFailedError(f"cannot connect to {url}: the client gave up")
    error = type(failure)(f"cannot connect to {url}: {failure}")
    error.__cause__ = failure
    return error


# -- login ------------------------------------------------------------------------------------


def login_params(
    *,
    user: str | None = None,
    password: str | bytes | dict[str, Any] | None = None,
    email: str | None = None,
    token: str | None = None,
    code: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the argument of Meteor's ``login`` method for ``client.login(...)``.

    Exactly one way of logging in must be given: ``user=`` (a username, or an email when it
    contains ``@``) or ``email=`` with ``password=``, or ``token=`` (a resume token), or
    ``params=``: the whole argument, as a custom login handler on the server expects it
    (sent as given, EJSON-encoded).

    Raises:
        TypeError: The combination of arguments is not one of the above.
    """
    if params is not None:
        if any(x is not None for x in (user, email, password, token, code)):
            raise TypeError("login(params=...) takes no user, email, password, token or code")
        if not isinstance(params, Mapping):
            raise TypeError(f"login params must be a mapping, not {type(params).__name__}")
        return dict(params)
    if token is not None:
        if any(x is not None for x in (user, email, password, code)):
            raise TypeError("login(token=...) takes no user, email, password or code")
        return resume_login_params(token)
    if password is None:
        raise TypeError("login() needs password= with user= or email=, or token=")
    if (user is None) == (email is None):
        raise TypeError("login() needs exactly one of user= or email= with password=")
    return password_login_params(user=user, email=email, password=password, code=code)


def parse_login_result(result: Any) -> LoginResult:
    """Turn the result of a successful ``login`` into a :class:`ddp.auth.LoginResult`.

    ``tokenExpires`` may be an aware ``datetime`` (EJSON-decoded), ``{"$date": ms}``, a
    number of milliseconds since the epoch, or missing.

    Raises:
        ProtocolError: The result lacks a string ``id`` or ``token``.
    """
    if not isinstance(result, dict):
        raise ProtocolError(f"login result is not an object: {result!r:.200}")
    user_id = result.get("id")
    token = result.get("token")
    if not isinstance(user_id, str) or not isinstance(token, str) or not token:
        raise ProtocolError("login result lacks a string 'id' and 'token'")
    expires = _as_datetime(result.get("tokenExpires"))
    kind = result.get("type")
    return LoginResult(
        id=user_id,
        token=token,
        token_expires=expires,
        type=kind if isinstance(kind, str) else None,
    )


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, dict) and set(value) == {"$date"}:
        value = value["$date"]
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def token_is_usable(
    result: LoginResult, now: datetime, margin: float = TOKEN_EXPIRY_MARGIN
) -> bool:
    """Whether ``result.token`` may be used to resume at wall-clock time ``now``.

    A token without a known expiry is usable; one expiring within ``margin`` seconds is not.
    """
    if result.token_expires is None:
        return True
    return (result.token_expires - now).total_seconds() > margin


def as_login_error(error: BaseException) -> BaseException:
    """Return ``error`` as a :class:`ddp.LoginError` when the server refused a login.

    Connection-level errors (closed, failed, timeout) pass through unchanged.
    """
    # A rate limit or an invocation-failed keeps its own, more useful type.
    if isinstance(error, LoginError | RateLimitedError | InvocationFailedError):
        return error
    if isinstance(error, MethodError) or type(error) is RemoteError:
        converted = LoginError(error.error, error.reason, error.details)
        converted.__cause__ = error
        return converted
    return error


class ClientBase:
    """What ``AsyncClient`` and ``Client`` share that involves no waiting and no I/O.

    State read from the core, the listener registrations, and the local cache. Each driver
    sets the attributes below in its ``__init__``; everything that waits or writes stays in
    the driver.
    """

    _proto: ClientProtocol
    _options: ClientOptions
    _registry: CollectionRegistry | None
    _user_id: str | None
    _on_status: ListenerRegistry[[StatusChanged]]
    _on_connected: ListenerRegistry[[Connected]]
    _on_reconnect: ListenerRegistry[[Connected]]

    @property
    def url(self) -> str:
        """The websocket URL the client dials (the SockJS prefix with ``sockjs=True``),
        resolved as Meteor does from the URL given (``http://host`` -> ``ws://host/websocket``)."""
        return self._options.url.base

    @property
    def status(self) -> Status:
        """The connection status (:class:`ddp.Status`)."""
        return self._proto.status

    @property
    def session(self) -> str | None:
        """The DDP session id of the current (or last) connection."""
        return self._proto.session

    @property
    def version(self) -> str | None:
        """The negotiated DDP version."""
        return self._proto.version

    @property
    def user_id(self) -> str | None:
        """The logged-in user's id, or ``None``."""
        return self._user_id

    def collection(self, name: str) -> Collection:
        """Return the local cache of collection ``name`` (created empty if unknown).

        Raises:
            ddp.InvalidStateError: The client was made with ``collections=False``.
        """
        if self._registry is None:
            raise InvalidStateError("this client keeps no collections (collections=False)")
        return self._registry.get(name)

    def collection_stats(self) -> list[CollectionStats]:
        """Return the number of cached documents of each collection."""
        return [] if self._registry is None else list(self._registry.stats())

    def on_status(self, callback: Callable[[StatusChanged], Any]) -> Callable[[], None]:
        """Call ``callback(StatusChanged)`` on every status change, in order.

        Returns a function that removes the listener.
        """
        return self._on_status.add(callback)

    def on_connected(self, callback: Callable[[Connected], Any]) -> Callable[[], None]:
        """Call ``callback(Connected)`` every time ``connected`` arrives.

        Returns a function that removes the listener.
        """
        return self._on_connected.add(callback)

    def on_reconnect(self, callback: Callable[[Connected], Any]) -> Callable[[], None]:
        """Call ``callback(Connected)`` when a reconnect starts a *new* session (not on a
        resumed one, whose state stands: Meteor's ``onReconnect``).

        Returns a function that removes the listener.
        """
        return self._on_reconnect.add(callback)
