"""One DDP session: ordered message processing, methods, subscriptions, resumption.

Theory of operation. A session outlives its websocket: when the socket drops (without a
``disconnect`` message and without the server closing it) the session stays for the grace
period, queueing what it would have sent, and a ``connect`` carrying its id and the exact
``receivedCount`` picks it up again (``connected`` with the same id, then the queue in
order). ``sent_count`` counts every message that goes through :meth:`Session.send` to a
socket except ping/pong, as Meteor 3.5 does.

Inbound messages are processed one at a time, in order, by a worker task; ``ping``/``pong``
and ``disconnect`` are handled at once. A method or publication handler that calls
``unblock()`` lets the worker move on while it still runs.

Universal subscriptions (publications without a name) start when the session starts, before
its first client message is processed, and re-run with the named ones whenever the user
changes. Stream subscriptions (:class:`ddp.server.ServerStream`) bypass the merge box: their
events are sent as they are emitted, each one a message of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ddp.exceptions import MethodError
from ddp.messages import encode_message
from ddp.server._util import call_maybe_async, logger, wire_error
from ddp.server.heartbeat import Heartbeat
from ddp.server.mergebox import MergeBox, diff_views
from ddp.server.method import MethodContext, MethodHandler, check_arguments
from ddp.server.publication import PublishHandler, Subscription

if TYPE_CHECKING:
    from ddp.server.server import Server
    from ddp.server.transport import Transport

__all__ = ["ConnectionInfo", "Session"]

_UNCOUNTED = frozenset({"ping", "pong"})


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What handlers may know about the client connection.

    Attributes:
        id: The DDP session id (stable across a resumed session).
        client_address: ``(host, port)`` of the socket that opened the session.
        http_headers: The HTTP headers of that socket's handshake (lower-case names).
    """

    id: str
    client_address: Any
    http_headers: Mapping[str, str] = field(default_factory=dict)


