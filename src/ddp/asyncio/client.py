"""The asyncio DDP client: :class:`AsyncClient`.

Theory of operation
-------------------
What happens is decided by the shared session (:class:`ddp._session.Session`, over the core
:class:`ddp.protocol.ClientProtocol`); this driver decides only *when*. One client lives on
one event loop (the one running :meth:`connect`) and owns:

* one **run task**: dial a transport (:mod:`ddp._transport`; picows or websockets, chosen by
  :mod:`ddp.asyncio._dial`), run a
  connection, hand the loss to the session, sleep the delay it returns (cut short by
  :meth:`reconnect` / :meth:`close`), dial again;
* per connection, the **delivery callback**: the transport hands it each text as soon as it
  is read; it does the least possible per text (``receive_text``, then the core's events,
  which are rare) and returns True when they may wake a task, so the transport delivers the
  rest of that read from a ``call_soon`` callback and the woken caller runs first. A flush
  of the data buffered by the core, scheduled with ``loop.call_soon``, runs once everything
  read so far is handled: natural batching;
* one **timer** (``loop.call_later``) for the core's deadlines (heartbeats, connect
  timeout). Deadlines that move later are handled lazily: the timer fires, the core does
  nothing, the timer is re-armed at the new deadline.

The core's output goes to the transport's ``send`` (which never blocks and coalesces a loop
iteration's writes). User listeners run through ``loop.call_soon`` (never inline in the
receive loop); coroutine listeners run as tasks. :meth:`AsyncClient.events` gives each
iterator a bounded queue that drops its oldest event when full (with a warning).
"""

from __future__ import annotations

# ``timeout=`` parameters (ruff ASYNC109) are part of the API both clients share.
import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from ssl import SSLContext
from typing import Any

from ddp._options import DEFAULT_MAX_SIZE, HeadersLike, dial_spec, validate_options
from ddp._session import ClientBase, Session, add_change_listener, login_params
from ddp._transport import AsyncDial, AsyncTransport, FrameMeter
from ddp.asyncio._calls import MethodCall, Subscription, wait_for
from ddp.asyncio._dial import select_dial
from ddp.asyncio._events import DEFAULT_EVENT_QUEUE, EventStream
from ddp.auth import LoginResult, TokenStore
from ddp.backoff import Backoff
from ddp.collection import CollectionChange
from ddp.events import Event, Status
from ddp.exceptions import DDPTimeoutError, InvalidStateError
from ddp.protocol import DEFAULT_VERSIONS
from ddp.stats import ClientStats

__all__ = ["DEFAULT_EVENT_QUEUE", "AsyncClient", "EventStream"]

logger = logging.getLogger("ddp.client")


