"""The asyncio DDP client: :class:`AsyncClient`.

Theory of operation
-------------------
Everything that decides *what* happens is :class:`ddp.protocol.ClientProtocol`; this driver
decides only *when*. One client lives on one event loop (the one running :meth:`connect`)
and owns:

* one **run task**: dial, run a session, hand the loss to the core, sleep the delay the core
  returns (cut short by :meth:`reconnect` / :meth:`close`), dial again;
* per session, the **receive callback** and one **writer task**. The websocket connection
  (:class:`~ddp.asyncio._connection.DirectConnection`, where the installed websockets
  allows it; else the stock one, read by :func:`~ddp.asyncio._connection.receive_texts`)
  hands each message to the callback as soon as it is read, with no queue and no task
  switch; the callback does the least
  possible per frame: count it, ``proto.receive_text``, then look at the core's events
  (rare) and wake the writer. A frame whose events may wake a task (a method's result)
  makes the connection deliver the rest of that read from a ``call_soon`` callback, so the
  woken caller runs first, as it would reading with ``recv``. A flush of the data buffered
  by the core, scheduled with ``loop.call_soon``, runs once everything read so far is
  handled: natural batching.
  Output goes out in one socket write per loop iteration where possible (``_write_soon``,
  :func:`~ddp.asyncio._writes.write_texts`);
* one **timer** (``loop.call_at``) for the core's deadlines (heartbeats, connect timeout).
  Deadlines that move later are handled lazily: the timer fires, the core does nothing, the
  timer is re-armed at the new deadline, so busy connections re-arm it rarely.

User listeners run through ``loop.call_soon`` (never inline in the receive loop); coroutine
listeners run as tasks. :meth:`AsyncClient.events` gives each iterator a bounded queue that
drops its oldest event when full (with a warning), so a slow consumer never stalls the client.
"""

from __future__ import annotations

# ``timeout=`` parameters (ruff ASYNC109) are part of the API both clients share.
import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from ssl import SSLContext
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from ddp._client_common import (
    DEFAULT_MAX_SIZE,
    ClientBase,
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
from ddp.asyncio._connection import connection_options, receive_texts
from ddp.asyncio._writes import write_texts
from ddp.asyncio.calls import MethodCall, Subscription, wait_for
from ddp.auth import LoginResult, MemoryTokenStore, TokenStore
from ddp.backoff import Backoff
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
    ProtocolError,
)
from ddp.framing import SockJSFrameKind, sockjs_client_encode, sockjs_decode
from ddp.protocol import DEFAULT_VERSIONS, ClientProtocol
from ddp.stats import ClientStats, StatsRecorder, text_size

__all__ = ["DEFAULT_EVENT_QUEUE", "AsyncClient", "EventStream"]

logger = logging.getLogger("ddp.client")
frames_logger = logging.getLogger("ddp.client.frames")

DEFAULT_EVENT_QUEUE = 1000
"""Events an :meth:`AsyncClient.events` iterator holds before it drops the oldest."""

CLOSE_TIMEOUT = 2.0
"""Seconds a deliberate close waits for the server's closing handshake."""