class Session:
    """The server side of one DDP session (see the module docstring).

    Attributes:
        id: The session id.
        version: The negotiated DDP version.
        user_id: The logged-in user, or ``None``.
        sent_count: Messages sent to a socket, counted as Meteor counts them.
        mergebox: The client's view of the published documents.
    """

    def __init__(
        self, server: Server, session_id: str, version: str, connection: ConnectionInfo
    ) -> None:
        self.server = server
        self.id = session_id
        self.version = version
        self.connection = connection
        self.user_id: str | None = None
        self.sent_count = 0
        self.mergebox = MergeBox(self._send_data)
        self.login_token: str | None = None
        self._transport: Transport | None = None
        self._heartbeat: Heartbeat | None = None
        self._queue: list[str] | None = None
        self._grace: asyncio.TimerHandle | None = None
        self._expecting_disconnect = False
        self._destroyed = False
        self._subs: dict[str, Subscription] = {}
        self._universal: list[Subscription] = []
        # While subscriptions re-run after a user change: the old ones not yet replaced (a
        # destroy must stop them too) and whether new universal ones must wait for the re-run.
        self._replaced: list[Subscription] = []
        self._rerunning = False
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sending = True
        self._pending_ready: list[str] = []
        self._user_change: asyncio.Task[None] | None = None
        self._worker = asyncio.create_task(self._work(), name=f"ddp-session-{session_id}")

    # -- state -------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a websocket is attached."""
        return self._transport is not None

    @property
    def in_grace(self) -> bool:
        """Whether the session lost its socket and waits to be resumed."""
        return self._grace is not None

    @property
    def destroyed(self) -> bool:
        """Whether the session is gone for good."""
        return self._destroyed

    @property
    def transport(self) -> Transport | None:
        """The attached transport, or ``None``."""
        return self._transport

    @property
    def queued(self) -> int:
        """How many messages wait for a resume."""
        return len(self._queue or ())

    @property
    def subscriptions(self) -> Mapping[str, Subscription]:
        """The running subscriptions by id (read-only)."""
        return MappingProxyType(self._subs)

    def can_resume(self, received_count: Any) -> bool:
        """Meteor's rule: in grace, not expecting a disconnect, and an exactly equal count."""
        return (
            self.in_grace
            and not self._expecting_disconnect
            and type(received_count) is int
            and received_count == self.sent_count
        )

    # -- sending -----------------------------------------------------------------------------

    def send(self, msg: dict[str, Any]) -> None:
        """Encode and send ``msg`` through the session (counted unless ping/pong)."""
        if self._destroyed:
            return
        self._deliver(encode_message(msg), msg.get("msg") not in _UNCOUNTED)

    def send_encoded(self, text: str) -> None:
        """Send one already encoded, counted message (a stream event: no merge box)."""
        self._deliver(text, True)

    def _deliver(self, text: str, counted: bool) -> None:
        if self._destroyed:
            return
        transport = self._transport
        if transport is not None:
            if counted:
                self.sent_count += 1
            transport.enqueue(text, counted)
        elif counted and self._queue is not None:
            if len(self._queue) >= self.server.max_message_queue_length:
                logger.info("session %s: resume queue overflow, session dropped", self.id)
                self.destroy()
                return
            self._queue.append(text)

    def _send_data(self, msg: dict[str, Any]) -> None:
        # While subscriptions re-run after a login the merge box is rebuilt silently and
        # only the difference is sent afterwards.
        if self._sending:
            self.send(msg)

    def send_ready(self, sub_id: str) -> None:
        """Send ``ready`` for ``sub_id`` (held back while subscriptions re-run)."""
        if self._sending:
            self.send({"msg": "ready", "subs": [sub_id]})
        else:
            self._pending_ready.append(sub_id)

    def send_error(self, reason: str, offending: Any = None) -> None:
        """Send a session-level ``error`` message (counted, as Meteor's ``sendError``)."""
        msg: dict[str, Any] = {"msg": "error", "reason": reason}
        if offending is not None:
            msg["offendingMessage"] = offending
        self.send(msg)

    # -- socket lifecycle ----------------------------------------------------------------

    def attach(self, transport: Transport) -> None:
        """Bind a socket: send ``connected``, replay the resume queue, start the heartbeat."""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        queue, self._queue = self._queue or [], None
        self._transport = transport
        self.send({"msg": "connected", "session": self.id})
        for text in queue:
            self._deliver(text, True)
        if self.version != "pre1" and self.server.heartbeat_interval > 0:
            self._heartbeat = Heartbeat(
                self.server.heartbeat_interval,
                self.server.heartbeat_timeout,
                send_ping=lambda: self.send({"msg": "ping"}),
                on_timeout=self._heartbeat_timed_out,
                stalled=lambda: self.server.faults.stall_heartbeats,
            )
            self._heartbeat.start()

    def note_activity(self) -> None:
        """A frame arrived on the socket: it counts as a pong for the heartbeat."""
        if self._heartbeat is not None:
            self._heartbeat.received()

    def detach(self, transport: Transport, unsent: list[str] | None = None) -> bool:
        """The socket closed. Return True when the session is kept for a resume.

        Args:
            transport: The transport that closed.
            unsent: Counted messages the transport never wrote (after an abort): they are
                uncounted and go first in the resume queue.
        """
        if transport is not self._transport:
            return False
        self._transport = None
        self._stop_heartbeat()
        grace = self.server.disconnect_grace_period
        if self._destroyed or self._expecting_disconnect or grace <= 0:
            self.destroy()
            return False
        self.sent_count -= len(unsent or ())
        self._queue = list(unsent or ())
        self._grace = asyncio.get_running_loop().call_later(grace, self.destroy)
        return True

    def close(self) -> None:
        """Close from the server side: no grace period, the session ends with the socket."""
        self._expecting_disconnect = True
        if self._transport is not None:
            self._transport.close()
        else:
            self.destroy()

    def destroy(self, *, abort: bool = False) -> None:
        """End the session now: stop its subscriptions and forget it (idempotent).

        Args:
            abort: Also cut the attached socket (no close frame).
        """
        if self._destroyed:
            return
        self._destroyed = True
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._queue = None
        self._stop_heartbeat()
        if abort and self._transport is not None:
            self._transport.abort()
        for sub in [*self._subs.values(), *self._universal, *self._replaced]:
            sub._deactivate()
        self._subs.clear()
        self._universal.clear()
        self._replaced.clear()
        self._worker.cancel()
        self.server._forget_session(self)

    def cancel_tasks(self) -> None:
        """Cancel the handlers still running (server shutdown)."""
        for task in list(self._tasks):
            task.cancel()

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    def _heartbeat_timed_out(self) -> None:
        logger.info("session %s: heartbeat timeout", self.id)
        self._heartbeat = None
        transport = self._transport
        if transport is not None:
            self.server._socket_lost(self, transport, transport.abort())

    # -- receiving -----------------------------------------------------------------------

    def receive(self, msg: dict[str, Any]) -> None:
        """Handle one message of the connected client (called in arrival order)."""
        kind = msg.get("msg")
        if kind == "disconnect":
            # Handled ahead of queued work: the socket close that follows ends the session.
            self._expecting_disconnect = True
            return
        if self.version != "pre1" and kind in _UNCOUNTED:
            if kind == "ping" and not self.server.faults.stall_heartbeats:
                pong: dict[str, Any] = {"msg": "pong"}
                if isinstance(msg.get("id"), str):
                    pong["id"] = msg["id"]
                self.send(pong)
            return
        self._inbox.put_nowait(msg)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by the session; its failure is logged."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("session %s: task failed", self.id, exc_info=task.exception())

    async def _work(self) -> None:
        # Meteor starts the universal subscriptions right after `connected`, before anything
        # the client sent is handled.
        for handler in list(self.server._universal_publications):
            await self._run_universal(handler)
        while True:
            msg = await self._inbox.get()
            try:
                await self._process(msg)
            except Exception:
                logger.exception("session %s: error while processing %r", self.id, msg)

    async def _process(self, msg: dict[str, Any]) -> None:
        kind = msg.get("msg")
        if kind == "method":
            await self._on_method(msg)
        elif kind == "sub":
            await self._on_sub(msg)
        elif kind == "unsub":
            if isinstance(msg.get("id"), str):
                self.stop_subscription(msg["id"])
            else:
                self.send_error("Bad request", msg)
        else:
            self.send_error("Bad request", msg)

    async def _until_done_or_unblocked(self, task: asyncio.Task[Any], event: asyncio.Event) -> None:
        waiter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    # -- methods -------------------------------------------------------------------------

    async def _on_method(self, msg: dict[str, Any]) -> None:
        method_id, name, params = msg.get("id"), msg.get("method"), msg.get("params", [])
        seed = msg.get("randomSeed")
        if (
            not isinstance(method_id, str)
            or not isinstance(name, str)
            or not isinstance(params, list)
            or ("randomSeed" in msg and not isinstance(seed, str))
        ):
            self.send_error("Malformed method invocation", msg)
            return
        handler = self.server._methods.get(name)
        if handler is None:
            error = MethodError(404, f"Method '{name}' not found").to_wire()
            self.send({"msg": "result", "id": method_id, "error": error})
            self.send({"msg": "updated", "methods": [method_id]})
            return
        ctx = MethodContext(self, method_id, name, seed)
        task = self.spawn(self._run_method(ctx, handler, params))
        await self._until_done_or_unblocked(task, ctx._unblocked)

    async def _run_method(
        self, ctx: MethodContext, handler: MethodHandler, params: list[Any]
    ) -> None:
        result: Any = None
        error: dict[str, Any] | None = None
        try:
            limited = self.server._rate_limiter.check(self.id, "method", ctx.name)
            if limited is not None:
                raise limited
            check_arguments(handler, ctx, params)
            result = await call_maybe_async(handler, ctx, *params)
        except Exception as exc:
            error = wire_error(exc, f"while invoking method {ctx.name!r}")
        await self._settle_user_change()
        faults = self.server.faults
        if faults.result_delay > 0:
            await asyncio.sleep(faults.result_delay)
        reply: dict[str, Any] = {"msg": "result", "id": ctx.method_id}
        if error is not None:
            reply["error"] = error
        elif result is not None:
            reply["result"] = result
        try:
            result_text = encode_message(reply)
        except Exception as exc:
            bad = wire_error(exc, f"while encoding the result of {ctx.name!r}")
            result_text = encode_message({"msg": "result", "id": ctx.method_id, "error": bad})
        updated_text = encode_message({"msg": "updated", "methods": [ctx.method_id]})
        if faults.results_after_updated:
            self._deliver(updated_text, True)
            self._deliver(result_text, True)
        else:
            self._deliver(result_text, True)
            self._deliver(updated_text, True)

    # -- subscriptions -------------------------------------------------------------------

    async def _on_sub(self, msg: dict[str, Any]) -> None:
        sub_id, name, params = msg.get("id"), msg.get("name"), msg.get("params", [])
        if not isinstance(sub_id, str) or not isinstance(name, str) or not isinstance(params, list):
            self.send_error("Malformed subscription", msg)
            return
        handler = self.server._publications.get(name)
        if handler is None:
            error = MethodError(404, f"Subscription '{name}' not found").to_wire()
            self.send({"msg": "nosub", "id": sub_id, "error": error})
            return
        if sub_id in self._subs:
            return  # idempotent: a client re-sending its subs after a resume
        limited = self.server._rate_limiter.check(self.id, "subscription", name)
        if limited is not None:
            self.send({"msg": "nosub", "id": sub_id, "error": limited.to_wire()})
            return
        sub = Subscription(self, sub_id, name, params, handler)
        self._subs[sub_id] = sub
        task = self.spawn(sub._run())
        await self._until_done_or_unblocked(task, sub._unblocked)

    def start_universal(self, handler: PublishHandler) -> None:
        """Start a universal subscription of ``handler`` (a publication added late)."""
        if not self._destroyed and not self._rerunning:
            self.spawn(self._run_universal(handler))

    async def _run_universal(self, handler: PublishHandler) -> None:
        if self._destroyed:
            return
        sub = Subscription(self, None, None, [], handler)
        self._universal.append(sub)
        await sub._run()

    def stop_subscription(
        self, target: str | Subscription, error: BaseException | None = None
    ) -> None:
        """Remove a subscription's documents, then send ``nosub`` (with ``error``).

        ``target`` is a subscription id (``nosub`` is sent even for an unknown one, as
        Meteor does) or a :class:`Subscription`. A universal subscription gets no ``nosub``;
        its error is logged.
        """
        if isinstance(target, Subscription):
            if target.id is None:
                self._stop_universal(target, error)
                return
            if self._subs.get(target.id) is not target:
                target._deactivate()  # replaced by a re-run: the client knows only the new one
                return
            sub_id = target.id
        else:
            sub_id = target
        sub = self._subs.pop(sub_id, None)
        name = None
        if sub is not None:
            name = sub.name
            sub._remove_all_documents()
            sub._deactivate()
        msg: dict[str, Any] = {"msg": "nosub", "id": sub_id}
        if error is not None:
            msg["error"] = wire_error(error, f"from sub {name} id {sub_id}")
        self.send(msg)

    def _stop_universal(self, sub: Subscription, error: BaseException | None) -> None:
        if sub in self._universal:
            self._universal.remove(sub)
        if not sub.stopped:
            sub._remove_all_documents()
            sub._deactivate()
        if error is not None:
            wire_error(error, "from a universal subscription")  # logs what is not client-safe

    # -- login -----------------------------------------------------------------------------

    def set_user_id(self, user_id: str | None) -> None:
        """Change the connection's user and re-run its subscriptions as that user.

        Raises:
            TypeError: ``user_id`` is neither a str nor ``None``.
        """
        if user_id is not None and not isinstance(user_id, str):
            raise TypeError(f"a user id must be a str or None, not {type(user_id).__name__}")
        if user_id == self.user_id:
            return
        self.user_id = user_id
        self._user_change = self.spawn(self._rerun_subscriptions(self._user_change))

    async def _settle_user_change(self) -> None:
        if self._user_change is not None:
            with contextlib.suppress(Exception):
                await self._user_change

    async def _rerun_subscriptions(self, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        if self._destroyed:
            return
        before = self.mergebox.snapshot()
        self._sending = False
        self._rerunning = True
        self.mergebox = MergeBox(self._send_data)
        old, self._subs = self._subs, {}
        old_universal, self._universal = self._universal, []
        for sub in old_universal:
            sub._deactivate()
        for sub in old.values():
            # A stream keeps delivering until its replacement is registered, so that no
            # event falls in the gap while other handlers of the re-run are awaited.
            if not sub.bypasses_mergebox:
                sub._deactivate()
        self._replaced = list(old.values())
        try:
            for sub_id, sub in old.items():
                if self.destroyed:
                    return
                sub._deactivate()
                self._replaced.remove(sub)
                new = sub._recreate()
                self._subs[sub_id] = new
                await new._run()
            for handler in list(self.server._universal_publications):
                if self.destroyed:
                    return
                await self._run_universal(handler)
        finally:
            self._rerunning = False
            self._sending = True
            for msg in diff_views(before, self.mergebox.snapshot()):
                self.send(msg)
            pending, self._pending_ready = self._pending_ready, []
            if pending:
                self.send({"msg": "ready", "subs": pending})
