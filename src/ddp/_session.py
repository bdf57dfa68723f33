"""The session both client drivers share: every decision that is not I/O, written once.

:class:`Session` owns the Sans-I/O core (:class:`ddp.protocol.ClientProtocol`), the tables of
pending calls, subscriptions and pings, the statistics, the resume token's lifecycle, the
listener registries, the permanent failure, and **one** table from core event to action
(:data:`_ACTIONS`). It never touches a socket, a thread, a task or a clock of its own: a
driver (:mod:`ddp.asyncio`, :mod:`ddp.sync`) gives it a few hooks when it makes it

* ``now()``: the driver's monotonic clock (round trips, ping times);
* ``notify(fn)``: run a listener call later, on the driver's own loop or dispatcher thread;
* ``close_transport(reason, graceful)``: end the current connection (the core asked);
* ``changed()``: state that waiters look at changed (the blocking driver's condition);

and drives it: commands (:meth:`Session.call`, :meth:`Session.subscribe`, :meth:`Session.ping`
...), then :meth:`Session.take_output` to write and :meth:`Session.handle` for the core's
events. The driver serialises every access (its event loop, or its lock) and owns the futures'
type; the session only settles them, through :class:`ddp._handles.FutureLike`.

Failure has one typed exception per cause: :class:`ddp.ClientClosedError` after ``close()``,
the core's :class:`ddp.ConnectionFailedError` / :class:`ddp.VersionNegotiationError` once it
gives up, :class:`ddp.ConnectionClosedError` for what cannot outlive the client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Generic, TypeVar

from ddp._docs_streams import STREAM_METHODS
from ddp._handles import PENDING, BaseMethodCall, BaseSubscription, FutureLike, settle
from ddp._listeners import ListenerRegistry
from ddp._login import as_login_error, parse_login_result, permanent_failure, token_is_usable
from ddp._options import ClientOptions
from ddp._streams import Hub
from ddp.auth import LoginResult, MemoryTokenStore
from ddp.collection import Collection, CollectionRegistry, CollectionStats, DataUpdate
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
    ConnectionFailedError,
    DDPError,
    InvalidStateError,
    ProtocolError,
)
from ddp.protocol import ClientProtocol
from ddp.stats import ClientStats, StatsRecorder

__all__ = ["ClientBase", "LoginHook", "Session"]

logger = logging.getLogger("ddp.client")


C = TypeVar("C", bound=BaseMethodCall)
ChangesT = TypeVar("ChangesT")  # what a client's changes() returns (AsyncFeed or SyncFeed)
UpdatesT = TypeVar("UpdatesT")  # what a client's updates() returns
Watch = Callable[[Any, "str | None"], None]
"""Registers a feed with the hub: ``hub.watch_changes`` or ``hub.watch_updates``."""
S = TypeVar("S", bound=BaseSubscription)

LoginHook = Callable[[Any, DDPError | None], Any]
"""Turns a call's outcome into its result (or raises); run as the result arrives."""


def _nothing() -> None:
    return None


NOT_STARTED = "connect() the client first (or use it in a `with` / `async with` block)"
"""Why a command made before ``connect()`` fails, on both clients."""


