"""A real DDP server in Python, for tests, demos and users' own tests: no Meteor needed.

It speaks DDP as Meteor's server does (versions ``1``/``pre2``/``pre1``, heartbeats, merge
box, ``updated`` after a method's writes, session resumption of Meteor 3.5, accounts with
resume tokens, the rate-limit error), over raw websockets at ``/websocket`` and SockJS
framing at ``/sockjs/<server>/<session>/websocket``, and it can misbehave on demand.

Usage::

    import asyncio
    import ddp
    from ddp.server import Server

    async def main() -> None:
        async with Server(port=0) as server:          # server.url: ws://127.0.0.1:PORT/websocket
            items = server.collection("items")       # reactive, in memory
            server.accounts.add_user("alice", "secret")

            @server.method("add")
            def add(ctx, a, b):                      # ctx: MethodContext (user_id, unblock(), ...)
                return a + b

            @server.method("items.insert")
            def insert(ctx, text):
                if ctx.user_id is None:
                    raise ddp.MethodError(403, "Log in first")
                return items.insert({"text": text, "owner": ctx.user_id})

            @server.publish("items")
            def publish_items(sub, owner=None):      # sub: Subscription (added(), ready(), ...)
                return items.find({"owner": owner} if owner else None)

            chat = server.stream("room-messages")    # Meteor streams, as Rocket.Chat's
            chat.emit("GENERAL", {"msg": "hi"})      # to subscribers of event "GENERAL"

            async with ddp.AsyncClient(server.url) as client:
                print(await client.call("add", 2, 40))

    asyncio.run(main())

For a blocking test, run it in a thread::

    from ddp.server import server_in_thread

    with server_in_thread(heartbeat_interval=0) as st:
        st.call(st.server.collection("items").insert, {"text": "hi"})
        with ddp.Client(st.url) as client:
            ...
        st.call(st.server.faults.drop_all)                 # state is touched on the loop
        st.run(st.server.wait_for_connections(2))          # coroutines too

Handlers. A method handler is ``fn(ctx: MethodContext, *params)``, a publication handler
``fn(sub: Subscription, *params)``; either may be ``async def``. Params arrive EJSON-decoded.
A method's return value is its ``result`` (``None``: no ``result`` field, as Meteor omits
``undefined``); raising :class:`ddp.MethodError` sends that error; any other exception sends
``500 "Internal server error"`` and is logged; params that do not fit the signature get
``400 "Match failed"``. ``ctx.unblock()`` / ``sub.unblock()`` let later messages of the
connection run meanwhile (messages are otherwise handled one at a time, in order). A
publication returns a :class:`Cursor` (``server.collection(name).find(selector)``, selector
an id, a dict of equalities or a predicate), a list of cursors of distinct collections, or
``None`` and publishes by hand (``sub.added/changed/removed/ready/error/stop``).
``server.publish(None)`` registers a universal publication (Meteor's ``publish(null)``): it
runs for every connection without a ``sub`` and re-runs when the user changes.

Streams (``server.stream(name, allow_read=None, allow_emit=None)``): Meteor's streamer
protocol as Rocket.Chat uses it. Clients subscribe to ``stream-<name>`` with params
``[event_name, false]`` (or ``[event_name, {"useCollection": false, "args": [...]}]``);
``stream.emit(event_name, *args)``, safe from any thread, sends each subscriber of that event
one ``changed`` message on collection ``stream-<name>``, document id ``"id"``, fields
``{"eventName": event_name, "args": [...]}``: in emit order and never merged.

Accounts (``server.accounts``): ``add_user(username, password, email=None)``,
``add_login_handler(fn)``, ``issue_token(user_id)``, ``revoke_tokens()``, ``clock`` (to expire
tokens in tests). Built-in methods ``login`` and ``logout``; logging in or out re-runs the
connection's subscriptions and sends only the difference. Users' documents live in the
``users`` collection, and, as in Meteor, every connection receives its logged-in user's
``username``, ``emails`` and ``profile`` there (before the ``login`` result), removed again
on ``logout``.

Rate limits: ``server.rate_limit(name, max_calls, per_seconds, kind="method"|"subscription")``
per connection; handlers may raise :func:`rate_limited_error` themselves.

Fault injection (``server.faults``):

- ``drop(session_id, close_frame=False, keep_session=True)`` / ``drop_all(...)``: cut sockets
  (TCP abort, or a close frame). The server notices at once: the session stays resumable
  (unless ``keep_session=False``) and what it had not yet written is queued for the resume,
  so a client that resumes with its exact count always succeeds. A server-initiated close
  with no grace period is ``server.session(session_id).close()``.
- ``refuse_connections(seconds=None)`` / ``accept_connections()``: HTTP 503 to new handshakes.
- ``result_delay = 0.5``: methods answer late; ``results_after_updated = True``: ``updated``
  before ``result``; ``stall_heartbeats = True``: no pongs, no pings, no SockJS ``h``.
- ``send_raw(session_id | None, text, framed=True)``: any text (malformed, huge, unknown msg),
  not counted in ``sent_count``; ``send_message(session_id | None, msg)``: a message through
  the session, counted and queued like a real one.
- ``restart(refuse_for=None)``: cut every socket and forget every session (same port; data
  and users stay): clients get a new session. ``reset()`` turns every switch off.

Waiting deterministically (``server.monitor`` holds the log; every wait raises
:class:`ddp.DDPTimeoutError` after ``timeout``): ``await server.wait_for_connections(n)``
(``n`` ``connected`` sent in total, resumed ones included; returns a :class:`ConnectRecord`
with ``session_id`` and ``resumed``), ``await server.wait_for_disconnections(n)``,
``await server.wait_for_message("method", count=1, session_id=None, predicate=None)``,
``await server.wait_until(lambda: ...)``. ``server.sessions`` maps ids to live
:class:`Session` objects (``connected``, ``in_grace``, ``sent_count``, ``user_id``,
``subscriptions``).
"""

from __future__ import annotations

from ddp.server.accounts import Accounts, User
from ddp.server.collection import Cursor, ObserveHandle, ServerCollection
from ddp.server.faults import Faults
from ddp.server.mergebox import CLEARED, MergeBox
from ddp.server.method import MethodContext
from ddp.server.monitor import ConnectRecord, DisconnectRecord, Monitor, Received
from ddp.server.publication import Subscription
from ddp.server.ratelimit import RateLimiter, rate_limited_error
from ddp.server.server import SUPPORTED_VERSIONS, Server
from ddp.server.session import ConnectionInfo, Session
from ddp.server.stream import STREAM_EVENT_ID, STREAM_PREFIX, ServerStream
from ddp.server.thread import ServerThread, server_in_thread

__all__ = [
    "CLEARED",
    "STREAM_EVENT_ID",
    "STREAM_PREFIX",
    "SUPPORTED_VERSIONS",
    "Accounts",
    "ConnectRecord",
    "ConnectionInfo",
    "Cursor",
    "DisconnectRecord",
    "Faults",
    "MergeBox",
    "MethodContext",
    "Monitor",
    "ObserveHandle",
    "RateLimiter",
    "Received",
    "Server",
    "ServerCollection",
    "ServerStream",
    "ServerThread",
    "Session",
    "Subscription",
    "User",
    "rate_limited_error",
    "server_in_thread",
]
