"""A client's options: the server URL and every setting, validated once for both drivers.

:func:`validate_options` is the one validator: the drivers call it in ``__init__`` and pass
the result (:class:`ClientOptions`) on; the core is built from it by
:func:`ddp._session.Session` and each dial's :class:`ddp._transport.DialSpec` by
:func:`dial_spec`. Nothing else re-checks an option.
"""

from __future__ import annotations

import math
import random
import ssl as _ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypedDict
from urllib.parse import urlsplit

from ddp._transport import DialSpec
from ddp.auth import TokenStore
from ddp.backoff import Backoff
from ddp.framing import sockjs_websocket_url, websocket_url
from ddp.protocol import DEFAULT_VERSIONS

__all__ = [
    "DEFAULT_MAX_SIZE",
    "SUPPORTED_VERSIONS",
    "TRANSPORTS",
    "ClientOptionArgs",
    "ClientOptions",
    "HeadersLike",
    "ServerURL",
    "dial_spec",
    "parse_url",
    "validate_options",
]

SUPPORTED_VERSIONS: tuple[str, ...] = DEFAULT_VERSIONS
"""Every DDP version the core speaks, in order of preference."""

TRANSPORTS: tuple[str, ...] = ("auto", "picows", "websockets")
"""The transports an ``AsyncClient`` can be told to use by name (see ``ddp.asyncio._dial``)."""

DEFAULT_MAX_SIZE = 64 * 1024 * 1024
"""Largest websocket message accepted (64 MiB): DDP sends a whole document in one frame, and
an initial ``added`` of a big document must not kill the connection, yet a runaway peer
must not exhaust memory either."""

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


class ClientOptionArgs(TypedDict, total=False):
    """The keyword options both clients take (each one is described in :func:`validate_options`).

    The clients' ``__init__`` take them as ``**options: Unpack[ClientOptionArgs]``, so both
    accept exactly these names with these types, declared once.
    """

    sockjs: bool
    ssl: _ssl.SSLContext | bool | None
    origin: str | None
    headers: HeadersLike | None
    compression: bool | None
    proxy: str | bool | None
    heartbeat_interval: float
    heartbeat_timeout: float
    connect_timeout: float
    reconnect: Backoff | bool
    max_attempts: int | None
    versions: Sequence[str]
    token_store: TokenStore | None
    collections: bool
    max_size: int | None


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """The validated options of a client (both drivers take the same ones).

    See :func:`validate_options` for the meaning of each field.
    """

    url: ServerURL
    ssl: _ssl.SSLContext | bool | None
    origin: str | None
    headers: tuple[tuple[str, str], ...]
    compression: bool | None
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
    transport: str | Callable[..., Any] = "auto"

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
    compression: bool | None = None,
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
    transport: str | Callable[..., Any] = "auto",
) -> ClientOptions:
    """Check a client's options and return them normalised.

    Args:
        url: The server URL (see :func:`parse_url`).
        sockjs: Use SockJS framing.
        ssl: An ``ssl.SSLContext`` for ``wss://`` (default: verified with the system CAs),
            or ``False``/``None`` for the default. ``True`` is the same as the default.
        origin: The ``Origin`` header to send.
        headers: Extra handshake headers (cookies, ``Authorization``...).
        compression: Offer permessage-deflate (``None``: where the transport supports it).
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
        transport: The asyncio client's transport: ``"auto"``, ``"picows"``,
            ``"websockets"`` (see :data:`TRANSPORTS`), or a dial function.

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
    if not callable(transport):
        if not isinstance(transport, str):
            raise TypeError("transport must be a transport name or a dial function")
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; choose from {TRANSPORTS}")
    if compression is not None and not isinstance(compression, bool):
        raise TypeError("compression must be True, False or None")
    if compression and transport == "picows":
        raise ValueError("picows has no permessage-deflate: use transport='websockets'")
    return ClientOptions(
        url=server,
        ssl=ssl,
        origin=origin,
        headers=tuple(pairs),
        compression=compression,
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
        transport=transport,
    )


def dial_spec(options: ClientOptions) -> DialSpec:
    """Return what a transport needs for the next dial (a fresh SockJS URL each time)."""
    return DialSpec(
        url=options.url.dial_url(),
        ssl=options.ssl if isinstance(options.ssl, _ssl.SSLContext) else None,
        origin=options.origin,
        headers=options.headers,
        compression=options.compression is not False,
        proxy=None if options.proxy is False else options.proxy,
        open_timeout=options.connect_timeout,
        max_size=options.max_size,
        sockjs=options.url.sockjs,
    )