class Session:
    """The I/O-free state and behaviour of one client (see the module docstring).

    Args:
        options: The validated options.
        now: The driver's monotonic clock.
        notify: Runs a no-argument function later, on the driver's loop or callback thread.
        close_transport: Ends the current connection: ``(reason, graceful)``; graceful
            after ``close()`` (write what is queued, then the closing handshake).
        changed: Called when something waiters look at changed (status, failure).
        dispatch: How the store runs observer callbacks (``None``: at once).
    """

    def __init__(
        self,
        options: ClientOptions,
        *,
        now: Callable[[], float],
        notify: Callable[[Callable[[], None]], None],
        close_transport: Callable[[str, bool], None],
        changed: Callable[[], None] = _nothing,
        dispatch: Callable[[Callable[[], None]], Any] | None = None,
        on_awaitable: Callable[[Awaitable[Any]], None] | None = None,
    ) -> None:
        self.options = options
        self.now = now
        self._notify = notify
        self._close_transport = close_transport
        self._changed = changed
        self.registry: CollectionRegistry | None = (
            (CollectionRegistry() if dispatch is None else CollectionRegistry(dispatch=dispatch))
            if options.collections
            else None
        )
        self.proto = ClientProtocol(
            store=self.registry,
            versions=options.versions,
            heartbeat_interval=options.heartbeat_interval,
            heartbeat_timeout=options.heartbeat_timeout,
            connect_timeout=options.connect_timeout,
            backoff=options.backoff,
            max_attempts=options.max_attempts,
        )
        self.tokens = options.token_store if options.token_store is not None else MemoryTokenStore()
        self.stats = StatsRecorder(now())
        self._ping_base = (0, 0)
        self._opened_before = False
        self.calls: dict[str, BaseMethodCall] = {}
        self.subs: dict[str, BaseSubscription] = {}
        self.pings: dict[str, tuple[FutureLike[float], float]] = {}
        # ping() made while not connected: sent once ``connected`` arrives.
        self._queued_pings: list[FutureLike[float]] = []
        self.connect_waiters: list[FutureLike[None]] = []
        self._connect_after_login = False  # connect() waits for the token login too
        self.user_id: str | None = None
        #: The permanent failure (status FAILED), raised by every later command.
        self.failure: DDPError | None = None
        #: Why the last connection attempt or connection ended (named in connect timeouts).
        self.last_error: str | None = None
        self.closed = False
        # connect() was called: before that, no command can ever be answered, so each one
        # fails at once (the same on both clients) instead of waiting for a connection that
        # nobody started.
        self.started = False
        self.on_status: ListenerRegistry[[StatusChanged]] = ListenerRegistry("status", on_awaitable)
        self.on_connected: ListenerRegistry[[Connected]] = ListenerRegistry(
            "connected", on_awaitable
        )
        self.on_reconnect: ListenerRegistry[[Connected]] = ListenerRegistry(
            "reconnect", on_awaitable
        )
        #: Streams, update listeners and the bounded iterators (see :mod:`ddp._streams`).
        #: Without a ``dispatch``, the store calls its hooks inline (on the event loop): user
        #: callbacks then go through ``notify`` so that they never run inside the receive loop.
        self.hub = Hub(self.registry, notify, notify if dispatch is None else None, on_awaitable)

    @property
    def url(self) -> str:
        """The websocket URL the client dials (see :attr:`ClientBase.url`)."""
        return self.options.url.base

    # -- state checks -------------------------------------------------------------------
    def check_open(self) -> None:
        """Raise unless commands are allowed.

        Raises:
            ddp.InvalidStateError: ``connect()`` was never called.
            ddp.ClientClosedError: The client is closed.
            ddp.ConnectionFailedError: The client gave up for good (or its subclass).
        """
        self.check_startable()
        if not self.started:
            raise InvalidStateError(NOT_STARTED)

    def check_startable(self) -> None:
        """Raise unless the client may connect (it is neither closed nor failed).

        Raises:
            ddp.ClientClosedError: The client is closed.
            ddp.ConnectionFailedError: The client gave up for good (or its subclass).
        """
        if self.closed:
            raise ClientClosedError("the client is closed")
        if self.failure is not None:
            raise self.failure

    def start(self) -> None:
        """``connect()`` was called: commands are allowed from now on (see :meth:`check_open`)."""
        self.check_startable()
        self.started = True

    def connect_timeout_error(self, limit: float | None) -> str:
        """The message of a connect timeout: how long, and the last error seen."""
        detail = f" (last error: {self.last_error})" if self.last_error else ""
        return f"could not connect to {self.url} within {limit} s{detail}"

    # -- commands (the driver writes and handles events after each) ----------------------
    def call(
        self,
        method: str,
        params: tuple[Any, ...],
        make: Callable[[str], C],
        wait: bool = False,
        no_retry: bool = False,
        hook: LoginHook | None = None,
    ) -> C:
        """Start a method call; ``make(method_id)`` builds the driver's handle for it."""
        if (type(method) is not str and not isinstance(method, str)) or not method:
            raise TypeError("a method name must be a non-empty string")
        if self.closed or self.failure is not None or not self.started:
            self.check_open()
        method_id = self.proto.call(method, params, wait=wait, no_retry=no_retry)
        handle = make(method_id)
        handle._sent_at = self.now()
        if hook is not None:
            handle._hook = hook
        self.calls[method_id] = handle
        return handle

    def forget_call(self, method_id: str) -> bool:
        """Forget a call locally (``MethodCall.cancel``); True when it was pending."""
        if self.calls.pop(method_id, None) is None:
            return False
        if not self.closed:
            self.proto.cancel(method_id)
        return True

    def subscribe(self, name: str, params: tuple[Any, ...], make: Callable[[str], S]) -> S:
        """Subscribe; ``make(sub_id)`` builds the driver's handle."""
        if not isinstance(name, str) or not name:
            raise TypeError("a publication name must be a non-empty string")
        self.check_open()
        sub_id = self.proto.subscribe(name, params)
        handle = make(sub_id)
        self.subs[sub_id] = handle
        return handle

    def unsubscribe(self, sub: BaseSubscription) -> bool:
        """Stop a subscription (``Subscription.stop``); True when it was running."""
        if sub.stopped:
            return False
        self.subs.pop(sub.id, None)
        sub._set_stopped(None)
        self.hub.sub_stopped(sub.id, None)
        if not self.closed:
            self.proto.unsubscribe(sub.id)
        return True

    def ping(self, future: FutureLike[float]) -> None:
        """Send a ``ping`` whose round-trip time settles ``future``.

        While not connected (dialing, reconnecting) the ping waits for ``connected``, as
        calls do; the caller's timeout bounds the whole wait.
        """
        self.check_open()
        if self.proto.status is Status.CONNECTED:
            self._send_ping(future)
        else:
            self._queued_pings.append(future)

    def _send_ping(self, future: FutureLike[float]) -> None:
        if future.done():  # the caller stopped waiting
            return
        try:
            ping_id = self.proto.ping()
        except InvalidStateError as exc:  # pre1 has no ping: nothing to wait for
            settle(future, 0.0, exc)
            return
        self.pings[ping_id] = (future, self.now())

    def forget_ping(self, future: FutureLike[float]) -> None:
        """The caller stopped waiting for ``future`` (timeout or cancellation)."""
        for ping_id, (fut, _) in list(self.pings.items()):
            if fut is future:
                del self.pings[ping_id]
        if future in self._queued_pings:
            self._queued_pings.remove(future)

    def send_raw(self, message: dict[str, Any]) -> None:
        """Queue a raw DDP message (``client.send``)."""
        if not isinstance(message, dict):
            raise TypeError("a DDP message must be a dict")
        self.check_open()
        self.proto.send_raw(message)

    def reconnect(self) -> None:
        """``client.reconnect()``: the next dial is immediate."""
        self.check_open()
        self.proto.reconnect_now()

    def close(self) -> None:
        """``client.close()``: the core sends ``disconnect``; every waiter ends (closed)."""
        if self.closed:
            return
        self.closed = True
        self.proto.close()

    # -- login and the token lifecycle ---------------------------------------------------
    def login_hook(self, token_given: bool) -> LoginHook:
        """Return the hook of a ``login`` call: keeps the token as the result arrives (so
        it is in place before any later reconnect); a refused token is forgotten."""

        def hook(result: Any, error: DDPError | None) -> LoginResult:
            if error is not None:
                if token_given:
                    self.forget_token()
                raise as_login_error(error)
            login = parse_login_result(result)
            self._logged_in(login)
            return login

        return hook

    def begin_logout(self) -> None:
        """Before ``logout`` is called: forget the token first, so a reconnect during the
        logout cannot log in again with it."""
        self.check_open()
        self.forget_token()

    def _logged_in(self, login: LoginResult) -> None:
        self.user_id = login.id
        self.proto.set_resume_token(login.token)
        try:
            self.tokens.save(self.options.url.key, login)
        except Exception:
            logger.exception("the token store failed to save the resume token")

    def forget_token(self) -> None:
        """Forget the user and the resume token (here and in the token store)."""
        self.user_id = None
        self.proto.set_resume_token(None)
        self._delete_token()

    def _delete_token(self) -> None:
        try:
            self.tokens.delete(self.options.url.key)
        except Exception:
            logger.exception("the token store failed to delete the resume token")

    def load_token(self) -> None:
        """Before each dial: hand the core the stored token, unless it expired.

        A token store that fails is logged and the client goes on without a token.
        """
        try:
            stored = self.tokens.load(self.options.url.key)
        except Exception:
            logger.exception("the token store failed to load the resume token")
            stored = None
        if stored is not None and not token_is_usable(stored, datetime.now(UTC)):
            logger.info("the stored resume token has expired; it is not used")
            self._delete_token()
            stored = None
        try:
            self.proto.set_resume_token(None if stored is None else stored.token)
        except TypeError:
            logger.warning("the token store returned an unusable token; it is not used")
            self.proto.set_resume_token(None)

    # -- the connection lifecycle ---------------------------------------------------------
    def dialing(self) -> None:
        """The driver starts a dial."""
        self.load_token()
        self.proto.dialing(self.now())

    def dial_failed(self, exc: BaseException) -> float | None:
        """A dial failed: count it (a read error), log it, return the core's delay."""
        self.stats.read_errors += 1
        reason = f"dial failed: {exc}" if str(exc) else f"dial failed: {exc!r}"
        self.last_error = reason
        logger.info("%s: %s", self.url, reason)
        return self.proto.dial_failed(self.now(), reason)

    def connection_made(self) -> None:
        """A transport opened."""
        self.stats.connection_opened(self.now(), reconnect=self._opened_before)
        self._opened_before = True
        self.proto.connection_made(self.now())

    def connection_lost(self, reason: str) -> float | None:
        """The transport closed: return the core's delay before the next dial."""
        self.stats.connection_closed()
        return self.proto.connection_lost(self.now(), reason)

    # -- events -------------------------------------------------------------------------
    def take_output(self) -> list[str]:
        """Return the DDP texts the core wants written, in order."""
        return self.proto.data_to_send()

    def handle(self, events: Sequence[Event]) -> None:
        """Act on the core's events, in order (the one table: :data:`_ACTIONS`)."""
        actions = _ACTIONS  # every Event type has its action
        for event in events:
            actions[type(event)](self, event)

    def process(self) -> Sequence[Event]:
        """Take the core's events and act on them; return them (for event streams)."""
        events = self.proto.events_received()
        if events:
            self.handle(events)
        return events

    def _on_method_result(self, event: MethodResult) -> None:
        call = self.calls.get(event.method_id)
        if call is None:
            logger.debug("result for a forgotten method %s ignored", event.method_id)
            return
        value: Any = event.result
        error: BaseException | None = event.error
        hook = call._hook
        if hook is not None:
            try:
                value, error = hook(value, event.error), None
            except Exception as exc:
                value, error = None, exc
        if event.error is None:
            self.stats.record_rtt(self.now() - call._sent_at)
        # What call._set_result does (settle), inline: every call comes here.
        future = call._result
        if not future.done():
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)
                future.exception()  # retrieved: nobody may ever wait for it
        if call._visible_outcome is not PENDING:
            del self.calls[event.method_id]

    def _on_data_visible(self, event: MethodDataVisible) -> None:
        call = self.calls.get(event.method_id)
        if call is None:
            return
        # What call._set_visible does, inline: every call comes here.
        if call._visible_outcome is PENDING:
            call._visible_outcome = event.error
            if call._visible is not None:
                settle(call._visible, None, event.error)
        if call._result.done():
            del self.calls[event.method_id]

    def _on_sub_ready(self, event: SubscriptionReady) -> None:
        sub = self.subs.get(event.sub_id)
        if sub is not None:
            sub._set_ready()

    def _on_sub_stopped(self, event: SubscriptionStopped) -> None:
        sub = self.subs.pop(event.sub_id, None)
        if sub is not None:
            sub._set_stopped(event.error)
        self.hub.sub_stopped(event.sub_id, event.error)

    def _on_pong(self, event: Pong) -> None:
        entry = self.pings.pop(event.ping_id, None) if event.ping_id is not None else None
        if entry is not None:
            settle(entry[0], self.now() - entry[1], None)

    def _on_status_changed(self, event: StatusChanged) -> None:
        logger.info("%s: status %s -> %s", self.url, event.old.name, event.new.name)
        if event.new is Status.FAILED:
            self.failure = permanent_failure(self.proto.failure, self.url)
            self._fail_connect_waiters(self.failure)
            self._fail_pings(self.failure)
            self.hub.end_all(self.failure)
        if self.on_status:
            self._notify(partial(self.on_status.emit, event))
        self._changed()

    def _on_connected(self, event: Connected) -> None:
        self.last_error = None
        # A new session with a stored token logs in with it first: connect() returns once
        # that login is settled, so that ``user_id`` says whether the token worked.
        self._connect_after_login = not event.resumed and self.proto.resume_token is not None
        if not self._connect_after_login:
            self._release_connect_waiters()
        queued, self._queued_pings = self._queued_pings, []
        for future in queued:
            self._send_ping(future)
        if self.on_connected:
            self._notify(partial(self.on_connected.emit, event))
        if event.reconnect and not event.resumed and self.on_reconnect:
            self._notify(partial(self.on_reconnect.emit, event))
        self._changed()

    def _on_connection_lost(self, event: ConnectionLost) -> None:
        self.last_error = event.reason
        logger.info("%s: connection lost (%s)", self.url, event.reason)
        # A ping's pong cannot come over another connection: the ping goes again on the next
        # one (as a call would), timed afresh, still within its caller's timeout. So
        # ``reconnect(); ping()`` measures the new connection instead of failing.
        pings, self.pings = self.pings, {}
        self._queued_pings.extend(future for future, _ in pings.values())

    def _on_transport_should_close(self, event: TransportShouldClose) -> None:
        logger.info("%s: closing the connection: %s", self.url, event.reason)
        self._close_transport(event.reason, self.closed)

    def _on_login_resumed(self, event: LoginResumed) -> None:
        try:
            if event.error is not None:
                logger.warning(
                    "%s: logging in again with the token failed: %s", self.url, event.error
                )
                self.forget_token()
                return
            try:
                login = parse_login_result(event.result)
            except ProtocolError as exc:
                logger.warning("%s: bad resume login result: %s", self.url, exc)
                return
            self._logged_in(login)
        finally:
            if self._connect_after_login:
                self._connect_after_login = False
                self._release_connect_waiters()

    def _release_connect_waiters(self) -> None:
        waiters, self.connect_waiters = self.connect_waiters, []
        for waiter in waiters:
            settle(waiter, None, None)
        self._changed()

    def _on_server_error(self, event: ServerErrorMessage) -> None:
        logger.warning(
            "%s: the server reported an error: %s (about %r)",
            self.url,
            event.reason,
            event.offending_message,
        )

    def _on_protocol_violation(self, event: ProtocolViolation) -> None:
        # The core already logged the one WARNING line for the frame; count it here.
        self.stats.read_errors += 1

    # -- the end ------------------------------------------------------------------------
    def _fail_connect_waiters(self, error: BaseException) -> None:
        waiters, self.connect_waiters = self.connect_waiters, []
        for waiter in waiters:
            settle(waiter, None, error)

    def _fail_pings(self, error: BaseException) -> None:
        pings, self.pings = self.pings, {}
        queued, self._queued_pings = self._queued_pings, []
        for future in [*(f for f, _ in pings.values()), *queued]:
            settle(future, 0.0, error)

    def final_error(self) -> DDPError:
        """The error every waiter ends with once the client has stopped."""
        if self.failure is not None and not self.closed:
            return self.failure
        return ClientClosedError("the client was closed")

    def fail_all(self, error: DDPError) -> None:
        """End every waiter still pending with ``error`` (the core fails calls and
        subscriptions through events; this is the safety net, and covers pings and connect
        waiters)."""
        calls, self.calls = self.calls, {}
        for call in calls.values():
            call._set_result(None, error)
            call._set_visible(error)
        subs, self.subs = self.subs, {}
        for sub in subs.values():
            sub._set_stopped(error)
        self._fail_pings(error)
        self._fail_connect_waiters(error)
        self.hub.end_all(error)
        self._changed()

    def crashed(self, exc: BaseException) -> DDPError:
        """The driver's I/O task or thread crashed (a bug): fail for good, typed."""
        logger.error("the client's I/O crashed", exc_info=exc)
        self.failure = ConnectionFailedError(f"internal error in the client: {exc!r}")
        return self.failure

    # -- statistics ---------------------------------------------------------------------
    def snapshot(self) -> ClientStats:
        """Return the statistics (:meth:`ClientBase.stats`)."""
        stats = self.stats
        stats.pings_sent = self.proto.pings_sent - self._ping_base[0]
        stats.pings_received = self.proto.pings_received - self._ping_base[1]
        collections = () if self.registry is None else tuple(self.registry.stats())
        snapshot = stats.snapshot(self.now(), collections)
        return replace(snapshot, dropped_events=self.hub.dropped)

    def reset_stats(self) -> None:
        """Zero the statistics."""
        self.stats.reset(self.now())
        self.hub.dropped = 0
        self._ping_base = (self.proto.pings_sent, self.proto.pings_received)


