"""``ddp.Client``: the blocking DDP client, on ``websockets.sync`` and plain threads.

Threads and locking (why it is race-free)
-----------------------------------------
A client runs two threads of its own, both daemons, both joined by :meth:`Client.close`:

* the **I/O thread** dials, receives, runs the protocol core's timers and sleeps the
  reconnect delays (interruptibly, on a :class:`threading.Event`);
* the **dispatcher thread** (:mod:`ddp.sync.dispatcher`) runs user callbacks in order.

(``websockets.sync`` adds a reader thread per connection; it only fills a queue that the I/O
thread drains.)

All client state -- the Sans-I/O core (:class:`ddp.protocol.ClientProtocol`), the tables of
calls, subscriptions and pings, the current transport -- is guarded by ONE lock,
``Client._lock``. Whoever holds it may drive the core, and must then *pump*: write what the
core wants written (in the core's order, still under the lock, so frames never interleave)
and apply the events it produced (resolve futures, queue listener calls). The I/O thread
takes the lock for each burst of received frames (at most ``_BURST`` of them, so user threads
are never starved) and for timers; a user thread takes it for one command (``call``,
``subscribe``, ``ping``...). Futures are only ever completed or cancelled under the lock, so
a result can never race a cancellation. Waiting happens on the futures, outside the lock.

Nothing under the lock runs user code: listener and observer callbacks are queued to the
dispatcher thread. The one blocking operation under the lock is a socket write; should a
server stop reading until our send buffer fills, the I/O thread's timer path gives up
waiting for the lock after the heartbeat timeout and aborts the socket, which frees the
writer (see ``_run_timers``).

The process can exit while a client is open (its threads are daemons), which also means a
script that does not wait for anything exits before callbacks run: use ``with Client(...)``
or call :meth:`Client.close` when done, and wait on results, ``ready()`` or events.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ddp._client_common import (
    DEFAULT_MAX_SIZE,
    ClientBase,
    ClientOptions,
    HeadersLike,
    ListenerRegistry,
    add_change_listener,
    as_login_error,
    login_params,
    parse_login_result,
    permanent_failure,
    token_is_usable,
    validate_options,
)
from ddp.auth import LoginResult, MemoryTokenStore, TokenStore
from ddp.collection import CollectionChange, CollectionRegistry
from ddp.events import (
    Connected,
    ConnectionLost,
    Event,
    LoginResumed,
    MethodDataVisible,
    MethodResult,
    Pong,
    ProtocolViolation,
    ServerErrorMessage,
    Status,
    StatusChanged,
    SubscriptionReady,
    SubscriptionStopped,
    TransportShouldClose,
)
from ddp.exceptions import (
    ClientClosedError,
    ConnectionClosedError,
    ConnectionFailedError,
    DDPError,
    DDPTimeoutError,
    InvalidStateError,
)
from ddp.protocol import DEFAULT_VERSIONS, ClientProtocol
from ddp.stats import ClientStats, StatsRecorder
from ddp.sync.calls import MethodCall, Subscription, wait_for
from ddp.sync.dispatcher import Dispatcher
from ddp.sync.transport import Transport, TransportClosed, dial

__all__ = ["Client"]

logger = logging.getLogger("ddp.client")

_BURST = 512
"""Frames handled per hold of the lock before user threads get a turn."""

_MAX_WAIT = 5.0
"""Longest blocking receive: a safety net should a core deadline move earlier meanwhile."""

_ids = itertools.count(1)

_NEW, _RUNNING, _CLOSED = "new", "running", "closed"


class Client(ClientBase):
    """A blocking DDP client: methods, subscriptions, a local cache, reconnects.

    Use it as a context manager, which connects and closes::

        with ddp.Client("wss://chat.example.com") as client:
            client.login(user="alice", password="secret")
            print(client.call("add", 2, 40))

    Every method may be called from any thread. Callbacks (listeners, ``observe``) run on
    the client's dispatcher thread, one at a time, in order.

    Args:
        url: The server: ``https://host``, ``host:port``, ``ws(s)://host/websocket``,
            ``ddp+sockjs://host`` (see :func:`ddp._client_common.parse_url`).
        sockjs: Use SockJS framing on a plain URL.
        ssl: An ``ssl.SSLContext`` for ``wss://`` (default: verified with the system CAs).
        origin: The ``Origin`` header.
        headers: Extra handshake headers.
        compression: Offer permessage-deflate.
        proxy: ``True`` (from the environment), ``None``/``False`` (none) or a proxy URL.
        heartbeat_interval: Idle seconds before the client pings (0: no heartbeats).
        heartbeat_timeout: Seconds without any frame after a ping before the connection is
            declared dead.
        connect_timeout: Seconds :meth:`connect` waits for ``connected`` (also the limit of
            each connection attempt).
        reconnect: ``True`` (Meteor's backoff), ``False`` (fail at the first loss) or a
            :class:`ddp.backoff.Backoff`.
        max_attempts: Give up after this many failed attempts in a row.
        versions: DDP versions to offer, preferred first.
        token_store: Where resume tokens live (default: in memory, for this client).
        collections: Keep a local cache of published documents.
        max_size: Largest message accepted, in bytes.
    """

    def __init__(
        self,
        url: str,
        *,
        sockjs: bool = False,
        ssl: Any = None,
        origin: str | None = None,
        headers: HeadersLike | None = None,
        compression: bool = True,
        proxy: str | bool | None = True,
        heartbeat_interval: float = 17.5,
        heartbeat_timeout: float = 15.0,
        connect_timeout: float = 10.0,
        reconnect: Any = True,
        max_attempts: int | None = None,
        versions: Sequence[str] = DEFAULT_VERSIONS,
        token_store: TokenStore | None = None,
        collections: bool = True,
        max_size: int | None = DEFAULT_MAX_SIZE,
    ) -> None:
        options = validate_options(
            url,
            sockjs=sockjs,
            ssl=ssl,
            origin=origin,
            headers=headers,
            compression=compression,
            proxy=proxy,
            heartbeat_interval=heartbeat_interval,
            heartbeat_timeout=heartbeat_timeout,
            connect_timeout=connect_timeout,
            reconnect=reconnect,
            max_attempts=max_attempts,
            versions=versions,
            token_store=token_store,
            collections=collections,
            max_size=max_size,
        )
        self._options: ClientOptions = options
        n = next(_ids)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._dispatcher = Dispatcher(f"ddp-callbacks-{n}")
        self._registry = (
            CollectionRegistry(dispatch=self._dispatcher.submit) if options.collections else None
        )
        self._proto = ClientProtocol(
            store=self._registry,
            versions=options.versions,
            heartbeat_interval=options.heartbeat_interval,
            heartbeat_timeout=options.heartbeat_timeout,
            connect_timeout=options.connect_timeout,
            backoff=options.backoff,
            max_attempts=options.max_attempts,
        )
        self._token_store: TokenStore = (
            options.token_store if options.token_store is not None else MemoryTokenStore()
        )
        self._stats = StatsRecorder(time.monotonic())
        self._ping_base = (0, 0)
        self._calls: dict[str, MethodCall] = {}
        self._subs: dict[str, Subscription] = {}
        self._pings: dict[str, tuple[Future[float], float]] = {}
        self._transport: Transport | None = None
        self._close_reason: str | None = None
        self._user_id: str | None = None
        self._state = _NEW
        self._failure: DDPError | None = None
        self._last_error: str | None = None
        self._wake = threading.Event()
        self._io_thread = threading.Thread(target=self._io_main, name=f"ddp-io-{n}", daemon=True)
        self._dialing = False
        self._on_status: ListenerRegistry[[StatusChanged]] = ListenerRegistry("status")
        self._on_connected: ListenerRegistry[[Connected]] = ListenerRegistry("connected")
        self._on_reconnect: ListenerRegistry[[Connected]] = ListenerRegistry("reconnect")

    # -- lifecycle ----------------------------------------------------------------------
    def connect(self, timeout: float | None = None) -> None:
        """Connect, and return once the server has sent ``connected``.

        Calling it again while connected returns at once; while reconnecting, it waits for
        the next ``connected``.

        Args:
            timeout: Seconds to wait in all (default: the ``connect_timeout`` option). On
                the first connect, running out of time also closes the client.

        Raises:
            ddp.DDPTimeoutError: ``connected`` did not arrive in time.
            ddp.ConnectionFailedError: The client gave up (``reconnect=False``,
                ``max_attempts``, or no DDP version in common).
            ddp.ClientClosedError: The client is closed.
        """
        with self._lock:
            if self._state == _CLOSED:
                raise ClientClosedError("the client is closed")
            first = self._state == _NEW
            if first:
                self._state = _RUNNING
                self._dispatcher.start()
                self._io_thread.start()
        limit = self._options.connect_timeout if timeout is None else timeout
        with self._changed:
            self._changed.wait_for(
                lambda: (
                    self._proto.status is Status.CONNECTED
                    or self._failure is not None
                    or self._closed()
                ),
                limit,
            )
            connected = self._proto.status is Status.CONNECTED
            failure, closed = self._failure, self._closed()
        if connected:
            return
        if failure is not None:
            self.close()
            raise failure
        if closed:
            raise ClientClosedError("the client was closed while connecting")
        if first:
            self.close()
        detail = f" (last error: {self._last_error})" if self._last_error else ""
        raise DDPTimeoutError(f"could not connect to {self.url} within {limit} s{detail}")

    def close(self, timeout: float | None = 10.0) -> None:
        """Close the connection and end every waiter with :class:`ddp.ClientClosedError`.

        Sends DDP's ``disconnect`` first (the server then drops the session at once), waits
        for the I/O thread and for callbacks already queued (up to ``timeout`` seconds), and
        never reconnects again. Idempotent; callable from a callback.
        """
        with self._lock:
            if self._state == _CLOSED:
                return
            started = self._state == _RUNNING
            self._state = _CLOSED
            self._proto.close()
            self._pump()
            transport = self._transport
            self._changed.notify_all()
            # A dial cannot be interrupted; the I/O thread ends by itself once it returns
            # (within connect_timeout) and finds the client closed.
            join = started and not self._dialing
        self._wake.set()
        if transport is not None:
            transport.close()
        if join and threading.current_thread() is not self._io_thread:
            self._io_thread.join(timeout)
        self._fail_everything(ClientClosedError("the client was closed"))
        self._dispatcher.stop(timeout)

    def reconnect(self) -> None:
        """Drop the current connection (if any) and connect again now.

        The attempt does not count as a retry. Calls and subscriptions carry over as on any
        reconnect.
        """
        with self._lock:
            self._require_running()
            self._proto.reconnect_now()
            transport = self._transport
            if transport is not None:
                self._close_reason = "reconnect requested"
        self._wake.set()
        if transport is not None:
            transport.close()

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- state --------------------------------------------------------------------------
    # -- methods ------------------------------------------------------------------------
    def call(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,
        wait: bool = False,
        no_retry: bool = False,
    ) -> Any:
        """Call a method and return its result.

        It returns as soon as the result is in: as in Meteor, the documents the method
        wrote may still be on their way. To wait for them, use :meth:`go` and the call's
        ``data_visible()``.

        Args:
            method: The method's name.
            *args: Its arguments (EJSON values).
            timeout: Seconds to wait; when it runs out the call is forgotten (its result,
                should it come, is ignored) and :class:`ddp.DDPTimeoutError` raised.
            wait: Meteor's ``wait``: run alone, after every earlier call finished.
            no_retry: Do not re-send after a dropped connection; fail with
                :class:`ddp.InvocationFailedError` instead.

        Raises:
            ddp.MethodError: The server answered with an error.
            ddp.ConnectionClosedError: The client closed or gave up first.
            ddp.DDPTimeoutError: ``timeout`` ran out.
        """
        pending = self.go(method, *args, wait=wait, no_retry=no_retry)
        try:
            return pending.result(timeout)
        except DDPTimeoutError:
            pending.cancel()
            raise

    def go(self, method: str, *args: Any, wait: bool = False, no_retry: bool = False) -> MethodCall:
        """Start a method call and return its :class:`MethodCall` at once.

        Calls made while reconnecting are queued and sent once connected.
        """
        return self._start_call(method, args, wait=wait, no_retry=no_retry, hook=None)

    def _start_call(
        self,
        method: str,
        params: tuple[Any, ...],
        *,
        wait: bool,
        no_retry: bool,
        hook: Callable[[Any, DDPError | None], Any] | None,
    ) -> MethodCall:
        if not isinstance(method, str):
            raise TypeError(f"method name must be a string, not {type(method).__name__}")
        with self._lock:
            self._require_running()
            method_id = self._proto.call(method, params, wait=wait, no_retry=no_retry)
            pending = MethodCall(self, method_id, method, params)
            pending._sent_at = time.monotonic()
            pending._hook = hook
            self._calls[method_id] = pending
            self._pump()
        return pending

    def _forget_call(self, method_id: str) -> None:
        """Cancel a call locally (``MethodCall.cancel``)."""
        with self._lock:
            pending = self._calls.pop(method_id, None)
            if pending is None:
                return
            if self._state == _RUNNING:
                self._proto.cancel(method_id)
            pending._result.cancel()
            pending._visible.cancel()

    # -- subscriptions ------------------------------------------------------------------
    def subscribe(
        self, name: str, *args: Any, wait: bool = True, timeout: float | None = None
    ) -> Subscription:
        """Subscribe to a publication and return its :class:`Subscription`.

        Args:
            name: The publication.
            *args: Its arguments. One publication may be subscribed several times.
            wait: Wait until it is ready (the default); ``False`` returns at once.
            timeout: Seconds to wait for ``ready``; when it runs out the subscription is
                stopped and :class:`ddp.DDPTimeoutError` raised.

        Raises:
            ddp.SubscriptionError: The server refused it (``RateLimitedError`` included).
            ddp.ConnectionClosedError: The client closed or gave up first.
            ddp.DDPTimeoutError: ``timeout`` ran out.
        """
        if not isinstance(name, str):
            raise TypeError(f"publication name must be a string, not {type(name).__name__}")
        with self._lock:
            self._require_running()
            sub_id = self._proto.subscribe(name, args)
            sub = Subscription(self, sub_id, name, args)
            self._subs[sub_id] = sub
            self._pump()
        if wait:
            try:
                sub.ready(timeout)
            except DDPTimeoutError:
                sub.stop()
                raise
        return sub

    def _stop_subscription(self, sub: Subscription) -> None:
        with self._lock:
            if self._subs.pop(sub.id, None) is None:
                return
            if self._state == _RUNNING:
                self._proto.unsubscribe(sub.id)
                self._pump()
            sub._set_stopped(None)

    # -- collections --------------------------------------------------------------------
    # -- misc ---------------------------------------------------------------------------
    def ping(self, timeout: float | None = None) -> float:
        """Send a DDP ``ping`` and return the round-trip time in seconds.

        Raises:
            ddp.ConnectionClosedError: The connection dropped before the ``pong``.
            ddp.DDPTimeoutError: ``timeout`` ran out.
        """
        with self._lock:
            self._require_running()
            ping_id = self._proto.ping()
            future: Future[float] = Future()
            self._pings[ping_id] = (future, time.monotonic())
            self._pump()
        try:
            return float(wait_for(future, timeout, "ping"))
        finally:
            with self._lock:
                self._pings.pop(ping_id, None)

    def send(self, message: dict[str, Any]) -> None:
        """Send a raw DDP message (EJSON-encoded), for what the API does not cover."""
        if not isinstance(message, dict):
            raise TypeError("a DDP message is a dict")
        with self._lock:
            self._require_running()
            self._proto.send_raw(message)
            self._pump()

    def stats(self) -> ClientStats:
        """Return a snapshot of this client's statistics."""
        with self._lock:
            self._sync_ping_counters()
            collections = () if self._registry is None else self._registry.stats()
            return self._stats.snapshot(time.monotonic(), collections)

    def reset_stats(self) -> None:
        """Zero every statistic."""
        with self._lock:
            self._stats.reset(time.monotonic())
            self._ping_base = self._ping_counters()

    def _ping_counters(self) -> tuple[int, int]:
        proto = self._proto
        return (int(getattr(proto, "pings_sent", 0)), int(getattr(proto, "pings_received", 0)))

    def _sync_ping_counters(self) -> None:
        sent, received = self._ping_counters()
        self._stats.pings_sent = sent - self._ping_base[0]
        self._stats.pings_received = received - self._ping_base[1]

    # -- login --------------------------------------------------------------------------
    def login(
        self,
        user: str | None = None,
        password: str | bytes | dict[str, Any] | None = None,
        *,
        email: str | None = None,
        token: str | None = None,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> LoginResult:
        """Log in with a password (by username or email), a resume token, or custom params.

        The password goes out as Meteor's SHA-256 digest; a pre-hashed
        ``{"digest", "algorithm"}`` is accepted. ``params`` is sent as the ``login``
        argument as given, for a custom login handler on the server
        (``Accounts.registerLoginHandler``); its result is handled as a password login's.
        The resume token is kept (in the token store) and logs in again first after every
        reconnect to a new session.

        Raises:
            ddp.LoginError: The server refused.
            TypeError: The arguments are not one of the forms above.
        """
        login_arg = login_params(
            user=user, password=password, email=email, token=token, code=code, params=params
        )
        pending = self._start_call(
            "login", (login_arg,), wait=True, no_retry=False, hook=self._logged_in
        )
        result: LoginResult = wait_for(pending._result, timeout, "login")
        return result

    def _logged_in(self, result: Any, error: DDPError | None) -> LoginResult:
        """Runs on the I/O thread under the lock as the login result arrives, so the token
        is in place before any later reconnect."""
        if error is not None:
            raise as_login_error(error)
        login = parse_login_result(result)
        self._proto.set_resume_token(login.token)
        self._user_id = login.id
        self._store_token(login)
        return login

    def logout(self, timeout: float | None = None) -> None:
        """Log out: forget the resume token and call Meteor's ``logout``."""
        with self._lock:
            self._require_running()
            # Forgotten first, so a reconnect during the logout cannot log in again.
            self._proto.set_resume_token(None)
            self._user_id = None
            self._delete_token()
        self.call("logout", wait=True, timeout=timeout)

    def _store_token(self, login: LoginResult) -> None:
        try:
            self._token_store.save(self._options.url.key, login)
        except Exception:
            logger.exception("the token store failed to save the resume token")

    def _delete_token(self) -> None:
        try:
            self._token_store.delete(self._options.url.key)
        except Exception:
            logger.exception("the token store failed to delete the resume token")

    def _load_usable_token(self) -> str | None:
        """Return the stored resume token if it has not expired (wall clock), else drop it."""
        try:
            stored = self._token_store.load(self._options.url.key)
        except Exception:
            logger.exception("the token store failed to load the resume token")
            return None
        if stored is None:
            return None
        if token_is_usable(stored, datetime.now(UTC)):
            return stored.token
        logger.info("the stored resume token has expired; it is not used")
        self._delete_token()
        return None

    # -- listeners ----------------------------------------------------------------------
    def on_collection_change(
        self, callback: Callable[[Sequence[CollectionChange]], Any]
    ) -> Callable[[], None]:
        """Call ``callback(changes)`` after every batch of data that changed the cache.

        ``changes`` is a tuple of :class:`ddp.collection.CollectionChange` (collection, op
        ``"added"``/``"changed"``/``"removed"``, ``_id``, fields): the net effect of one
        batch, so a reconnect that swaps the cache reports only what really differs. The
        callback runs on the dispatcher thread, after the observers of the same batch.

        Returns:
            A function that removes the listener.

        Raises:
            ddp.InvalidStateError: The client was made with ``collections=False``.
        """
        return add_change_listener(self._registry, callback)

    # -- internals: all below run with self._lock held unless said otherwise -------------
    def _closed(self) -> bool:
        return self._state == _CLOSED

    def _require_running(self) -> None:
        if self._state == _RUNNING:
            if self._failure is not None:
                raise self._failure
            return
        if self._state == _NEW:
            raise InvalidStateError("connect() the client first (or use `with Client(...)`)")
        raise ClientClosedError("the client is closed")

    def _pump(self) -> None:
        """Write what the core queued, then apply the events it produced."""
        proto = self._proto
        transport = self._transport
        if transport is not None:
            texts = proto.data_to_send()
            if texts:
                try:
                    transport.send(texts)
                except TransportClosed:
                    # The I/O thread sees the closed socket on its next receive; the core
                    # re-sends (or fails, for no_retry) what was lost after the reconnect.
                    pass
        events = proto.events_received()
        if events:
            self._handle(events)

    def _handle(self, events: Sequence[Event]) -> None:
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)

    def _on_method_result(self, event: MethodResult) -> None:
        pending = self._calls.get(event.method_id)
        if pending is None:
            return
        value: Any = event.result
        error: BaseException | None = event.error
        hook = pending._hook
        if hook is not None:
            try:
                value, error = hook(value, event.error), None
            except Exception as exc:
                value, error = None, exc
        if error is None:
            self._stats.record_rtt(time.monotonic() - pending._sent_at)
        pending._set_result(value, error)
        if pending._visible.done():
            del self._calls[event.method_id]

    def _on_data_visible(self, event: MethodDataVisible) -> None:
        pending = self._calls.get(event.method_id)
        if pending is None:
            return
        pending._set_visible(event.error)
        if pending._result.done():
            del self._calls[event.method_id]

    def _on_sub_ready(self, event: SubscriptionReady) -> None:
        sub = self._subs.get(event.sub_id)
        if sub is not None:
            sub._set_ready()

    def _on_sub_stopped(self, event: SubscriptionStopped) -> None:
        sub = self._subs.pop(event.sub_id, None)
        if sub is not None:
            sub._set_stopped(event.error)

    def _on_pong(self, event: Pong) -> None:
        entry = self._pings.pop(event.ping_id, None) if event.ping_id is not None else None
        if entry is not None:
            future, sent_at = entry
            future.set_result(time.monotonic() - sent_at)

    def _on_status_changed(self, event: StatusChanged) -> None:
        if event.new is Status.FAILED:
            self._failure = permanent_failure(self._proto.failure, self.url)
        self._changed.notify_all()
        if self._on_status:
            self._dispatcher.submit(partial(self._on_status.emit, event))

    def _on_connected_event(self, event: Connected) -> None:
        self._last_error = None
        self._changed.notify_all()
        if self._on_connected:
            self._dispatcher.submit(partial(self._on_connected.emit, event))
        if event.reconnect and not event.resumed and self._on_reconnect:
            self._dispatcher.submit(partial(self._on_reconnect.emit, event))

    def _on_connection_lost(self, event: ConnectionLost) -> None:
        self._last_error = event.reason
        logger.info("connection to %s lost: %s", self.url, event.reason)
        # A ping's pong cannot come over another connection.
        pings, self._pings = self._pings, {}
        for future, _ in pings.values():
            future.set_exception(ConnectionClosedError(f"connection lost: {event.reason}"))

    def _on_transport_should_close(self, event: TransportShouldClose) -> None:
        self._close_reason = event.reason
        if self._transport is not None:
            self._transport.abort()

    def _on_login_resumed(self, event: LoginResumed) -> None:
        if event.error is not None:
            logger.warning("resuming the login after a reconnect failed: %s", event.error)
            self._user_id = None
            self._delete_token()
            return
        try:
            login = parse_login_result(event.result)
        except DDPError as exc:
            logger.warning("bad result of the resume login: %s", exc)
            return
        self._user_id = login.id
        self._store_token(login)

    def _on_server_error(self, event: ServerErrorMessage) -> None:
        logger.warning(
            "the server rejected a message: %s (%r)", event.reason, event.offending_message
        )

    def _on_protocol_violation(self, event: ProtocolViolation) -> None:
        self._stats.read_errors += 1

    def _fail_everything(self, error: DDPError) -> None:
        """Safety net after the I/O thread ended: no future may stay pending."""
        with self._lock:
            calls, self._calls = self._calls, {}
            subs, self._subs = self._subs, {}
            pings, self._pings = self._pings, {}
            for pending in calls.values():
                for future in (pending._result, pending._visible):
                    if not future.done():
                        future.set_exception(error)
            for sub in subs.values():
                sub._set_stopped(error)
            for future, _ in pings.values():
                future.set_exception(error)
            self._changed.notify_all()

    # -- the I/O thread -----------------------------------------------------------------
    def _io_main(self) -> None:
        try:
            self._connection_loop()
        except BaseException as exc:  # a bug; waiters must still end
            logger.exception("the DDP client's I/O thread crashed")
            with self._lock:
                self._failure = ConnectionFailedError(f"internal error: {exc!r}")
                self._changed.notify_all()
            self._fail_everything(self._failure)
            transport = self._transport
            if transport is not None:
                transport.abort()

    def _connection_loop(self) -> None:
        proto = self._proto
        monotonic = time.monotonic
        opened_before = False
        while True:
            with self._lock:
                if self._state != _RUNNING:
                    return
                proto.set_resume_token(self._load_usable_token())
                proto.dialing(monotonic())
                self._pump()
                self._dialing = True
            self._wake.clear()
            try:
                transport = dial(self._options, self._options.url.dial_url())
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self._dialing = False
                    self._last_error = reason
                    self._stats.write_errors += 1
                    delay = proto.dial_failed(monotonic(), reason)
                    self._pump()
                    self._changed.notify_all()
                if delay is None:
                    return
                self._wake.wait(delay)
                continue
            with self._lock:
                self._dialing = False
                if self._state != _RUNNING:
                    transport.close()
                    proto.dial_failed(monotonic(), "the client was closed")
                    self._pump()
                    return
                transport.stats = self._stats
                transport.trace = logger.isEnabledFor(logging.DEBUG)
                self._stats.connection_opened(monotonic(), reconnect=opened_before)
                opened_before = True
                self._transport = transport
                self._close_reason = None
                proto.connection_made(monotonic())
                self._pump()
            reason = self._receive_loop(transport)
            transport.close() if self._close_reason is None else transport.abort()
            with self._lock:
                self._transport = None
                self._stats.connection_closed()
                delay = proto.connection_lost(monotonic(), self._close_reason or reason)
                self._pump()
                self._changed.notify_all()
            if delay is None:
                return
            if delay > 0:
                self._wake.wait(delay)

    def _receive_loop(self, transport: Transport) -> str:
        """Receive until the transport closes; return why it closed."""
        proto = self._proto
        lock = self._lock
        recv = transport.recv
        receive_text = proto.receive_text
        monotonic = time.monotonic
        trace = transport.trace
        try:
            while True:
                with lock:
                    if self._close_reason is not None:
                        return self._close_reason
                    deadline = proto.next_deadline()
                timeout = _MAX_WAIT if deadline is None else deadline - monotonic()
                if timeout <= 0:
                    self._run_timers(transport)
                    continue
                try:
                    messages = recv(min(timeout, _MAX_WAIT))
                except TimeoutError:
                    self._run_timers(transport)
                    continue
                with lock:
                    now = monotonic()
                    for text in messages:
                        if trace:
                            logger.debug("< %.2000s", text)
                        receive_text(text, now)
                    # Take what is already queued without blocking; flush to the store
                    # only when the queue runs dry, so a burst is applied as one batch.
                    for _ in range(_BURST):
                        try:
                            messages = recv(0)
                        except TimeoutError:
                            proto.flush_data()
                            break
                        for text in messages:
                            if trace:
                                logger.debug("< %.2000s", text)
                            receive_text(text, now)
                    self._pump()
        except TransportClosed as exc:
            return exc.reason
        except Exception as exc:  # a bug in a layer below; reconnect rather than die
            logger.exception("error while processing DDP messages; reconnecting")
            return f"internal error: {exc!r}"

    def _run_timers(self, transport: Transport) -> None:
        # A thread blocked writing to a server that stopped reading holds the lock; past
        # the heartbeat timeout, the connection is dead anyway: abort it to free that writer.
        patience = self._options.heartbeat_timeout
        if not self._lock.acquire(timeout=patience):
            logger.warning("a write to %s is stuck; dropping the connection", self.url)
            self._close_reason = "write stalled"
            transport.abort()
            self._lock.acquire()
        try:
            self._proto.on_timer(time.monotonic())
            self._pump()
        finally:
            self._lock.release()

    def __repr__(self) -> str:
        return f"<ddp.Client {self.url} {self.status.name}>"


_HANDLERS: dict[type, Callable[[Client, Any], None]] = {
    MethodResult: Client._on_method_result,
    MethodDataVisible: Client._on_data_visible,
    SubscriptionReady: Client._on_sub_ready,
    SubscriptionStopped: Client._on_sub_stopped,
    Pong: Client._on_pong,
    StatusChanged: Client._on_status_changed,
    Connected: Client._on_connected_event,
    ConnectionLost: Client._on_connection_lost,
    TransportShouldClose: Client._on_transport_should_close,
    LoginResumed: Client._on_login_resumed,
    ServerErrorMessage: Client._on_server_error,
    ProtocolViolation: Client._on_protocol_violation,
}