class EventStream:
    """An async iterator over a client's events (what :meth:`AsyncClient.events` returns).

    Yields the core's events (:mod:`ddp.events`: status changes, ``Connected``,
    ``ConnectionLost``, method results, subscription milestones...) in order, and ends after
    the client is closed. The queue is bounded: when it is full the oldest event is dropped,
    counted in :attr:`dropped` and logged, so a slow consumer never stalls the client.
    """

    __slots__ = ("__weakref__", "_closed", "_items", "_maxlen", "_waiter", "dropped")

    def __init__(self, maxlen: int) -> None:
        self._items: deque[Event] = deque()
        self._maxlen = maxlen
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        #: Events dropped because the queue was full.
        self.dropped = 0

    def _put(self, event: Event) -> None:
        if self._closed:
            return
        if len(self._items) >= self._maxlen:
            self._items.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % self._maxlen == 0:
                logger.warning(
                    "events() consumer too slow: dropped %d event(s) so far", self.dropped
                )
        self._items.append(event)
        self._wake()

    def _close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class AsyncClient(ClientBase):
    """A DDP client on asyncio.

    Use it as ``async with AsyncClient(url) as client:``, or call :meth:`connect` and
    :meth:`close`. All methods must be called from the event loop that runs the client.

    Args:
        url: The server: ``http(s)://host[/path]``, ``host:port``, ``ws(s)://.../websocket``,
            ``ddp+sockjs://host`` (see :func:`ddp._client_common.parse_url`).
        sockjs: Use SockJS framing (Meteor's ``/sockjs`` endpoint).
        ssl: An ``ssl.SSLContext`` for ``wss://`` (TLS is verified by default).
        origin: The ``Origin`` header.
        headers: Extra handshake headers (a mapping or pairs).
        compression: Offer permessage-deflate (on by default, as Meteor's server is).
        proxy: ``True``: the proxy from the environment; ``None``/``False``: none; or a URL.
        heartbeat_interval: Idle seconds before the client pings (0: no heartbeats).
        heartbeat_timeout: Seconds without the ``pong`` before the connection is dead.
        connect_timeout: Seconds for one attempt to reach ``connected``; also how long
            :meth:`connect` waits in all.
        reconnect: ``True`` (Meteor's backoff), ``False`` (fail fast), or a
            :class:`ddp.backoff.Backoff`.
        max_attempts: Give up (status ``FAILED``) after this many failed attempts in a row.
        versions: DDP versions to offer, preferred first.
        token_store: Where the resume token is kept (default: in memory, this client only).
        collections: Keep a local cache of published documents (``False``: none).
        max_size: Largest websocket message accepted, in bytes.
        event_queue: How many events each :meth:`events` iterator buffers.
    """

    def __init__(
        self,
        url: str,
        *,
        sockjs: bool = False,
        ssl: SSLContext | bool | None = None,
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
        event_queue: int = DEFAULT_EVENT_QUEUE,
    ) -> None:
        self._options = opts = validate_options(
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
        if isinstance(event_queue, bool) or not isinstance(event_queue, int) or event_queue < 1:
            raise ValueError("event_queue must be a positive integer")
        self._event_queue = event_queue
        self._tokens: TokenStore = token_store if token_store is not None else MemoryTokenStore()
        self._registry = CollectionRegistry() if opts.collections else None
        self._proto = ClientProtocol(
            store=self._registry,
            versions=opts.versions,
            heartbeat_interval=opts.heartbeat_interval,
            heartbeat_timeout=opts.heartbeat_timeout,
            connect_timeout=opts.connect_timeout,
            backoff=opts.backoff,
            max_attempts=opts.max_attempts,
        )
        self._stats = StatsRecorder(time.monotonic())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._write_ready: asyncio.Event | None = None
        self._abort_reason: str | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._flush_scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._opened_before = False
        self._dialing_now = False
        self._ping_base = (0, 0)
        self._writing = False
        self._write_armed = False  # a _write_tick is scheduled (see _write_soon)
        self._backlog: list[str] = []
        self._closed = False
        self._failure: DDPError | None = None
        self._trace = False
        self._calls: dict[str, MethodCall] = {}
        self._subs: dict[str, Subscription] = {}
        self._pings: dict[str, tuple[asyncio.Future[float], float]] = {}
        self._connect_waiters: list[asyncio.Future[None]] = []
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._user_id: str | None = None
        self._on_status: ListenerRegistry[[StatusChanged]] = ListenerRegistry("status", self._spawn)
        self._on_connected: ListenerRegistry[[Connected]] = ListenerRegistry(
            "connected", self._spawn
        )
        self._on_reconnect: ListenerRegistry[[Connected]] = ListenerRegistry(
            "reconnect", self._spawn
        )

    # -- properties -----------------------------------------------------------------------
    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> AsyncClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Connect, and return once the server has sent ``connected``.

        Calling it again while connected returns at once; while reconnecting, it waits for
        the next ``connected``.

        Args:
            timeout: Seconds to wait in all (default: the ``connect_timeout`` option). On
                the first connect, running out of time also closes the client.

        Raises:
            ddp.DDPTimeoutError: No ``connected`` in time.
            ddp.ConnectionFailedError: The client gave up (``reconnect=False``, attempts
                exhausted, or no common DDP version: ``VersionNegotiationError``).
            ddp.ClientClosedError: The client was closed.
        """
        self._check_open()
        loop = self._bind_loop()
        if self._proto.status is Status.CONNECTED:
            return
        first = self._run_task is None
        waiter: asyncio.Future[None] = loop.create_future()
        self._connect_waiters.append(waiter)
        if first:
            self._run_task = loop.create_task(self._run(), name=f"ddp-client {self.url}")
        limit = self._options.connect_timeout if timeout is None else timeout
        try:
            await wait_for(waiter, limit, f"connecting to {self.url}")
        except DDPTimeoutError:
            if first:
                await self.close()
            raise
        finally:
            if waiter in self._connect_waiters:
                self._connect_waiters.remove(waiter)

    async def close(self, timeout: float | None = 10.0) -> None:  # noqa: ASYNC109
        """Close the connection (sending DDP's ``disconnect`` first) and stop for good.

        Every pending call, subscription and wait ends at once with
        :class:`ddp.ClientClosedError`. Then, as the blocking client does, it waits up to
        ``timeout`` seconds in all (``None``: no limit) for the closing handshake and for
        the listeners already queued, coroutine listeners included; whatever still runs at
        the deadline is cancelled. Idempotent; a coroutine listener may call it.
        """
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0
        ):
            raise ValueError("timeout must be None or a number of seconds >= 0")
        if self._loop is None:
            self._closed = True
            return
        loop = self._bind_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if not self._closed:
            self._closed = True
            self._proto.close()  # its TransportShouldClose starts the graceful close
            self._process()
            self._fail_all(ClientClosedError("the client was closed"))
            self._wake()
            if self._dialing_now and self._run_task is not None:
                self._run_task.cancel()  # do not wait for a dial we no longer want
        task = self._run_task
        current = asyncio.current_task()
        if task is not None and task is not current:
            try:
                async with asyncio.timeout_at(deadline):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
                logger.warning("the client's run task did not end in time; cancelled it")
            except Exception:
                logger.exception("the client's run task failed")
        self._finish()
        await self._drain_listeners(deadline, current)

    async def _drain_listeners(
        self, deadline: float | None, current: asyncio.Task[Any] | None
    ) -> None:
        """Let queued listeners run, wait for their tasks until ``deadline``, cancel the rest."""
        loop = self._loop
        assert loop is not None
        await asyncio.sleep(0)  # listeners are queued with call_soon: let them start
        tasks = {t for t in self._tasks if t is not current and not t.done()}
        if not tasks:
            return
        left = None if deadline is None else max(0.0, deadline - loop.time())
        _, late = await asyncio.wait(tasks, timeout=left)
        for late_task in late:
            late_task.cancel()
        if late:
            logger.warning("%d listener task(s) still ran at close(); cancelled", len(late))

    def reconnect(self) -> None:
        """Drop the current connection (if any) and reconnect now.

        The pending backoff delay is skipped and no retry is counted. The server may resume
        the session (Meteor 3.5), since this is not a deliberate ``disconnect``.
        """
        self._check_open()
        self._bind_loop()
        self._proto.reconnect_now()
        self._process()
        if self._ws is not None:
            self._abort("reconnect requested")
        self._wake()

    # -- methods ---------------------------------------------------------------------------
    def go(self, method: str, *args: Any, wait: bool = False, no_retry: bool = False) -> MethodCall:
        """Start a method call and return its :class:`MethodCall` handle at once.

        Args:
            method: The method's name.
            *args: Its arguments (EJSON values).
            wait: Meteor's ``wait``: run after every earlier call, and before every later one.
            no_retry: Do not re-send after a reconnect: fail with
                :class:`ddp.InvocationFailedError` instead if it was sent.

        Raises:
            ddp.ClientClosedError: The client is closed.
        """
        return self._go(method, args, wait, no_retry, write_now=False)

    def _go(
        self, method: str, args: tuple[Any, ...], wait: bool, no_retry: bool, write_now: bool
    ) -> MethodCall:
        """Start a call; ``write_now``: write the frame from here (see :meth:`_write_soon`),
        else hand it to the writer task."""
        if not isinstance(method, str) or not method:
            raise TypeError("a method name must be a non-empty string")
        self._check_open()
        loop = self._bind_loop()
        method_id = self._proto.call(method, args, wait=wait, no_retry=no_retry)
        sent_at = loop.time()
        if write_now:
            # Out first, bookkeeping after: the handle is needed only once the loop can run
            # again to read the answer, and building it now overlaps the server's work.
            self._write_soon()
        call = MethodCall(self, method_id, method, args, loop, sent_at)
        self._calls[method_id] = call
        self._process(wake_writer=not write_now)
        return call

    async def call(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
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
            timeout: Seconds to wait; on expiry the call is forgotten (its eventual result
                is ignored) and :class:`ddp.DDPTimeoutError` raised.
            wait: Meteor's ``wait`` option (see :meth:`go`).
            no_retry: Meteor's ``noRetry`` option (see :meth:`go`).

        Raises:
            ddp.MethodError: The server answered with an error.
            ddp.DDPTimeoutError: ``timeout`` ran out.
            ddp.ConnectionClosedError: The client closed or gave up first.
        """
        # The hot path of request/response: the frame is written from this task (no hop
        # through the writer task; calls made in the same loop iteration share one socket
        # write) and the private result future is awaited directly (no shield, which would
        # cost another loop iteration).
        handle = self._go(method, args, wait, no_retry, write_now=True)
        result = handle._result
        scope: asyncio.Timeout | None = None
        try:
            if timeout is None:
                return await result
            async with asyncio.timeout(timeout) as scope:
                return await result
        except TimeoutError:
            if scope is None or not scope.expired():
                raise  # the call itself ended with a TimeoutError
            handle.cancel()
            raise DDPTimeoutError(f"method {method!r} timed out after {timeout} s") from None
        except asyncio.CancelledError:
            handle.cancel()
            raise

    def _forget_call(self, method_id: str) -> None:
        if self._calls.pop(method_id, None) is not None and not self._closed:
            self._proto.cancel(method_id)
            self._process()

    # -- subscriptions --------------------------------------------------------------------
    async def subscribe(
        self,
        name: str,
        *args: Any,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Subscription:
        """Subscribe to a publication and return the :class:`Subscription`.

        Args:
            name: The publication's name.
            *args: Its arguments (EJSON values).
            wait: Return only once the subscription is ready (its data is in the cache).
            timeout: Seconds to wait for ``ready``; on expiry the subscription is stopped
                and :class:`ddp.DDPTimeoutError` raised.

        Raises:
            ddp.SubscriptionError: The server refused it (``RateLimitedError`` is one).
            ddp.DDPTimeoutError: ``timeout`` ran out.
            ddp.ConnectionClosedError: The client closed or gave up first.
        """
        if not isinstance(name, str) or not name:
            raise TypeError("a publication name must be a non-empty string")
        self._check_open()
        loop = self._bind_loop()
        sub_id = self._proto.subscribe(name, args)
        sub = Subscription(self, sub_id, name, args, loop)
        self._subs[sub_id] = sub
        self._process()
        if wait:
            try:
                await sub.ready(timeout)
            except (DDPTimeoutError, asyncio.CancelledError):
                sub.stop()
                raise
        return sub

    def _stop_subscription(self, sub: Subscription) -> None:
        if sub.stopped:
            return
        self._subs.pop(sub.id, None)
        sub._set_stopped(None)
        if not self._closed:
            self._proto.unsubscribe(sub.id)
            self._process()

    # -- collections ----------------------------------------------------------------------
    # -- misc -----------------------------------------------------------------------------
    async def ping(self, timeout: float | None = None) -> float:  # noqa: ASYNC109
        """Send a ``ping`` and return the round-trip time in seconds.

        Raises:
            ddp.DDPTimeoutError: No ``pong`` in time.
            ddp.ConnectionClosedError: The connection dropped (pings are not re-sent), or
                the client closed.
        """
        self._check_open()
        loop = self._bind_loop()
        ping_id = self._proto.ping()
        fut: asyncio.Future[float] = loop.create_future()
        self._pings[ping_id] = (fut, loop.time())
        self._process()
        try:
            return await wait_for(fut, timeout, "ping")
        finally:
            self._pings.pop(ping_id, None)

    def send(self, message: dict[str, Any]) -> None:
        """Send a raw DDP message (EJSON-encoded); the seed's ``Send``.

        Raises:
            TypeError: ``message`` is not a dict.
            ddp.ClientClosedError: The client is closed.
        """
        if not isinstance(message, dict):
            raise TypeError("a DDP message must be a dict")
        self._check_open()
        self._bind_loop()
        self._proto.send_raw(message)
        self._process()

    def stats(self) -> ClientStats:
        """Return a snapshot of the client's statistics (:class:`ddp.stats.ClientStats`)."""
        # The core counts pings (heartbeats included); the recorder reports them.
        self._stats.pings_sent = self._proto.pings_sent - self._ping_base[0]
        self._stats.pings_received = self._proto.pings_received - self._ping_base[1]
        return self._stats.snapshot(time.monotonic(), self.collection_stats())

    def reset_stats(self) -> None:
        """Zero the statistics."""
        self._stats.reset(time.monotonic())
        self._ping_base = (self._proto.pings_sent, self._proto.pings_received)

    # -- login ----------------------------------------------------------------------------
    async def login(
        self,
        user: str | None = None,
        password: str | bytes | dict[str, Any] | None = None,
        *,
        email: str | None = None,
        token: str | None = None,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> LoginResult:
        """Log in with a password (by username or email), a resume token, or custom params.

        The password goes out as its SHA-256 digest (a pre-hashed ``{"digest", "algorithm"}``
        is accepted). ``params`` is sent as the ``login`` argument as given, for a custom
        login handler on the server (``Accounts.registerLoginHandler``); its result is
        handled as a password login's. The token is kept in the token store and used to log
        in again first after every new session.

        Raises:
            ddp.LoginError: The server refused.
            TypeError: The arguments do not name one way of logging in.
        """
        login_arg = login_params(
            user=user, password=password, email=email, token=token, code=code, params=params
        )
        try:
            result = await self.call("login", login_arg, wait=True, timeout=timeout)
        except DDPError as exc:
            if token is not None:
                self._forget_token()
            raise as_login_error(exc) from None
        login = parse_login_result(result)
        self._logged_in(login)
        return login

    async def logout(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Log out (on the server, and forget the resume token)."""
        try:
            await self.call("logout", wait=True, timeout=timeout)
        finally:
            self._forget_token()

    def _logged_in(self, login: LoginResult) -> None:
        self._user_id = login.id
        self._tokens.save(self._options.url.key, login)
        self._proto.set_resume_token(login.token)

    def _forget_token(self) -> None:
        self._user_id = None
        self._tokens.delete(self._options.url.key)
        self._proto.set_resume_token(None)

    def _load_token(self) -> None:
        """Before a dial: hand the core the stored token, unless it has expired."""
        stored = self._tokens.load(self._options.url.key)
        if stored is not None and not token_is_usable(stored, datetime.now(UTC)):
            logger.info("the stored resume token has expired; not using it")
            self._tokens.delete(self._options.url.key)
            stored = None
        self._proto.set_resume_token(None if stored is None else stored.token)

    # -- listeners ------------------------------------------------------------------------
    def on_collection_change(
        self, callback: Callable[[Sequence[CollectionChange]], Any]
    ) -> Callable[[], None]:
        """Call ``callback(changes)`` after every batch of data that changed the cache.

        ``changes`` is a tuple of :class:`ddp.collection.CollectionChange` (collection, op
        ``"added"``/``"changed"``/``"removed"``, ``_id``, fields): the net effect of one
        batch, so a reconnect that swaps the cache reports only what really differs. The
        callback runs soon after the batch, never inside the receive loop; a coroutine
        function runs as a task.

        Returns:
            A function that removes the listener.

        Raises:
            ddp.InvalidStateError: The client was made with ``collections=False``.
        """
        return add_change_listener(
            self._registry, callback, on_awaitable=self._spawn, defer=self._call_soon
        )

    def _call_soon(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        assert loop is not None  # data only arrives once connect() has bound the loop
        loop.call_soon(fn)

    def events(self, *, max_queue: int | None = None) -> EventStream:
        """Return an async iterator over the client's events, from now on, in order.

        Each iterator has its own bounded queue (``max_queue``, default the client's
        ``event_queue`` option): when full, the oldest event is dropped and logged. The
        iteration ends once the client is closed.
        """
        stream = EventStream(max_queue if max_queue is not None else self._event_queue)
        if self._closed:
            stream._close()
        else:
            self._streams.add(stream)
        return stream

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await awaitable
            except Exception:
                logger.exception("async listener raised")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- internals: loop binding and state -----------------------------------------------
    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise InvalidStateError("AsyncClient must be used from a running event loop") from None
        if self._loop is None:
            self._loop = loop
            self._write_ready = asyncio.Event()
        elif self._loop is not loop:
            raise InvalidStateError("this AsyncClient belongs to another event loop")
        return loop

    def _is_closed(self) -> bool:
        # A method, not the attribute: other tasks change it while this one awaits.
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError("the client is closed")
        if self._failure is not None:
            raise self._failure

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    # -- internals: the run task ---------------------------------------------------------
    async def _run(self) -> None:
        proto = self._proto
        loop = self._loop
        assert loop is not None
        try:
            while not self._closed:
                self._load_token()
                proto.dialing(loop.time())
                self._process()
                self._dialing_now = True
                try:
                    ws = await self._dial()
                except asyncio.CancelledError:
                    if not self._is_closed():
                        raise
                    proto.dial_failed(loop.time(), "client closed")
                    self._process()
                    break
                except Exception as exc:
                    self._stats.read_errors += 1
                    reason = f"dial failed: {exc}" if str(exc) else f"dial failed: {exc!r}"
                    logger.info("%s: %s", self.url, reason)
                    delay = proto.dial_failed(loop.time(), reason)
                    self._process()
                else:
                    self._dialing_now = False
                    delay = await self._session(ws)
                finally:
                    self._dialing_now = False
                if delay is None or self._closed:
                    break
                await self._sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("the client's run task crashed")
            self._failure = ConnectionFailedError("internal error in the client")
        finally:
            self._finish()

    async def _dial(self) -> ClientConnection:
        opts = self._options
        kwargs: dict[str, Any] = {}
        if opts.ssl is not None and not isinstance(opts.ssl, bool):
            kwargs["ssl"] = opts.ssl
        if opts.origin is not None:
            kwargs["origin"] = opts.origin
        ws = await ws_connect(
            opts.url.dial_url(),
            additional_headers=list(opts.headers) or None,
            compression="deflate" if opts.compression else None,
            proxy=None if opts.proxy is False else opts.proxy,
            open_timeout=opts.connect_timeout,
            # DDP has its own heartbeats; websockets' pings would only double them.
            ping_interval=None,
            close_timeout=CLOSE_TIMEOUT,
            max_size=opts.max_size,
            **connection_options(),
            **kwargs,
        )
        return ws

    async def _sleep(self, delay: float) -> None:
        if delay <= 0:
            return
        loop = self._loop
        assert loop is not None
        self._wakeup = wakeup = loop.create_future()
        try:
            await asyncio.wait((wakeup,), timeout=delay)
        finally:
            self._wakeup = None

    async def _session(self, ws: ClientConnection) -> float | None:
        """Run one connection; return the core's delay before the next dial."""
        proto = self._proto
        loop = self._loop
        assert loop is not None and self._write_ready is not None
        self._trace = frames_logger.isEnabledFor(logging.DEBUG)
        self._ws = ws
        self._abort_reason = None
        self._backlog = []  # frames of a lost transport: the core re-sends what matters
        self._stats.connection_opened(time.monotonic(), reconnect=self._opened_before)
        self._opened_before = True
        proto.connection_made(loop.time())
        self._write_ready.clear()
        writer = loop.create_task(self._writer(ws))
        self._process()
        self._arm_timer()
        try:
            reason = await self._receive(ws)
        finally:
            self._ws = None
            writer.cancel()
            self._stats.connection_closed()
        if ws.state is not State.CLOSED:
            # A deliberate close already ran the handshake; anything else is dead or doomed.
            ws.transport.abort()
        for fut, _ in self._pings.values():
            if not fut.done():
                fut.set_exception(ConnectionClosedError(f"connection lost: {reason}"))
                fut.exception()
        delay = proto.connection_lost(loop.time(), reason)
        self._process()
        self._arm_timer()
        return delay

    async def _receive(self, ws: ClientConnection) -> str:
        """Receive until the connection ends; return why it did.

        Each text message is handled by ``on_frame`` as soon as websockets has read it,
        inside the connection's ``data_received`` (see :func:`receive_texts`: on the
        stock connection, from this task); otherwise this task only waits for the end. An
        exception there ends the session as it would have ended the run task.
        """
        proto = self._proto
        loop = self._loop
        assert loop is not None
        receive_text = proto.receive_text
        events_received = proto.events_received
        handle_events = self._handle_events
        now = loop.time
        rec = self._stats
        sockjs = self._options.url.sockjs
        trace = self._trace
        flush = self._flush
        crashed: list[BaseException] = []
        ended = False  # a SockJS close (or bad) frame: read nothing more

        def on_frame(frame: str) -> bool:
            # True when the frame made events (a result...): the connection then lets the
            # tasks they woke run before it delivers the rest of the bytes already read.
            nonlocal ended
            if ended:
                return False
            try:
                rec.read_bytes += len(frame) if frame.isascii() else text_size(frame)
                rec.read_frames += 1
                if trace:
                    frames_logger.debug("< %.2000s", frame)
                if sockjs:
                    closed = self._receive_sockjs(frame)
                    if closed is not None:
                        ended = True
                        self._abort(closed)
                        return False
                else:
                    receive_text(frame, now())
                # Data messages (the bulk) make no events and no output: only look further
                # when there are events. Output without events (a pong) is written by the
                # flush below, which runs once the bytes read so far are all handled.
                events = events_received()
                if events:
                    handle_events(events)
                if not self._flush_scheduled:
                    self._flush_scheduled = True
                    loop.call_soon(flush)
                return bool(events)
            except Exception as exc:
                ended = True
                crashed.append(exc)
                ws.transport.abort()
                return False

        await receive_texts(ws, on_frame)
        if crashed:
            raise crashed[0]
        if self._abort_reason is not None:
            return self._abort_reason
        rcvd = ws.protocol.close_rcvd
        if rcvd is None:
            rec.read_errors += 1
            return "connection lost"
        return f"closed by the server ({rcvd.code}{' ' + rcvd.reason if rcvd.reason else ''})"

    def _receive_sockjs(self, frame: str) -> str | None:
        loop = self._loop
        assert loop is not None
        try:
            decoded = sockjs_decode(frame)
        except ProtocolError as exc:
            self._stats.read_errors += 1
            return f"bad SockJS frame: {exc}"
        if decoded.kind is SockJSFrameKind.CLOSE:
            return f"SockJS close {decoded.close_code} {decoded.close_reason}"
        for text in decoded.messages:
            self._proto.receive_text(text, loop.time())
        return None

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._proto.flush_data()
        if self._write_armed:
            self._write_tick()  # this callback also ends the iteration's write batch
        self._process()

    async def _writer(self, ws: ClientConnection) -> None:
        ready = self._write_ready
        assert ready is not None
        try:
            while True:
                await ready.wait()
                ready.clear()
                if not self._writing:  # else the active writer picks the output up
                    await self._write_pending(ws)
        except ConnectionClosed:
            pass  # the receive loop sees the close and ends the session

    def _write_soon(self) -> None:
        """Write the core's output now, or with the next loop iteration's batch.

        The first write of a loop iteration goes out at once (no added latency for a lone
        call); output queued after it in the same iteration waits for ``_write_tick`` (or the
        pending ``_flush``) at the end of it, so that a burst of calls costs one socket write,
        not one each.
        Whatever cannot take the fast path goes to the writer task (``ws.send``, with
        websockets' flow control).
        """
        if self._write_armed:
            return
        ws = self._ws
        if ws is None or self._writing:
            self._wake_writer()
            return
        frames = self._take_frames()
        if not frames:
            return
        if not write_texts(ws, frames):
            self._backlog = frames
            self._wake_writer()
            return
        self._count_writes(frames)
        self._write_armed = True
        if not self._flush_scheduled:
            # A pending flush callback ends the batch as well (see _flush): a sequential
            # caller, woken by a result, then pays no loop turn of a tick of its own.
            loop = self._loop
            assert loop is not None
            loop.call_soon(self._write_tick)

    def _write_tick(self) -> None:
        self._write_armed = False
        self._write_soon()

    def _count_writes(self, frames: list[str]) -> None:
        rec = self._stats
        rec.write_frames += len(frames)
        for frame in frames:
            rec.write_bytes += len(frame) if frame.isascii() else text_size(frame)
            if self._trace:
                frames_logger.debug("> %.2000s", frame)

    async def _write_pending(self, ws: ClientConnection) -> None:
        """Write what the core has queued, in order, until nothing is left.

        One writer at a time (``_writing``); it loops until the core has nothing more, so
        output queued meanwhile is not stranded. Each round is one socket write
        (:func:`write_texts`) unless the connection needs ``ws.send``, which writes to the
        socket before it
        first suspends (only under backpressure); if that wait is cancelled, the frames not
        yet written go to ``_backlog`` and are written first next time.
        """
        self._writing = True
        rec = self._stats
        try:
            while True:
                frames = self._take_frames()
                if not frames:
                    return
                if write_texts(ws, frames):
                    self._count_writes(frames)
                    continue
                for i, frame in enumerate(frames):
                    self._count_writes(frames[i : i + 1])
                    try:
                        await ws.send(frame)
                    except asyncio.CancelledError:
                        self._backlog = [*frames[i + 1 :], *self._backlog]
                        self._wake_writer()
                        raise
                    except ConnectionClosed:
                        rec.write_errors += 1
                        raise
        finally:
            self._writing = False

    def _take_frames(self) -> list[str]:
        texts = self._proto.data_to_send()
        if self._options.url.sockjs and texts:
            texts = [sockjs_client_encode(texts)]
        if self._backlog:
            texts = [*self._backlog, *texts]
            self._backlog = []
        return texts

    def _close_gracefully(self) -> None:
        """Write what is queued (DDP's ``disconnect``), then run the closing handshake."""
        ws = self._ws
        if ws is None:
            return

        async def close() -> None:
            try:
                await self._write_pending(ws)
                await ws.close()
            except Exception:  # the peer may be gone; closing must still end
                logger.debug("closing the websocket failed", exc_info=True)
                ws.transport.abort()

        loop = self._loop
        assert loop is not None
        task = loop.create_task(close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _abort(self, reason: str) -> None:
        ws = self._ws
        if ws is not None and self._abort_reason is None:
            self._abort_reason = reason
            ws.transport.abort()

    # -- internals: timer ----------------------------------------------------------------
    def _arm_timer(self) -> None:
        deadline = self._proto.next_deadline()
        if deadline is None:
            return
        timer = self._timer
        if timer is not None:
            if self._timer_at <= deadline:
                return  # fires early; _on_timer re-arms at the later deadline
            timer.cancel()
        loop = self._loop
        assert loop is not None
        self._timer_at = deadline
        self._timer = loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        # call_at may fire a hair early (clock resolution): never tell the core "not yet".
        self._proto.on_timer(max(loop.time(), self._timer_at))
        self._process()
        self._arm_timer()

    # -- internals: events ---------------------------------------------------------------
    def _process(self, wake_writer: bool = True) -> None:
        """Act on the core's events, and wake the writer (it may have output now)."""
        events = self._proto.events_received()
        if events:
            self._handle_events(events, wake_writer)
        elif wake_writer:
            self._wake_writer()

    def _handle_events(self, events: Sequence[Event], wake_writer: bool = True) -> None:
        for event in events:
            self._handle(event)
        if self._streams:
            for stream in self._streams:
                for event in events:
                    stream._put(event)
        self._arm_timer()
        if wake_writer:
            self._wake_writer()

    def _wake_writer(self) -> None:
        """Hand the core's output to the writer task, waking it only when there is some.

        Taking the output now (into ``_backlog``, in order) rather than letting the writer
        look saves a useless task switch per batch when there is nothing to write.
        """
        if self._ws is None:
            return
        frames = self._take_frames()
        if not frames:
            return
        self._backlog = frames
        ready = self._write_ready
        if ready is not None and not ready.is_set():
            ready.set()

    def _handle(self, event: Event) -> None:
        kind = type(event)
        if kind is MethodResult:
            assert isinstance(event, MethodResult)
            call = self._calls.get(event.method_id)
            if call is None:
                logger.debug("result for a forgotten method %s ignored", event.method_id)
            else:
                if event.error is None:
                    loop = self._loop
                    assert loop is not None
                    self._stats.record_rtt(loop.time() - call._sent_at)
                call._set_result(event.result, event.error)
        elif kind is MethodDataVisible:
            assert isinstance(event, MethodDataVisible)
            call = self._calls.pop(event.method_id, None)
            if call is not None:
                call._set_visible(event.error)
        elif kind is SubscriptionReady:
            assert isinstance(event, SubscriptionReady)
            sub = self._subs.get(event.sub_id)
            if sub is not None:
                sub._set_ready()
        elif kind is SubscriptionStopped:
            assert isinstance(event, SubscriptionStopped)
            sub = self._subs.pop(event.sub_id, None)
            if sub is not None:
                sub._set_stopped(event.error)
        elif kind is Pong:
            assert isinstance(event, Pong)
            entry = self._pings.pop(event.ping_id, None) if event.ping_id is not None else None
            if entry is not None and not entry[0].done():
                loop = self._loop
                assert loop is not None
                entry[0].set_result(loop.time() - entry[1])
        elif kind is StatusChanged:
            assert isinstance(event, StatusChanged)
            logger.info("%s: status %s -> %s", self.url, event.old.name, event.new.name)
            self._notify(self._on_status, event)
            if event.new is Status.FAILED:
                self._failure = permanent_failure(self._proto.failure, self.url)
                self._fail_connect_waiters(self._failure)
        elif kind is Connected:
            assert isinstance(event, Connected)
            for waiter in self._connect_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._notify(self._on_connected, event)
            if event.reconnect and not event.resumed:
                self._notify(self._on_reconnect, event)
        elif kind is TransportShouldClose:
            assert isinstance(event, TransportShouldClose)
            logger.info("%s: closing the connection: %s", self.url, event.reason)
            if self._closed:
                self._close_gracefully()
            else:
                self._abort(event.reason)
        elif kind is ConnectionLost:
            assert isinstance(event, ConnectionLost)
            logger.info("%s: connection lost (%s)", self.url, event.reason)
        elif kind is LoginResumed:
            assert isinstance(event, LoginResumed)
            self._login_resumed(event)
        elif kind is ServerErrorMessage:
            assert isinstance(event, ServerErrorMessage)
            logger.warning(
                "%s: the server reported an error: %s (about %r)",
                self.url,
                event.reason,
                event.offending_message,
            )
        elif kind is ProtocolViolation:
            assert isinstance(event, ProtocolViolation)
            logger.warning("%s: ignored a bad frame (%s): %s", self.url, event.reason, event.frame)

    def _notify(self, registry: ListenerRegistry[[Any]], event: Event) -> None:
        if registry:
            loop = self._loop
            assert loop is not None
            loop.call_soon(registry.emit, event)

    def _login_resumed(self, event: LoginResumed) -> None:
        if event.error is not None:
            logger.warning("%s: logging in again with the token failed: %s", self.url, event.error)
            self._forget_token()
            return
        try:
            login = parse_login_result(event.result)
        except ProtocolError as exc:
            logger.warning("%s: bad resume login result: %s", self.url, exc)
            return
        self._logged_in(login)

    # -- internals: the end ---------------------------------------------------------------
    def _fail_connect_waiters(self, error: BaseException) -> None:
        for waiter in self._connect_waiters:
            if not waiter.done():
                waiter.set_exception(error)
                waiter.exception()

    def _fail_all(self, error: DDPError) -> None:
        """End every waiter still pending (the core fails calls and subs through events;
        this is the safety net, and it covers pings and connect waiters)."""
        calls, self._calls = self._calls, {}
        for call in calls.values():
            call._set_result(None, error)
            call._set_visible(error)
        subs, self._subs = self._subs, {}
        for sub in subs.values():
            sub._set_stopped(error)
        pings, self._pings = self._pings, {}
        for fut, _ in pings.values():
            if not fut.done():
                fut.set_exception(error)
                fut.exception()
        self._fail_connect_waiters(error)

    def _finish(self) -> None:
        self._process()
        error: DDPError = (
            self._failure
            if self._failure is not None and not self._closed
            else ClientClosedError("the client was closed")
        )
        self._fail_all(error)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed or self._failure is not None:
            for stream in list(self._streams):
                stream._close()
            self._streams = weakref.WeakSet()
