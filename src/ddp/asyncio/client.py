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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Unpack

from ddp._docs import CLIENT_METHODS, document
from ddp._docs_streams import STREAM_METHODS
from ddp._feeds import check_size
from ddp._listeners import add_change_listener
from ddp._login import LoginWays, login_params
from ddp._options import ClientOptionArgs, dial_spec, validate_options
from ddp._session import ClientBase, LoginHook, Session, Watch
from ddp._streams import StreamOptions, stream_target
from ddp._transport import AsyncDial, AsyncTransport, FrameMeter
from ddp.asyncio._calls import MethodCall, Subscription, wait_for
from ddp.asyncio._dial import select_dial
from ddp.asyncio._events import DEFAULT_EVENT_QUEUE, EventStream
from ddp.asyncio._feeds import AsyncFeed
from ddp.asyncio._streams import Stream
from ddp.auth import LoginResult
from ddp.collection import CollectionChange, DataUpdate
from ddp.events import Event, MethodDataVisible, MethodResult, Status
from ddp.exceptions import DDPTimeoutError, InvalidStateError
from ddp.stats import ClientStats

__all__ = ["DEFAULT_EVENT_QUEUE", "AsyncClient", "EventStream"]

logger = logging.getLogger("ddp.client")

# A call's milestones move no deadline of the core: the timer stays as it is.
_CALL_EVENTS = frozenset((MethodResult, MethodDataVisible))


def _live_refs(streams: weakref.WeakSet[Any]) -> set[Any]:
    """The set of live references inside ``streams`` (pruned as they die).

    Testing it is a C-level truth test, where ``bool(WeakSet)`` runs Python code: the
    receive path asks on every event whether any :meth:`AsyncClient.events` iterator
    listens.
    """
    refs: set[Any] = vars(streams)["data"]
    return refs