_ACTIONS: dict[type[Event], Callable[[Session, Any], None]] = {
    MethodResult: Session._on_method_result,
    MethodDataVisible: Session._on_data_visible,
    SubscriptionReady: Session._on_sub_ready,
    SubscriptionStopped: Session._on_sub_stopped,
    Pong: Session._on_pong,
    StatusChanged: Session._on_status_changed,
    Connected: Session._on_connected,
    ConnectionLost: Session._on_connection_lost,
    TransportShouldClose: Session._on_transport_should_close,
    LoginResumed: Session._on_login_resumed,
    ServerErrorMessage: Session._on_server_error,
    ProtocolViolation: Session._on_protocol_violation,
}
"""The one table from core event to action, shared by both drivers."""


class ClientBase(Generic[ChangesT, UpdatesT]):
    """What ``AsyncClient`` and ``Client`` share that involves no waiting and no I/O.

    State read from the session, the listener registrations, the local cache and its
    iterators. Each driver sets ``_session`` in its ``__init__`` and makes the iterators
    (``_watch``), awaited or blocking.
    """

    _session: Session

    def changes(self, collection: str | None = None, *, max_queue: int | None = None) -> ChangesT:
        result: ChangesT = self._watch(
            self._session.hub.watch_changes, "changes", collection, max_queue
        )
        return result

    def updates(self, collection: str | None = None, *, max_queue: int | None = None) -> UpdatesT:
        result: UpdatesT = self._watch(
            self._session.hub.watch_updates, "updates", collection, max_queue
        )
        return result

    def _watch(self, watch: Watch, what: str, collection: str | None, size: int | None) -> Any:
        raise NotImplementedError  # each driver's feed: awaited or blocking

    @property
    def url(self) -> str:
        """The websocket URL the client dials (the SockJS prefix with ``sockjs=True``),
        resolved as Meteor does from the URL given (``http://host`` -> ``ws://host/websocket``)."""
        return self._session.url

    @property
    def status(self) -> Status:
        """The connection status (:class:`ddp.Status`)."""
        return self._session.proto.status

    @property
    def session(self) -> str | None:
        """The DDP session id of the current (or last) connection."""
        return self._session.proto.session

    @property
    def version(self) -> str | None:
        """The negotiated DDP version."""
        return self._session.proto.version

    @property
    def user_id(self) -> str | None:
        """The logged-in user's id, or ``None``."""
        return self._session.user_id

    def collection(self, name: str) -> Collection:
        """Return the local cache of collection ``name`` (created empty if unknown).

        Raises:
            ddp.InvalidStateError: The client was made with ``collections=False``.
        """
        registry = self._session.registry
        if registry is None:
            raise InvalidStateError("this client keeps no collections (collections=False)")
        if registry.feeds is None:
            registry.feeds = self._collection_feed
        return registry.get(name)

    def _collection_feed(self, what: str, name: str, max_queue: int | None) -> Any:
        # Collection.changes()/updates() are this client's changes(name)/updates(name): the
        # same bounded iterator, awaited or blocking as the client is.
        return getattr(self, what)(name, max_queue=max_queue)

    def collection_stats(self) -> list[CollectionStats]:
        """Return the number of cached documents of each collection."""
        registry = self._session.registry
        return [] if registry is None else list(registry.stats())

    def on_status(self, callback: Callable[[StatusChanged], Any]) -> Callable[[], None]:
        """Call ``callback(StatusChanged)`` on every status change, in order.

        Returns a function that removes the listener.
        """
        return self._session.on_status.add(callback)

    def on_connected(self, callback: Callable[[Connected], Any]) -> Callable[[], None]:
        """Call ``callback(Connected)`` every time ``connected`` arrives.

        Returns a function that removes the listener.
        """
        return self._session.on_connected.add(callback)

    def on_update(
        self, callback: Callable[[DataUpdate], Any], collection: str | None = None
    ) -> Callable[[], None]:
        """Call ``callback(update)`` for every data message, one call per message.

        Each ``added``, ``changed`` (with its ``cleared`` names), ``removed``,
        ``addedBefore`` and ``movedBefore`` of ``collection`` (every collection when
        ``None``) becomes one :class:`ddp.collection.DataUpdate`: EJSON-decoded, exactly
        once, in arrival order, never merged with another (four identical ``changed`` are
        four calls), including collections no subscription names and stream collections.
        (The Go DDP client calls this ``AddUpdateListener``.) The callback runs off the
        receive path, like the
        other listeners (the dispatcher thread; ``call_soon``, a coroutine function as a
        task); an exception is logged and ignored.

        It hears a message when the store applies it, which follows the protocol's
        buffering:

        * a method's writes: as they arrive (before the method's ``updated``);
        * a reconnect that **resumes** the session (Meteor 3.5): the server replays only
          what this client had not received, so each message is still heard once, with
          ``replay=False``; nothing is repeated;
        * a reconnect onto a **new** session: the server sends every document again; they
          are held until every subscription is ready (quiescence), then applied as one
          batch that replaces the store, each with ``replay=True``: an audit log can tell
          that re-sent state from real changes (documents that vanished meanwhile are
          simply absent from the replay; an ``on_collection_change`` listener reports
          that difference as removals).

        Returns:
            A function that removes the listener; it hears nothing more once it returns.

        Raises:
            ddp.InvalidStateError: The client was made with ``collections=False``.
            TypeError: ``callback`` is not callable, or ``collection`` not a string.
        """
        return self._session.hub.on_update(callback, collection)

    def on_reconnect(self, callback: Callable[[Connected], Any]) -> Callable[[], None]:
        """Call ``callback(Connected)`` when a reconnect starts a *new* session (not on a
        resumed one, whose state stands: Meteor's ``onReconnect``).

        Returns a function that removes the listener.
        """
        return self._session.on_reconnect.add(callback)


# changes() and updates() are written once, above, for both clients: their docstring names
# both kinds of iterator.
_BOTH_FEEDS = {
    ":class:`<feed>`": ":class:`~ddp.asyncio.AsyncFeed` on an ``AsyncClient`` (``async for``), "
    "a :class:`~ddp.sync.SyncFeed` on a ``Client`` (``for``, or ``iter(timeout=...)``)",
    "<queue>": "the ``event_queue`` option on an ``AsyncClient``, 1000 on a ``Client``",
}
for _name in ("changes", "updates"):
    _text = STREAM_METHODS[_name]
    for _marker, _words in _BOTH_FEEDS.items():
        _text = _text.replace(_marker, _words)
    getattr(ClientBase, _name).__doc__ = _text
