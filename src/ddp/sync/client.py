"""``ddp.Client``: the blocking DDP client, on a blocking transport and plain threads.

Threads and locking (why it is race-free)
-----------------------------------------
What happens is decided by the shared session (:class:`ddp._session.Session`, over the core
:class:`ddp.protocol.ClientProtocol`); this driver decides only *when* and *on which thread*.
A client runs threads of its own, all daemons, all ended by :meth:`Client.close`:

* the **I/O thread** dials, receives, runs the core's timers and sleeps the reconnect delays
  (interruptibly, on a :class:`threading.Event`);
* the **dispatcher thread** (:mod:`ddp.sync._dispatcher`) runs user callbacks in order;
* the **writer thread** (:mod:`ddp.sync._outbox`) writes what the I/O thread produced.

(``websockets.sync`` adds a reader thread per connection; it only fills a queue that the I/O
thread drains.) A thread blocked in :meth:`Client.call` drains that queue itself while it
waits, in the I/O thread's place (one such thread at a time; see ``_receive_for``): its
result then reaches it straight from the reader thread, one thread hop rather than two.
Messages are only ever taken off the queue under the lock, by whichever thread receives, so
they are applied in order either way; the I/O thread keeps the timers meanwhile.

All client state, the session, is guarded by ONE lock, ``Client._lock``. Whoever holds it
may drive the session, and must then *pump*: take the core's output into the outbox (in the
core's order) and apply the events it produced (resolve futures, queue listener calls).
**No thread ever writes to the socket while holding the lock**: the output is written after
the lock is released (:class:`~ddp.sync._outbox.Outbox`), so a server that stops reading
stalls only the thread writing to it, and the I/O thread's heartbeat still detects it and
aborts the socket, which frees that writer. Futures are only ever completed or cancelled
under the lock, so a result can never race a cancellation. Waiting happens on the futures,
outside the lock. Nothing under the lock runs user code.

The process can exit while a client is open (its threads are daemons), which also means a
script that does not wait for anything exits before callbacks run: use ``with Client(...)``
or call :meth:`Client.close` when done, and wait on results, ``ready()`` or events.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Unpack

from ddp._docs import CLIENT_METHODS, document
from ddp._docs_streams import STREAM_METHODS
from ddp._feeds import DEFAULT_FEED_SIZE, check_size
from ddp._listeners import add_change_listener
from ddp._login import LoginWays, login_params
from ddp._options import ClientOptionArgs, dial_spec, validate_options
from ddp._session import NOT_STARTED, ClientBase, Session, Watch
from ddp._streams import StreamOptions, stream_target
from ddp._transport import CLOSE_TIMEOUT, FrameMeter, SyncDial, SyncTransport, TransportClosed
from ddp.auth import LoginResult
from ddp.collection import CollectionChange, DataUpdate
from ddp.events import Status
from ddp.exceptions import ClientClosedError, DDPTimeoutError, InvalidStateError
from ddp.stats import ClientStats
from ddp.sync._calls import MethodCall, Outcome, Subscription, wait_for
from ddp.sync._dispatcher import Dispatcher
from ddp.sync._feeds import SyncFeed
from ddp.sync._flag import Flag
from ddp.sync._outbox import Outbox
from ddp.sync._streams import Stream
from ddp.sync._transport import WebsocketsTransport
from ddp.sync._transport import dial as websockets_dial

__all__ = ["Client"]

logger = logging.getLogger("ddp.client")

_BURST = 512
"""Frames handled per hold of the lock before user threads get a turn."""

_MAX_WAIT = 5.0
"""Longest blocking receive: a safety net should a core deadline move earlier meanwhile."""

_ids = itertools.count(1)

_NEW, _RUNNING, _CLOSED = "new", "running", "closed"


class Client(ClientBase[SyncFeed[CollectionChange], SyncFeed[DataUpdate]]):
    """A blocking DDP client: methods, subscriptions, a local cache, reconnects.

    Use it as a context manager, which connects and closes::

        with ddp.Client("wss://chat.example.com") as client:
            client.login(user="alice", password="secret")
            print(client.call("add", 2, 40))

    Every method may be called from any thread. Callbacks (listeners, ``observe``) run on
    the client's dispatcher thread, one at a time, in order.

    The constructor's arguments are listed below (shared with the other client).
    """

    def __init__(
        self,
        url: str,
        *,
        transport: str | SyncDial = "auto",
        **options: Unpack[ClientOptionArgs],
    ) -> None:
        checked = validate_options(url, transport=transport, **options)
        if transport == "picows":
            raise ValueError("picows is an asyncio transport: the blocking client uses websockets")
        n = next(_ids)
        self._dial: SyncDial = transport if callable(transport) else websockets_dial
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._dispatcher = Dispatcher(f"ddp-callbacks-{n}")
        self._session = Session(
            checked,
            now=time.monotonic,
            notify=self._dispatcher.submit,
            close_transport=self._close_transport,
            changed=self._changed.notify_all,
            dispatch=self._dispatcher.submit,
        )
        self._transport: SyncTransport | None = None
        self._outbox = Outbox(lambda: self._transport, f"ddp-writer-{n}")
        self._close_reason: str | None = None
        self._state = _NEW
        self._wake = threading.Event()
        self._io_thread = threading.Thread(target=self._io_main, name=f"ddp-io-{n}", daemon=True)
        self._dialing = False
        # The caller thread receiving in the I/O thread's place, by the event that wakes
        # it (see _receive_for); None: the I/O thread receives.
        self._receiver: Flag | None = None
        self._wakers = threading.local()  # each thread's event for that

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self, timeout: float | None = None) -> None:
        session = self._session
        waiter: Future[None] = Future()
        with self._lock:
            session.start()
            first = self._state == _NEW
            if session.proto.status is Status.CONNECTED:
                return
            session.connect_waiters.append(waiter)
            if first:
                self._state = _RUNNING
                self._dispatcher.start()
                self._io_thread.start()
        limit = session.options.connect_timeout if timeout is None else timeout
        try:
            wait_for(waiter, limit, "connect")
        except DDPTimeoutError:
            with self._lock:
                message = session.connect_timeout_error(limit)
            if first:
                self.close()
            raise DDPTimeoutError(message) from None
        except Exception:
            if first:
                self.close()
            raise
        finally:
            with self._lock:
                if waiter in session.connect_waiters:
                    session.connect_waiters.remove(waiter)

    def close(self, timeout: float | None = 10.0) -> None:
        session = self._session
        with self._lock:
            if self._state == _CLOSED:
                return
            started = self._state == _RUNNING
            self._state = _CLOSED
            session.close()
            self._pump()
            transport = self._transport
            # A dial cannot be interrupted; the I/O thread ends by itself once it returns
            # (within connect_timeout) and finds the client closed.
            join = started and not self._dialing
        self._wake.set()
        if transport is not None:
            self._close_gracefully(transport)
        if join and threading.current_thread() is not self._io_thread:
            self._io_thread.join(timeout)
        with self._lock:
            session.fail_all(session.final_error())
        self._outbox.stop(timeout)
        self._dispatcher.stop(timeout)
        with self._lock:
            # Whatever the dispatcher did not get to: no reader may wait on after close().
            session.hub.end_all(session.final_error(), now=True)

    def reconnect(self) -> None:
        with self._lock:
            self._require_running()
            self._session.reconnect()
            transport = self._transport
            if transport is not None:
                self._close_reason = "reconnect requested"
        self._wake.set()
        if transport is not None:
            transport.abort("reconnect requested")

    # -- methods ------------------------------------------------------------------------
    def call(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,
        wait: bool = False,
        no_retry: bool = False,
    ) -> Any:
        return self._await_call(self.go(method, *args, wait=wait, no_retry=no_retry), timeout)

    def _await_call(self, pending: MethodCall, timeout: float | None) -> Any:
        left = self._receive_for(pending._result, timeout)
        try:
            return pending.result(left)
        except DDPTimeoutError:
            outcome = pending._result.done()  # a timeout the server's answer carried
            pending.cancel()
            if outcome or left == timeout:
                raise
            raise DDPTimeoutError(
                f"method {pending.method!r} timed out after {timeout} s"
            ) from None

    def go(self, method: str, *args: Any, wait: bool = False, no_retry: bool = False) -> MethodCall:
        return self._go(method, args, wait=wait, no_retry=no_retry)

    def _go(self, method: str, params: tuple[Any, ...], **flags: Any) -> MethodCall:
        with self._lock:
            self._require_running()
            pending = self._session.call(
                method,
                params,
                lambda method_id: MethodCall(self, method_id, method, params),
                **flags,
            )
            self._pump()
        self._outbox.flush()
        return pending

    def _forget_call(self, method_id: str) -> None:
        """Cancel a call locally (``MethodCall.cancel``)."""
        with self._lock:
            if self._session.forget_call(method_id):
                self._pump()
        self._outbox.flush()

    # -- subscriptions ------------------------------------------------------------------
    def subscribe(
        self, name: str, *args: Any, wait: bool = True, timeout: float | None = None
    ) -> Subscription:
        with self._lock:
            self._require_running()
            sub = self._session.subscribe(
                name, args, lambda sub_id: Subscription(self, sub_id, name, args)
            )
            self._pump()
        self._outbox.flush()
        if wait:
            try:
                sub.ready(timeout)
            except DDPTimeoutError:
                sub.stop()
                raise
        return sub

    def _stop_subscription(self, sub: Subscription) -> None:
        with self._lock:
            if self._session.unsubscribe(sub):
                self._pump()
        self._outbox.flush()

    # -- misc ---------------------------------------------------------------------------
    def ping(self, timeout: float | None = None) -> float:
        future: Future[float] = Future()
        with self._lock:
            self._require_running()
            self._session.ping(future)
            self._pump()
        self._outbox.flush()
        try:
            return float(wait_for(future, timeout, "ping"))
        finally:
            with self._lock:
                self._session.forget_ping(future)

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._require_running()
            self._session.send_raw(message)
            self._pump()
        self._outbox.flush()

    def stats(self) -> ClientStats:
        with self._lock:
            return self._session.snapshot()

    def reset_stats(self) -> None:
        with self._lock:
            self._session.reset_stats()

    # -- login --------------------------------------------------------------------------
    def login(
        self,
        user: str | None = None,
        password: str | bytes | dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        **how: Unpack[LoginWays],
    ) -> LoginResult:
        login_arg = login_params(user=user, password=password, **how)
        hook = self._session.login_hook(token_given=how.get("token") is not None)
        pending = self._go("login", (login_arg,), wait=True, hook=hook)
        result: LoginResult = self._await_visible(pending, timeout)
        return result

    def logout(self, timeout: float | None = None) -> None:
        with self._lock:
            self._require_running()
            self._session.begin_logout()
        self._await_visible(self._go("logout", (), wait=True), timeout)

    def _await_visible(self, pending: MethodCall, timeout: float | None) -> Any:
        """The call's result, once its writes are visible too, all within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        result = self._await_call(pending, timeout)
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        pending.data_visible(left)
        return result

    # -- listeners ----------------------------------------------------------------------
    def on_collection_change(
        self, callback: Callable[[Sequence[CollectionChange]], Any]
    ) -> Callable[[], None]:
        return add_change_listener(self._session.registry, callback)

    # -- streams and change iterators ---------------------------------------------------
    def stream(
        self, name: str, event_name: str, *args: Any, **options: Unpack[StreamOptions]
    ) -> Stream:
        session = self._session
        target = stream_target(name, event_name, args, options)
        params = target.params
        size = self._feed_size(options.get("max_queue"))
        handle = Stream(self, target, size, session.hub.count_drop, self._dispatcher.is_current)

        def subscribe() -> Subscription:
            return session.subscribe(
                name, params, lambda sub_id: Subscription(self, sub_id, name, params)
            )

        with self._lock:
            self._require_running()
            session.hub.open_stream(handle, subscribe)
            self._pump()
        self._outbox.flush()
        return handle

    def _stop_stream(self, stream: Stream) -> None:
        with self._lock:
            sub = self._session.hub.close_stream(stream)
        if sub is not None:
            self._stop_subscription(sub)  # type: ignore[arg-type]

    # changes() and updates() come from ClientBase; this makes their iterators.
    def _watch(self, watch: Watch, what: str, collection: str | None, size: int | None) -> Any:
        feed: SyncFeed[Any] = SyncFeed(
            self._feed_size(size),
            f"{what}({collection!r})",
            self._session.hub.count_drop,
            self._dispatcher.is_current,
        )
        with self._lock:
            self._require_running()
            watch(feed, collection)
        return feed

    def _feed_size(self, max_queue: int | None) -> int:
        return DEFAULT_FEED_SIZE if max_queue is None else check_size(max_queue)

    # -- internals: all below run with self._lock held unless said otherwise -------------
    def _require_running(self) -> None:
        if self._state == _RUNNING:
            self._session.check_open()
            return
        if self._state == _NEW:
            raise InvalidStateError(NOT_STARTED)
        raise ClientClosedError("the client is closed")

    def _pump(self) -> None:
        """Queue what the core wants written, then apply the events it produced.

        The caller writes the outbox once it has released the lock.
        """
        session = self._session
        transport = self._transport
        if transport is not None:
            texts = session.take_output()
            if texts:
                self._outbox.put(transport, texts)
        session.process()

    def _close_transport(self, reason: str, graceful: bool) -> None:
        # The session's hook: a non-graceful close aborts at once (heartbeat timeout, a bad
        # frame); the graceful one (close()) is run by close() itself, out of the lock.
        if graceful:
            return
        self._close_reason = reason
        transport = self._transport
        if transport is not None:
            transport.abort(reason)

    def _close_gracefully(self, transport: SyncTransport) -> None:
        """Out of the lock: write ``disconnect``, then the closing handshake, both bounded
        (a stuck write makes it an abort)."""
        watchdog = threading.Timer(3 * CLOSE_TIMEOUT, transport.abort, args=("closed",))
        watchdog.daemon = True
        watchdog.start()
        try:
            if self._outbox.write_before_close(transport, CLOSE_TIMEOUT):
                transport.close()
            else:
                transport.abort("closed (a write was stuck)")
        finally:
            watchdog.cancel()

    # -- the I/O thread -----------------------------------------------------------------
    def _io_main(self) -> None:
        try:
            self._connection_loop()
        except BaseException as exc:  # a bug; waiters must still end
            with self._lock:
                failure = self._session.crashed(exc)
                self._session.fail_all(failure)
            transport = self._transport
            if transport is not None:
                transport.abort("internal error")

    def _connection_loop(self) -> None:
        session = self._session
        while True:
            with self._lock:
                if self._state != _RUNNING:
                    return
                session.dialing()
                self._pump()
                self._dialing = True
            self._wake.clear()
            try:
                transport = self._dial(dial_spec(session.options), FrameMeter(session.stats))
            except Exception as exc:
                with self._lock:
                    self._dialing = False
                    delay = session.dial_failed(exc)
                    self._pump()
                if delay is None:
                    return
                self._wake.wait(delay)
                continue
            with self._lock:
                self._dialing = False
                if self._state != _RUNNING:
                    transport.abort("the client was closed")
                    session.proto.dial_failed(time.monotonic(), "the client was closed")
                    self._pump()
                    return
                self._transport = transport
                self._close_reason = None
                session.connection_made()
                self._pump()
            self._outbox.kick()
            reason = self._receive_loop(transport)
            # Ended: by the server, by a close(), or by us (an abort); either way nothing
            # more is read or written on it (a no-op when already closed).
            transport.abort(self._close_reason or reason)
            with self._lock:
                self._transport = None
                delay = session.connection_lost(self._close_reason or reason)
                self._pump()
            if delay is None:
                return
            if delay > 0:
                self._wake.wait(delay)

    def _receive_loop(self, transport: SyncTransport) -> str:
        """Receive until the transport closes; return why it closed."""
        if isinstance(transport, WebsocketsTransport) and transport.handoff:
            return self._receive_loop_handoff(transport)
        proto = self._session.proto
        lock = self._lock
        recv = transport.recv
        receive_text = proto.receive_text
        monotonic = time.monotonic
        outbox = self._outbox
        try:
            while True:
                with lock:
                    if self._close_reason is not None:
                        return self._close_reason
                    deadline = proto.next_deadline()
                timeout = _MAX_WAIT if deadline is None else deadline - monotonic()
                if timeout <= 0:
                    self._run_timers()
                    continue
                try:
                    messages = recv(min(timeout, _MAX_WAIT))
                except TimeoutError:
                    self._run_timers()
                    continue
                with lock:
                    now = monotonic()
                    for text in messages:
                        receive_text(text, now)
                    # Take what is already queued without blocking; flush to the store
                    # when the queue runs dry, so a burst is applied as one batch, and after
                    # _BURST messages in any case: the next recv may block, and the data
                    # already taken must not wait for whatever comes next.
                    for _ in range(_BURST):
                        try:
                            messages = recv(0)
                        except TimeoutError:
                            break
                        for text in messages:
                            receive_text(text, now)
                    proto.flush_data()
                    self._pump()
                if outbox:
                    outbox.kick()
        except TransportClosed as exc:
            return exc.reason
        except Exception as exc:  # a bug in a layer below; reconnect rather than die
            logger.exception("error while processing DDP messages; reconnecting")
            return f"internal error: {exc!r}"

    def _receive_loop_handoff(self, transport: WebsocketsTransport) -> str:
        """:meth:`_receive_loop` on a transport that lets a caller receive its own result
        (:meth:`_receive_for`): messages are taken off the transport only under the lock,
        by the I/O thread when no caller is receiving, so they are handled in order
        whichever thread takes them."""
        proto = self._session.proto
        lock = self._lock
        wait = transport.wait
        monotonic = time.monotonic
        outbox = self._outbox
        try:
            while True:
                with lock:
                    if self._close_reason is not None:
                        return self._close_reason
                    deadline = proto.next_deadline()
                timeout = _MAX_WAIT if deadline is None else deadline - monotonic()
                if timeout <= 0 or not wait(None, min(timeout, _MAX_WAIT)):
                    self._run_timers()
                    continue
                with lock:
                    if self._receiver is not None:
                        continue  # a caller receives meanwhile; it hands back when done
                    self._apply_queued(transport)
                if outbox:
                    outbox.kick()
        except TransportClosed as exc:
            return exc.reason
        except Exception as exc:  # a bug in a layer below; reconnect rather than die
            logger.exception("error while processing DDP messages; reconnecting")
            return f"internal error: {exc!r}"

    def _apply_queued(self, transport: WebsocketsTransport) -> None:
        """Under the lock: apply what is queued on ``transport``, up to a burst, then pump.

        Data goes to the store only when the queue has run dry, so that a burst is applied
        as one batch (what follows a full burst comes with the next one).
        """
        proto = self._session.proto
        receive_text = proto.receive_text
        now = time.monotonic()
        texts, dry = transport.take(_BURST)
        for text in texts:
            receive_text(text, now)
        if dry:
            proto.flush_data()
        self._pump()

    def _receive_for(self, result: Outcome[Any], timeout: float | None) -> float | None:
        """Receive in the I/O thread's place until ``result`` is settled; return what is
        left of ``timeout``.

        A caller that waits for its call's result takes the messages itself, as they
        arrive, so the result reaches it in one thread hop (websockets' reader thread to
        the caller), as with websockets' own blocking client, instead of two (through the
        I/O thread); once its result is settled, it applies what is already queued (the
        call's ``updated`` comes in the same read) and hands the rest back to the I/O
        thread. One caller at a time does this, on a transport that
        allows it (:attr:`WebsocketsTransport.handoff`); any other returns at once and
        waits on its future. The I/O thread keeps running the timers meanwhile.
        Messages are handled under the lock exactly as the I/O thread handles them
        (callbacks are queued for the dispatcher thread, writes left to the writer
        thread), so nothing changes but which thread does it.
        """
        transport = self._transport
        if result.done() or not isinstance(transport, WebsocketsTransport):
            return timeout
        if not transport.handoff:
            return timeout
        waker: Flag | None = getattr(self._wakers, "event", None)
        if waker is None:
            waker = self._wakers.event = Flag()
        lock = self._lock
        with lock:
            if self._receiver is not None or self._transport is not transport:
                return timeout
            if self._close_reason is not None or self._state != _RUNNING:
                return timeout
            self._receiver = waker
            transport.set_consumer(waker)
        monotonic = time.monotonic
        deadline = None if timeout is None else monotonic() + timeout
        # The result may also be settled without a message: cancel() from another thread,
        # close(), a permanent failure. That wakes the caller too.
        result.add_done_callback(lambda _: waker.set())
        try:
            while True:
                waker.clear()  # before the check: a setting after it is not lost
                if result.done():
                    break
                left = None if deadline is None else deadline - monotonic()
                if (left is not None and left <= 0) or not transport.wait(waker, left):
                    break
                with lock:
                    if self._transport is not transport or self._close_reason is not None:
                        break
                    # Everything queued, as the I/O thread would take it: the messages
                    # that came with the result (its ``updated``) are applied now rather
                    # than after a wake-up of the I/O thread, which costs more.
                    self._apply_queued(transport)
                if self._outbox:
                    self._outbox.kick()
        except TransportClosed:
            pass  # the I/O thread sees the end too, once handed back
        except Exception as exc:  # a bug in a layer below: as in the I/O thread
            logger.exception("error while processing DDP messages; reconnecting")
            with lock:
                self._close_transport(f"internal error: {exc!r}", False)
        finally:
            with lock:
                self._receiver = None
                transport.set_consumer(None)
        return None if deadline is None else max(0.0, deadline - monotonic())

    def _run_timers(self) -> None:
        with self._lock:
            self._session.proto.on_timer(time.monotonic())
            self._pump()
        if self._outbox:
            self._outbox.kick()

    def __repr__(self) -> str:
        return f"<ddp.Client {self.url} {self.status.name}>"


# The public methods' docstrings are shared with ``ddp.AsyncClient`` (see ddp._docs).
document(
    Client,
    STREAM_METHODS,
    {"feed": "SyncFeed", "queue": "1000", "callbacks": "on the dispatcher thread"},
)
document(
    Client,
    CLIENT_METHODS,
    {
        "driver_args": '    transport: ``"auto"`` or ``"websockets"`` (the default:\n'
        "        websockets' blocking client; picows is asyncio-only), or a dial function\n"
        "        of your own (for tests or another websocket library; its interface is in the\n"
        "        transports guide).",
        "close_wait": "the I/O thread and for the callbacks already queued",
        "close_from": "a callback may call it",
        "change_callbacks": "on the dispatcher thread, after the observers of the same batch",
    },
)