class AsyncClient(ClientBase):
    """A DDP client on asyncio.

    Use it as ``async with AsyncClient(url) as client:``, or call :meth:`connect` and
    :meth:`close`. All methods must be called from the event loop that runs the client.

    Args:
        url: The server: ``http(s)://host[/path]``, ``host:port``, ``ws(s)://.../websocket``,
            ``ddp+sockjs://host`` (see :func:`ddp._options.parse_url`).
        sockjs: Use SockJS framing (Meteor's ``/sockjs`` endpoint).
        ssl: An ``ssl.SSLContext`` for ``wss://`` (TLS is verified by default).
        origin: The ``Origin`` header.
        headers: Extra handshake headers (a mapping or pairs).
        compression: ``None`` (default): offer permessage-deflate where the transport has it
            (websockets; picows has none); ``True``: offer it (``"auto"`` then dials
            websockets); ``False``: never.
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
        transport: ``"auto"`` (default: picows where installed, else websockets),
            ``"picows"``, ``"websockets"``, or a dial function
            (:data:`ddp._transport.AsyncDial`).
    """

    def __init__(
        self,
        url: str,
        *,
        sockjs: bool = False,
        ssl: SSLContext | bool | None = None,
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
        event_queue: int = DEFAULT_EVENT_QUEUE,
        transport: str | AsyncDial = "auto",
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
            transport=transport,
        )
        if isinstance(event_queue, bool) or not isinstance(event_queue, int) or event_queue < 1:
            raise ValueError("event_queue must be a positive integer")
        self._event_queue = event_queue
        self._dial: AsyncDial = select_dial(transport, compression)
        self._session = Session(
            options,
            now=time.monotonic,
            notify=self._call_soon,
            close_transport=self._close_transport,
            on_awaitable=self._spawn,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._transport: AsyncTransport | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._flush_scheduled = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._dialing_now = False
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._tasks: set[asyncio.Task[Any]] = set()

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
            ddp.DDPTimeoutError: No ``connected`` in time (the message names the last
                error seen).
            ddp.ConnectionFailedError: The client gave up (``reconnect=False``, attempts
                exhausted, or no common DDP version: ``VersionNegotiationError``).
            ddp.ClientClosedError: The client was closed.
        """
        session = self._session
        session.check_open()
        loop = self._bind_loop()
        if session.proto.status is Status.CONNECTED:
            return
        first = self._run_task is None
        waiter: asyncio.Future[None] = loop.create_future()
        session.connect_waiters.append(waiter)
        if first:
            self._run_task = loop.create_task(self._run(), name=f"ddp-client {self.url}")
        limit = session.options.connect_timeout if timeout is None else timeout
        try:
            await wait_for(waiter, limit, f"connecting to {self.url}")
        except DDPTimeoutError:
            if first:
                await self.close()
            raise DDPTimeoutError(session.connect_timeout_error(limit)) from None
        finally:
            if waiter in session.connect_waiters:
                session.connect_waiters.remove(waiter)

    async def close(self, timeout: float | None = 10.0) -> None:  # noqa: ASYNC109
        """Close the connection (sending DDP's ``disconnect`` first) and stop for good.

        Every pending call, subscription and wait ends at once with
        :class:`ddp.ClientClosedError`. Then it waits up to ``timeout`` seconds in all
        (``None``: no limit) for the closing handshake and for the listeners already queued,
        coroutine listeners included; whatever still runs at the deadline is cancelled.
        Idempotent; a coroutine listener may call it.
        """
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0
        ):
            raise ValueError("timeout must be None or a number of seconds >= 0")
        session = self._session
        if self._loop is None:
            session.closed = True
            return
        loop = self._bind_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if not session.closed:
            session.close()  # its TransportShouldClose starts the graceful close
            self._process()
            session.fail_all(session.final_error())
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

    def reconnect(self) -> None:
        """Drop the current connection (if any) and reconnect now.

        The pending backoff delay is skipped and no retry is counted. The server may resume
        the session (Meteor 3.5), since this is not a deliberate ``disconnect``.
        """
        self._bind_loop()
        self._session.reconnect()
        self._process()
        if self._transport is not None:
            self._transport.abort("reconnect requested")
        self._wake()

    # -- methods ---------------------------------------------------------------------------
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
        # The hot path of request/response: the private result future is awaited directly
        # (no shield, which would cost another loop iteration).
        return await self._await_call(self.go(method, *args, wait=wait, no_retry=no_retry), timeout)

    async def _await_call(self, handle: MethodCall, timeout: float | None) -> Any:  # noqa: ASYNC109
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
            raise DDPTimeoutError(f"method {handle.method!r} timed out after {timeout} s") from None
        except asyncio.CancelledError:
            handle.cancel()
            raise

    def go(self, method: str, *args: Any, wait: bool = False, no_retry: bool = False) -> MethodCall:
        """Start a method call and return its :class:`MethodCall` handle at once.

        Calls made while reconnecting are queued and sent once connected.

        Args:
            method: The method's name.
            *args: Its arguments (EJSON values).
            wait: Meteor's ``wait``: run after every earlier call, and before every later one.
            no_retry: Do not re-send after a reconnect: fail with
                :class:`ddp.InvocationFailedError` instead if it was sent.

        Raises:
            ddp.ClientClosedError: The client is closed.
        """
        return self._start_call(method, args, wait, no_retry, None)

    def _start_call(
        self,
        method: str,
        args: tuple[Any, ...],
        wait: bool,
        no_retry: bool,
        hook: Callable[[Any, Any], Any] | None,
    ) -> MethodCall:
        loop = self._bind_loop()
        call = self._session.call(
            method,
            args,
            lambda method_id: MethodCall(self, method_id, method, args, loop),
            wait=wait,
            no_retry=no_retry,
            hook=hook,
        )
        self._process()
        return call

    def _forget_call(self, method_id: str) -> None:
        if self._session.forget_call(method_id):
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
            *args: Its arguments (EJSON values). One publication may be subscribed twice.
            wait: Return only once the subscription is ready (its data is in the cache).
            timeout: Seconds to wait for ``ready``; on expiry the subscription is stopped
                and :class:`ddp.DDPTimeoutError` raised.

        Raises:
            ddp.SubscriptionError: The server refused it (``RateLimitedError`` is one).
            ddp.DDPTimeoutError: ``timeout`` ran out.
            ddp.ConnectionClosedError: The client closed or gave up first.
        """
        loop = self._bind_loop()
        sub = self._session.subscribe(
            name, args, lambda sub_id: Subscription(self, sub_id, name, args, loop)
        )
        self._process()
        if wait:
            try:
                await sub.ready(timeout)
            except (DDPTimeoutError, asyncio.CancelledError):
                sub.stop()
                raise
        return sub

    def _stop_subscription(self, sub: Subscription) -> None:
        if self._session.unsubscribe(sub):
            self._process()

    # -- misc -----------------------------------------------------------------------------
    async def ping(self, timeout: float | None = None) -> float:  # noqa: ASYNC109
        """Send a ``ping`` and return the round-trip time in seconds.

        While the client is not connected (dialing, reconnecting), the ping waits for the
        connection as calls do; ``timeout`` bounds the whole wait.

        Raises:
            ddp.DDPTimeoutError: No ``pong`` in time.
            ddp.ConnectionClosedError: The connection dropped after the ping was sent
                (pings are not re-sent), or the client closed or gave up.
            ddp.InvalidStateError: The connection speaks DDP ``pre1``, which has no ping.
        """
        loop = self._bind_loop()
        future: asyncio.Future[float] = loop.create_future()
        session = self._session
        session.ping(future)
        self._process()
        try:
            return await wait_for(future, timeout, "ping")
        finally:
            session.forget_ping(future)

    def send(self, message: dict[str, Any]) -> None:
        """Send a raw DDP message (EJSON-encoded); the seed's ``Send``.

        Raises:
            TypeError: ``message`` is not a dict.
            ddp.ClientClosedError: The client is closed.
            ddp.InvalidStateError: There is no open connection.
        """
        self._bind_loop()
        self._session.send_raw(message)
        self._process()

    def stats(self) -> ClientStats:
        """Return a snapshot of the client's statistics (:class:`ddp.ClientStats`)."""
        return self._session.snapshot()

    def reset_stats(self) -> None:
        """Zero the statistics."""
        self._session.reset_stats()

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
        in again first after every new session; a refused ``token=`` is forgotten.

        Raises:
            ddp.LoginError: The server refused.
            TypeError: The arguments do not name one way of logging in.
        """
        login_arg = login_params(
            user=user, password=password, email=email, token=token, code=code, params=params
        )
        hook = self._session.login_hook(token_given=token is not None)
        handle = self._start_call("login", (login_arg,), True, False, hook)
        result: LoginResult = await self._await_call(handle, timeout)
        return result

    async def logout(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Log out: forget the resume token first (so a reconnect cannot log in again with
        it), then call Meteor's ``logout``."""
        self._session.begin_logout()
        await self.call("logout", wait=True, timeout=timeout)

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
            self._session.registry, callback, on_awaitable=self._spawn, defer=self._call_soon
        )

    def events(self, *, max_queue: int | None = None) -> EventStream:
        """Return an async iterator over the client's events, from now on, in order.

        Each iterator has its own bounded queue (``max_queue``, default the client's
        ``event_queue`` option): when full, the oldest event is dropped and logged. The
        iteration ends once the client is closed.
        """
        stream = EventStream(max_queue if max_queue is not None else self._event_queue)
        if self._session.closed:
            stream._close()
        else:
            self._streams.add(stream)
        return stream

    # -- internals: hooks given to the session -------------------------------------------
    def _call_soon(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        assert loop is not None  # events only come once connect() has bound the loop
        loop.call_soon(fn)

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await awaitable
            except Exception:
                logger.exception("async listener raised")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _close_transport(self, reason: str, graceful: bool) -> None:
        transport = self._transport
        if transport is None:
            return
        if not graceful:
            transport.abort(reason)
            return
        self._write()  # DDP's ``disconnect`` goes out before the closing handshake
        loop = self._loop
        assert loop is not None
        task = loop.create_task(transport.close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- internals: loop binding ---------------------------------------------------------
    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise InvalidStateError("AsyncClient must be used from a running event loop") from None
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise InvalidStateError("this AsyncClient belongs to another event loop")
        return loop

    def _is_closed(self) -> bool:
        # A method, not the attribute: other tasks change it while this one awaits.
        return self._session.closed

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    # -- internals: the run task ---------------------------------------------------------
    async def _run(self) -> None:
        session = self._session
        try:
            while not session.closed:
                session.dialing()
                self._process()
                self._dialing_now = True
                try:
                    transport = await self._dial(
                        dial_spec(session.options), FrameMeter(session.stats)
                    )
                except asyncio.CancelledError:
                    if not self._is_closed():
                        raise
                    session.proto.dial_failed(time.monotonic(), "client closed")
                    self._process()
                    break
                except Exception as exc:
                    delay = session.dial_failed(exc)
                    self._process()
                else:
                    self._dialing_now = False
                    delay = await self._connection(transport)
                finally:
                    self._dialing_now = False
                if delay is None or session.closed:
                    break
                await self._sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            session.crashed(exc)
        finally:
            self._finish()

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

    async def _connection(self, transport: AsyncTransport) -> float | None:
        """Run one connection; return the session's delay before the next dial."""
        session = self._session
        proto = session.proto
        loop = self._loop
        assert loop is not None
        receive_text = proto.receive_text
        events_received = proto.events_received
        handle_events = self._handle_events
        now = time.monotonic
        flush = self._flush
        crashed: list[BaseException] = []

        def on_text(text: str) -> bool:
            # True when the text made events (a result...): the transport then lets the
            # tasks they woke run before it delivers the rest of the bytes already read.
            try:
                receive_text(text, now())
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
                crashed.append(exc)
                transport.abort(f"internal error: {exc!r}")
                return False

        self._transport = transport
        session.connection_made()
        transport.deliver_to(on_text)
        self._process()
        try:
            reason = await transport.wait_closed()
        finally:
            self._transport = None
        if crashed:
            raise crashed[0]
        delay = session.connection_lost(reason)
        self._process()
        return delay

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._session.proto.flush_data()
        self._process()

    # -- internals: events, output and the timer -----------------------------------------
    def _process(self) -> None:
        """Act on the core's events, then write its output."""
        events = self._session.proto.events_received()
        if events:
            self._handle_events(events)
        else:
            self._write()

    def _handle_events(self, events: Sequence[Event]) -> None:
        self._session.handle(events)
        if self._streams:
            for stream in self._streams:
                for event in events:
                    stream._put(event)
        self._arm_timer()
        self._write()

    def _write(self) -> None:
        transport = self._transport
        if transport is not None:
            texts = self._session.take_output()
            if texts:
                transport.send(texts)

    def _arm_timer(self) -> None:
        deadline = self._session.proto.next_deadline()
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
        self._timer = loop.call_later(max(0.0, deadline - time.monotonic()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        # The loop's clock may fire a hair early: never tell the core "not yet".
        self._session.proto.on_timer(max(time.monotonic(), self._timer_at))
        self._process()
        self._arm_timer()

    # -- internals: the end ---------------------------------------------------------------
    def _finish(self) -> None:
        session = self._session
        self._process()
        session.fail_all(session.final_error())
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if session.closed or session.failure is not None:
            for stream in list(self._streams):
                stream._close()
            self._streams = weakref.WeakSet()

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
            logger.warning("%d task(s) still ran at close(); cancelled", len(late))

    def __repr__(self) -> str:
        return f"<ddp.AsyncClient {self.url} {self.status.name}>"
