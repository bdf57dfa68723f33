"""The documentation of the public methods both clients share, written once.

``AsyncClient`` and ``Client`` have the same methods, in the same order, with the same
meaning; only *how* one waits differs (``await`` or blocking). Their docstrings are kept here
and given to both classes by :func:`document`, with the few words that differ filled in per
driver (``<name>`` markers), so that the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["CLIENT_ARGS", "CLIENT_METHODS", "HANDLE_METHODS", "SUBSCRIPTION_DOC", "document"]

T = TypeVar("T", bound=type)

CLIENT_ARGS = """\
Args:
    url: The server, written as for Meteor's client: ``http(s)://host[/path]`` (dials
        ``ws(s)://host[/path]/websocket``), a bare ``host[:port]`` (plain ``ws://``),
        ``ws(s)://.../websocket`` (as given), or ``ddp+sockjs://host`` /
        ``ddpi+sockjs://host`` (SockJS framing, with or without TLS).
<driver_args>

Other Parameters:
    sockjs (bool): Use SockJS framing (Meteor's ``/sockjs`` endpoint) on a plain URL.
        Default ``False``.
    ssl (ssl.SSLContext | None): An ``ssl.SSLContext`` for ``wss://``. By default TLS is
        verified with the system CAs.
    origin (str | None): The ``Origin`` header. Default: none.
    headers (Mapping[str, str] | Iterable[tuple[str, str]] | None): Extra handshake
        headers (cookies, ``Authorization``...).
    compression (bool | None): ``None`` (the default): offer permessage-deflate where
        the transport has it (websockets does, picows does not); ``True``: offer it (an
        ``AsyncClient`` with ``transport="auto"`` then dials websockets); ``False``: never.
    proxy (str | bool | None): ``True`` (the default): the proxy from the environment
        (``https_proxy``...); ``None``/``False``: none; or a proxy URL.
    heartbeat_interval (float): Idle seconds before the client pings; 0 turns
        heartbeats off. Default 17.5.
    heartbeat_timeout (float): Seconds after a ping without any frame from the server
        before the connection is declared dead and dropped. Default 15.
    connect_timeout (float): Seconds for one attempt to reach ``connected``; also how
        long :meth:`connect` waits in all. Default 10.
    reconnect (ddp.Backoff | bool): ``True`` (the default: Meteor's backoff), ``False``
        (fail at the first loss), or a :class:`ddp.backoff.Backoff` schedule.
    max_attempts (int | None): Give up (status ``FAILED``) after this many failed
        attempts in a row. Default ``None``: never.
    versions (Sequence[str]): DDP versions to offer, preferred first. Default
        ``("1", "pre2", "pre1")``.
    token_store (ddp.TokenStore | None): Where the resume token is kept. Default: in
        memory, this client only.
    collections (bool): Keep a local cache of published documents. Default ``True``.
    max_size (int | None): Largest websocket message accepted, in bytes. Default 64 MiB;
        ``None``: no limit.
"""
"""The constructor arguments of both clients, appended to each class's own docstring."""

CLIENT_METHODS: dict[str, str] = {
    "connect": """\
Connect, and return once the server has sent ``connected``.

Calling it again while connected returns at once; while reconnecting, it waits for
the next ``connected``.

Args:
    timeout: Seconds to wait in all (default: the ``connect_timeout`` option). On
        the first connect, running out of time also closes the client.

Raises:
    ddp.DDPTimeoutError: No ``connected`` in time (the message names the last
        error seen).
    ddp.ConnectionFailedError: The client gave up (``reconnect=False``, attempts
        exhausted, or no common DDP version: ``VersionNegotiationError``).
    ddp.ClientClosedError: The client was closed.""",
    "close": """\
Close the connection (sending DDP's ``disconnect`` first) and stop for good.

Every pending call, subscription and wait ends at once with
:class:`ddp.ClientClosedError`. A write stuck on a server that stopped reading does not
hold the close up (the connection is aborted). Idempotent; <close_from>.

Then it waits up to ``timeout`` seconds in all (``None``: no limit) for <close_wait>.""",
    "reconnect": """\
Drop the current connection (if any) and reconnect now.

The pending backoff delay is skipped and no retry is counted. The server may resume
the session (Meteor 3.5), since this is not a deliberate ``disconnect``.""",
    "call": """\
Call a method and return its result.

It returns as soon as the result is in: as in Meteor, the documents the method
wrote may still be on their way. To wait for them, use :meth:`go` and the call's
``data_visible()``.

Args:
    method: The method's name.
    *args: Its arguments (EJSON values).
    timeout: Seconds to wait; on expiry the call is forgotten (its eventual result
        is ignored) and :class:`ddp.DDPTimeoutError` raised.
    wait: Meteor's ``wait`` option (see :meth:`go`).
    no_retry: Meteor's ``noRetry`` option (see :meth:`go`).

Raises:
    ddp.MethodError: The server answered with an error.
    ddp.DDPTimeoutError: ``timeout`` ran out.
    ddp.ConnectionClosedError: The client closed or gave up first.""",
    "go": """\
Start a method call and return its :class:`MethodCall` handle at once.

Calls made while reconnecting are queued and sent once connected.

Args:
    method: The method's name.
    *args: Its arguments (EJSON values).
    wait: Meteor's ``wait``: run after every earlier call, and before every later one.
    no_retry: Do not re-send after a reconnect: fail with
        :class:`ddp.InvocationFailedError` instead if it was sent.

Raises:
    ddp.ClientClosedError: The client is closed.""",
    "subscribe": """\
Subscribe to a publication and return the :class:`Subscription`.

Args:
    name: The publication's name.
    *args: Its arguments (EJSON values). One publication may be subscribed twice.
    wait: Return only once the subscription is ready (its data is in the cache).
    timeout: Seconds to wait for ``ready``; on expiry the subscription is stopped
        and :class:`ddp.DDPTimeoutError` raised.

Raises:
    ddp.SubscriptionError: The server refused it (``RateLimitedError`` is one).
    ddp.DDPTimeoutError: ``timeout`` ran out.
    ddp.ConnectionClosedError: The client closed or gave up first.""",
    "ping": """\
Send a ``ping`` and return the round-trip time in seconds.

While the client is not connected (dialing, reconnecting), the ping waits for the
connection as calls do, and a ping whose connection drops before its ``pong`` is sent
again on the next one (so ``reconnect()`` then ``ping()`` times the new connection);
``timeout`` bounds the whole wait.

Raises:
    ddp.DDPTimeoutError: No ``pong`` in time.
    ddp.ConnectionClosedError: The client closed or gave up first.
    ddp.InvalidStateError: The connection speaks DDP ``pre1``, which has no ping.""",
    "send": """\
Send a raw DDP message (EJSON-encoded), for what the API does not cover.

``message`` is a dict such as ``{"msg": "sub", "id": ..., "name": ...}``; it goes out as
given, and anything the server answers is handled as usual (a ``result`` for an id the
client never used is ignored).

Raises:
    TypeError: ``message`` is not a dict.
    ddp.ProtocolError: Its ``id`` is not a string.
    ddp.EJSONError: A value cannot be encoded.
    ddp.ClientClosedError: The client is closed.
    ddp.InvalidStateError: There is no open connection.""",
    "stats": """\
Return a snapshot of the client's statistics (:class:`ddp.ClientStats`).""",
    "reset_stats": """\
Zero the statistics.""",
    "login": """\
Log in with a password (by username or email), a resume token, or custom params.

The password goes out as its SHA-256 digest (a pre-hashed ``{"digest", "algorithm"}``
is accepted). ``params`` is sent as the ``login`` argument as given, for a custom
login handler on the server (``Accounts.registerLoginHandler``); its result is
handled as a password login's. The token is kept in the token store and used to log
in again first after every new session; a refused ``token=`` is forgotten.

Raises:
    ddp.LoginError: The server refused.
    TypeError: The arguments do not name one way of logging in.""",
    "logout": """\
Log out: forget the resume token first (so a reconnect cannot log in again with
it), then call Meteor's ``logout``.""",
    "on_collection_change": """\
Call ``callback(changes)`` after every batch of data that changed the cache.

``changes`` is a tuple of :class:`ddp.collection.CollectionChange` (collection, op
``"added"``/``"changed"``/``"removed"``, ``_id``, fields): the net effect of one
batch, so a reconnect that swaps the cache reports only what really differs. The
callback runs <change_callbacks>.

Returns:
    A function that removes the listener.

Raises:
    ddp.InvalidStateError: The client was made with ``collections=False``.""",
}
"""Docstring of each public client method (``<name>`` markers are filled per driver)."""


HANDLE_METHODS: dict[str, str] = {
    "result": """\
Wait for the method's result and return it.

Args:
    timeout: Seconds to wait (``None``: until the call ends). Running out of time
        raises but leaves the call running: wait again, or :meth:`cancel` it.

Raises:
    ddp.MethodError: The server answered with an error (``RateLimitedError``,
        ``InvocationFailedError`` and ``LoginError`` are kinds of it).
    ddp.ConnectionClosedError: The client closed or gave up before the result.
    ddp.DDPTimeoutError: ``timeout`` ran out.
    <cancelled>: The call was cancelled.""",
    "data_visible": """\
Wait until every write of the method is in the local cache (DDP's ``updated``).

Raises:
    ddp.ConnectionClosedError: The client closed or gave up first.
    ddp.DDPTimeoutError: ``timeout`` ran out.
    <cancelled>: The call was cancelled.""",
    "ready": """\
Wait until the initial data is in the local cache (DDP's ``ready``).

Raises:
    ddp.SubscriptionError: The server refused or ended it (``RateLimitedError``
        is a kind of it); the whole error object is kept.
    ddp.ConnectionClosedError: The client closed or gave up first.
    ddp.InvalidStateError: It was stopped before it became ready.
    ddp.DDPTimeoutError: ``timeout`` ran out.""",
}
"""Docstring of the waiting methods of ``MethodCall`` and ``Subscription`` (both drivers)."""


def document(cls: T, texts: Mapping[str, str], words: Mapping[str, str]) -> T:
    """Give ``cls``'s methods named in ``texts`` their docstring, markers filled from ``words``.

    A method that has a docstring of its own keeps it.

    Raises:
        KeyError: A method named in ``texts`` is missing, or a marker has no word.
    """
    if cls.__doc__ is not None and "driver_args" in words:
        cls.__doc__ = (
            cls.__doc__.rstrip()
            + "\n\n"
            + _indent(CLIENT_ARGS.replace("<driver_args>", words["driver_args"]))
        )
    for name, text in texts.items():
        function = cls.__dict__.get(name)
        if function is None:
            continue  # a method of the other handle class
        if function.__doc__:
            continue
        for marker, word in words.items():
            text = text.replace(f"<{marker}>", word)
        if "<" in text.replace("<<", ""):
            start = text.index("<")
            marker = text[start + 1 : text.index(">", start)]
            if marker.isidentifier():
                raise KeyError(f"no word for <{marker}> in the docstring of {name}")
        function.__doc__ = text
    return cls


def _indent(text: str) -> str:
    # A class docstring's body is indented by four spaces in the source; match it so that
    # inspect.cleandoc (help(), Sphinx) dedents the appended section with the rest.
    return "\n".join("    " + line if line else line for line in text.splitlines()) + "\n"


SUBSCRIPTION_DOC = """\
A subscription (what :meth:`<client>.subscribe` returns), keyed by its id.

It lives across reconnects (re-sent with the same id) until :meth:`stop` or until the
server ends it; one publication may be subscribed several times.

Attributes:
    id: The DDP subscription id.
    name: The publication's name.
    params: The arguments, as sent."""
"""The docstring of both clients' ``Subscription`` (``<client>``: the client's class)."""