class AsyncClient(ClientBase[AsyncFeed[CollectionChange], AsyncFeed[DataUpdate]]):
    """A DDP client on asyncio.

    Use it as ``async with AsyncClient(url) as client:``, or call :meth:`connect` and
    :meth:`close`. All methods must be called from the event loop that runs the client.

    The constructor's arguments are listed below (shared with the other client).
    """

    def __init__(
        self,
        url: str,
        *,
        event_queue: int = DEFAULT_EVENT_QUEUE,
        transport: str | AsyncDial = "auto",
        **options: Unpack[ClientOptionArgs],
    ) -> None:
        checked = validate_options(url, transport=transport, **options)
        if isinstance(event_queue, bool) or not isinstance(event_queue, int) or event_queue < 1:
            raise ValueError("event_queue must be a positive integer")
        self._event_queue = event_queue
        self._dial: AsyncDial = select_dial(transport, checked.compression)
        self._session = Session(
            checked,
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
        self._rearm = False  # events were handled since the last flush: re-arm the timer
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._dialing_now = False
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._stream_refs = _live_refs(self._streams)
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> AsyncClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        session = self._session
        session.start()
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
        # The hot path of request/response: the private result future is awaited directly
        # (no shield, which would cost another loop iteration), and without a timeout in
        # this very coroutine (no second one per call).
        handle = self._go(method, args, wait, no_retry)
        if timeout is not None:
            return await self._await_call(handle, timeout)
        try:
            return await handle._result
        except asyncio.CancelledError:
            handle.cancel()
            raise

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
        return self._go(method, args, wait, no_retry)

    def _go(
        self,
        method: str,
        args: tuple[Any, ...],
        wait: bool = False,
        no_retry: bool = False,
        hook: LoginHook | None = None,
    ) -> MethodCall:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop is not self._loop:
            loop = self._bind_loop()  # binds the first loop; a typed error otherwise
        session = self._session
        call = session.call(
            method,
            args,
            lambda method_id: MethodCall(self, method_id, method, args, loop.create_future()),
            wait,
            no_retry,
            hook,
        )
        # What _process does, inline: the hot path of every call.
        proto = session.proto
        if proto.has_events():
            self._process()
        else:
            transport = self._transport
            if transport is not None:
                texts = proto.data_to_send()
                if texts:
                    transport.send(texts)
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
        self._bind_loop()
        self._session.send_raw(message)
        self._process()

    def stats(self) -> ClientStats:
        return self._session.snapshot()

    def reset_stats(self) -> None:
        self._session.reset_stats()

    # -- login ----------------------------------------------------------------------------
    async def login(
        self,
        user: str | None = None,
        password: str | bytes | dict[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        **how: Unpack[LoginWays],
    ) -> LoginResult:
        login_arg = login_params(user=user, password=password, **how)
        hook = self._session.login_hook(token_given=how.get("token") is not None)
        handle = self._go("login", (login_arg,), True, False, hook)
        result: LoginResult = await self._await_visible(handle, timeout)
        return result

    async def logout(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self._session.begin_logout()
        await self._await_visible(self._go("logout", (), True), timeout)

    async def _await_visible(self, handle: MethodCall, timeout: float | None) -> Any:  # noqa: ASYNC109
        """The call's result, once its writes are visible too, all within ``timeout``."""
        loop = self._bind_loop()
        deadline = None if timeout is None else loop.time() + timeout
        result = await self._await_call(handle, timeout)
        left = None if deadline is None else max(0.0, deadline - loop.time())
        await handle.data_visible(left)
        return result

    # -- listeners ------------------------------------------------------------------------
    def on_collection_change(
        self, callback: Callable[[Sequence[CollectionChange]], Any]
    ) -> Callable[[], None]:
        return add_change_listener(
            self._session.registry, callback, on_awaitable=self._spawn, defer=self._call_soon
        )

    def events(self, *, max_queue: int | None = None, data: bool = False) -> EventStream:
        """Return an async iterator over the client's events, from now on, in order.

        With ``data=True`` it also yields every data message, as a
        :class:`ddp.collection.DataUpdate` (what :meth:`on_update` listeners hear), in
        order with the other events. Each iterator has its own bounded queue
        (``max_queue``, default the client's ``event_queue`` option): when full, the
        oldest event is dropped, counted (``ClientStats.dropped_events``) and logged once
        per overflow episode. The iteration ends once the client is closed or gives up.

        Raises:
            ddp.InvalidStateError: ``data=True`` on a client made with ``collections=False``.
        """
        session = self._session
        stream = EventStream(self._feed_size(max_queue), session.hub.count_drop)
        if session.closed:
            stream._close()
            return stream
        if data:
            session.hub.watch_updates(stream, None)
        self._streams.add(stream)
        return stream

    # -- streams and change iterators -----------------------------------------------------
    def stream(
        self, name: str, event_name: str, *args: Any, **options: Unpack[StreamOptions]
    ) -> Stream:
        loop = self._bind_loop()
        session = self._session
        target = stream_target(name, event_name, args, options)
        params = target.params
        size = self._feed_size(options.get("max_queue"))
        handle = Stream(self, target, size, session.hub.count_drop)

        def subscribe() -> Subscription:
            return session.subscribe(
                name, params, lambda sub_id: Subscription(self, sub_id, name, params, loop)
            )

        session.check_open()
        session.hub.open_stream(handle, subscribe)
        self._process()
        return handle

    def _stop_stream(self, stream: Stream) -> None:
        sub = self._session.hub.close_stream(stream)
        if sub is not None:
            self._stop_subscription(sub)  # type: ignore[arg-type]

    # changes() and updates() come from ClientBase; this makes their iterators.
    def _watch(self, watch: Watch, what: str, collection: str | None, size: int | None) -> Any:
        self._bind_loop()
        session = self._session
        feed: AsyncFeed[Any] = AsyncFeed(
            self._feed_size(size), f"{what}({collection!r})", session.hub.count_drop
        )
        session.check_open()
        watch(feed, collection)
        return feed

    def _feed_size(self, max_queue: int | None) -> int:
        return check_size(max_queue) if max_queue is not None else self._event_queue

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
        busy = proto.has_work
        handle = session.handle
        now = time.monotonic
        flush = self._flush
        crashed: list[BaseException] = []

        def on_text(text: str) -> bool:
            # True when the text made events (a result...): the transport then lets the
            # tasks they woke run before it delivers the rest of the bytes already read.
            try:
                receive_text(text, now())
                # Data messages (the bulk) make no events: only look further when there
                # are events, and only as far as waking their waiters. The rest is the
                # flush's, which runs once the bytes read so far are all handled (once per
                # read, not per text): handing buffered data to the store, writing the
                # output (a pong, the next block of calls) and re-arming the timer after a
                # change of state. A round trip's `result` and `updated` need none of it,
                # so they schedule nothing: a round trip costs no loop iteration more than
                # waking its caller.
                events = events_received()
                if not events:
                    if not self._flush_scheduled and (self._rearm or busy()):
                        self._flush_scheduled = True
                        loop.call_soon(flush)
                    return False
                handle(events)
                if self._stream_refs:
                    for stream in self._streams:
                        for event in events:
                            stream._put(event)
                if not self._rearm:
                    for event in events:
                        if type(event) not in _CALL_EVENTS:
                            self._rearm = True
                            break
                if not self._flush_scheduled and (self._rearm or busy()):
                    self._flush_scheduled = True
                    loop.call_soon(flush)
                return True
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
        if self._rearm:
            self._rearm = False
            self._arm_timer()
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
        if self._stream_refs:
            for stream in self._streams:
                for event in events:
                    stream._put(event)
        self._arm_timer()
        self._write()

    def _write(self) -> None:
        transport = self._transport
        if transport is not None:
            texts = self._session.proto.data_to_send()  # the hot path: no wrapper call
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
            self._stream_refs = _live_refs(self._streams)
            session.hub.end_all(session.final_error(), now=True)

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


# The public methods' docstrings are shared with ``ddp.Client`` (see ddp._docs).
document(
    AsyncClient,
    STREAM_METHODS,
    {
        "feed": "AsyncFeed",
        "queue": "the ``event_queue`` option",
        "callbacks": "with ``call_soon``, never inside the receive loop (a coroutine function "
        "runs as a task)",
    },
)
document(
    AsyncClient,
    CLIENT_METHODS,
    {
        "driver_args": "    event_queue: How many events each :meth:`events` iterator buffers.\n"
        '    transport: ``"auto"`` (default: picows where it is installed, else\n'
        '        websockets; websockets when ``compression=True``), ``"picows"``,\n'
        '        ``"websockets"``, or a dial function of your own (for tests or another\n'
        "        websocket library; its interface is in the transports guide).",
        "close_wait": "the closing handshake and for the listeners already queued, coroutine "
        "listeners included; whatever still runs at the deadline is cancelled",
        "close_from": "a coroutine listener may call it",
        "change_callbacks": "soon after the batch, never inside the receive loop; a coroutine "
        "function runs as a task",
    },
)
