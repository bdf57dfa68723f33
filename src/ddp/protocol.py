"""The Sans-I/O DDP client core: a state machine with no sockets, threads or clocks.

How a driver uses the core
--------------------------
::

    proto = ClientProtocol(store=registry)        # registry: ddp.collection.CollectionRegistry
    while True:
        proto.dialing(now)                         # status DIALING / RECONNECTING
        try: ws = dial(url)
        except OSError as exc:
            delay = proto.dial_failed(now, str(exc))   # None: give up (status FAILED)
            ...sleep(delay) or stop...
            continue
        proto.connection_made(now)                 # queues `connect`
        loop:
            for text in proto.data_to_send(): ws.send(text)
            text = ws.recv(...)                    # with a timeout until proto.next_deadline()
            proto.receive_text(text, now)
            when the receive queue is momentarily empty: proto.flush_data()
            on deadline: proto.on_timer(now)
            for event in proto.events_received(): resolve futures, run listeners
            if TransportShouldClose in events: close ws
        delay = proto.connection_lost(now, reason) # None: stop (closed or failed)
        sleep(delay)

``now`` is any monotonic clock in seconds (``time.monotonic()``, ``loop.time()``); the core
only compares and adds them.

Theory of operation
-------------------
Everything that decides *what* a DDP client does lives here; the drivers only decide *when*
(which thread or task runs the core, when frames are written). The core never blocks and
never raises on what the server sends: a frame it cannot use becomes a ``ProtocolViolation``
event and one WARNING line on the ``ddp.protocol`` logger, and the connection goes on.

**Transport, phase and status.** The core is always in one phase, and moves between
phases only along a fixed table of moves ``(phase, trigger) -> phase`` (each phase has its
status); a move the table does not have raises ``InvalidStateError`` rather than going anywhere
unplanned. The driver reports the transport's life: ``dialing`` (phase DIALING, status
DIALING the first time; REDIALING, status RECONNECTING, afterwards), ``connection_made``
(CONNECTING; the core queues ``connect``), ``connection_lost`` / ``dial_failed`` (WAITING,
status RECONNECTING, with a delay, or FAILED). ``connected`` from the server moves to
CONNECTED. ``close()`` moves to CLOSING (status DISCONNECTING) while a dial or a transport
has yet to end, then CLOSED (DISCONNECTED); giving up moves to FAILING or FAILED (status
FAILED), and a later ``close()`` leaves it there. Every status change is a ``StatusChanged``
event, in order. When the core decides the transport is dead (connect timeout, heartbeat
timeout, ``failed``, ``close()``) it emits ``TransportShouldClose`` once (the phase becomes
*doomed*); the driver closes the socket and then calls ``connection_lost`` as for any other
loss. Frames are read only while a transport is open and the core neither closed nor failed.

**Nothing before ``connected``.** Unlike Meteor, which pipelines methods and subscriptions
behind ``connect``, the core holds every method and subscription until ``connected`` has
told it whether the server kept our session. That is what makes the two reconnect plans
below possible without ever running a call twice by mistake.

**Version negotiation.** ``connect`` proposes one version (the first of ``versions``, or the
one the server asked for last time) and lists all. ``failed{version}`` naming a version we
offer makes the next attempt propose it; at once and without counting as a retry only if
that version has not been proposed since the last ``connected``. Otherwise (the very
version we proposed, or one a confused server already sent us away from) the attempt is an
ordinary, counted and backed-off failure: no sequence of answers makes the core dial faster
than its backoff allows, beyond one quick switch per offered version. A ``failed`` naming a
version we do not offer is permanent (FAILED, everything pending ends with
``VersionNegotiationError``).

**Strict servers.** A server older than Meteor 3.5 may refuse the ``session`` and
``receivedCount`` of a resuming ``connect`` with an ``error`` (``"Malformed connect"``)
instead of ``connected``. Any ``error`` in answer to a resuming ``connect`` (except
``"Already connected"``, Meteor's answer to a repeated ``connect``) makes the core send a
plain ``connect`` at once on the same transport, and never offer that server a resumption
again (:attr:`ClientProtocol.offers_resumption`); a new session and its plan follow.

**Methods and blocks** (Meteor's ``_outstandingMethodBlocks``). Calls are queued in
blocks: consecutive non-wait calls share one block, every ``wait=True`` call has a block of its own.
Only the first block is ever on the wire; a block is done when each of its calls is
*finished*, that is has both its ``result`` and its ``updated``, and only then is the next
block sent. A call reports two milestones, each exactly once: ``MethodResult`` (on
``result``) and ``MethodDataVisible`` (once ``result`` and ``updated`` have both arrived and
the call's writes are in the store), or both with a local error when the call ends without
them (``close()``, permanent failure, ``no_retry`` cut off). The core remembers which calls
were actually *transmitted* (handed out by ``data_to_send``), not merely queued, so a
``no_retry`` call made while offline is simply sent later instead of failing.

**Data and batches.** ``added``, ``changed``, ``removed``, ``addedBefore`` and
``movedBefore`` are appended, decoded but otherwise untouched, to a pending list that goes
to ``store.apply_batch(pending, reset=False)`` on ``flush_data()``, when it reaches
``max_batch``, and before any other message is processed, so that a ``ready``, ``updated``
or ``result`` is always reported after the data that precedes it is in the store. A frame
nested deeper than :data:`ddp.ejson.MAX_DEPTH` levels is a ``ProtocolViolation`` like any
other unreadable frame: it costs only itself.

**Quiescence** (Meteor's ``_subsBeingRevived`` and ``_methodsBlockingQuiescence``). While
a wait method is in flight, and after a reconnect onto a new session, the core holds data
back: data messages go to a buffer, and ``ready``, ``updated`` and ``nosub`` are deferred
with them (their bookkeeping of the two sets below happens at once). The hold ends when no
subscription is being revived and no blocking method lacks its ``updated``; then the buffer
goes to the store in one ``apply_batch`` (with ``reset=True`` after a new session, which
swaps the whole cache in one transaction: no flicker, no stale documents), and the deferred
messages are processed in their order. Data for collections that no subscription names
(autopublish, documents a method pushes) is buffered and applied the same way; it never
holds quiescence itself. The buffer grows with whatever the server sends until the hold
ends, as in Meteor: a revived subscription that never becomes ready holds it until its
``nosub``, its ``unsubscribe``, or the next connection (a ``cancel`` releases a call the
same way), and ``close()`` or a new session discards it.

**Reconnect, new session** (the server did not keep ours, or never resumes). In this order:
(1) a ``login`` with the resume token, when one is set, as a wait method of its own (its end
is a ``LoginResumed`` event, and a refused token is forgotten); (2) every call still without
a ``result``, with its same id, except ``no_retry`` calls transmitted on a lost connection,
which end with ``InvocationFailedError``; calls that had their ``result`` but not their
``updated`` are not re-sent and become data-visible at quiescence, and an ``updated``
received before the drop no longer counts; (3) every subscription, ready or not, with its
same id. Quiescence then waits for every subscription that was ready before the drop and
for every call sent in step 1 or 2; if nothing is pending the store is reset at once.

**Reconnect, resumed session** (Meteor 3.5: ``connected`` repeats our session id). The
store, the login and the subscriptions stand: no reset, no login, no quiescence of its own.
The core re-sends ``sub`` for every subscription (the server ignores ids it has, and
recovers one lost in flight) and the ``unsub`` of every subscription stopped while offline.
Calls still without a ``result`` are held, because re-sending one the server is still
running would run it twice (Meteor re-sends at once and does exactly that). Two private
messages follow: a ``ping``, which a live server answers at once (no ``pong`` within
``heartbeat_timeout``: the transport is closed), and an ordering *barrier*, a ``sub`` to the
publication ``RESUME_BARRIER`` that no server has. A server handles a connection's messages
in order, so its ``nosub`` comes only after the replay of what it queued for us and after
every call it received before the drop has returned its ``result``. When the barrier is
answered, only calls still without a ``result`` are re-sent, with their ids: the server
never got them (``no_retry`` ones that were transmitted end with ``InvocationFailedError``
instead, as they may have been lost either way). Only a call the server runs with
``this.unblock()`` can still run twice. A server that never answers the barrier (it
ignores unknown subscriptions) gets ``resume_barrier_timeout`` seconds after the ``pong``,
then the calls are re-sent as Meteor would.

**receivedCount** is counted exactly as Meteor 3.5's server counts ``sentCount``: every
message with a ``msg`` received on an established session, except ``ping`` and ``pong``.
It goes up on receipt, before processing; a new session's ``connected`` sets it to 1, a
resumed one adds 1 to the count we offered. Frames that arrive before ``connected`` on a
transport (``failed``, socket-level ``error`` replies) are never counted, because the server
writes them straight to the socket without counting them either; counting them, as Meteor's
client does, only makes the next resume fail.

**Heartbeats** (Meteor's ``heartbeat.js``). After ``heartbeat_interval`` seconds without any
inbound frame, and with no ping outstanding, the core sends a ``ping`` without id; any
inbound frame counts as its answer, and none within ``heartbeat_timeout`` closes the
transport. There are no heartbeats under ``pre1`` or with an interval of 0/None. Server
pings are always answered with a ``pong`` echoing their id. Until ``connected``, the only
timer is ``connect_timeout``.

**Backoff.** After a loss the delay comes from :class:`ddp.backoff.Backoff` and the retry
count, which ``connected`` resets. ``max_attempts`` bounds the consecutive retries;
``backoff=False`` makes the first loss permanent; ``reconnect_now()`` and a version
switch to a version not yet proposed in this cycle make the next attempt immediate
without counting it. Giving up is FAILED,
and every pending call and subscription ends with ``ConnectionFailedError``.
"""

from __future__ import annotations

import itertools
import logging
import random as _random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import orjson

from ddp._methods import Method, MethodQueue
from ddp._phase import (
    DOOMED,
    ESTABLISHED,
    STATUS,
    TERMINAL,
    TRANSPORT_OPEN,
    Phase,
    Trigger,
    next_phase,
)
from ddp._quiescence import Quiescence
from ddp.auth import resume_login_params
from ddp.backoff import Backoff
from ddp.ejson import MAX_DEPTH, exceeds_max_depth, try_fast_dumps
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
    InvalidStateError,
    InvocationFailedError,
    LoginError,
    MethodError,
    SubscriptionError,
    VersionNegotiationError,
)
from ddp.ids import random_id
from ddp.messages import encode_message, parse_message

__all__ = ["DEFAULT_VERSIONS", "ClientProtocol", "DataStore"]

DEFAULT_VERSIONS: tuple[str, ...] = ("1", "pre2", "pre1")

_log = logging.getLogger("ddp.protocol")

_DATA_KINDS = frozenset(("added", "changed", "removed", "addedBefore", "movedBefore"))
# Not counted in receivedCount: the server does not count ping/pong, and writes `failed`
# straight to the socket.
_UNCOUNTED_KINDS = frozenset(("ping", "pong", "failed"))
_FRAME_EXCERPT = 300
_PRE1 = "pre1"
_NO_EVENTS: tuple[Event, ...] = ()
# Parameters this short cannot nest deeper than MAX_DEPTH once in the frame (which adds
# one level): the template only counts brackets of longer ones.
_SHALLOW_PARAMS = 2 * (MAX_DEPTH - 1)
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_DISCONNECT_FRAME = encode_message({"msg": "disconnect"})
_ALREADY_CONNECTED = "Already connected"  # Meteor's `error` reason for a repeated `connect`
RESUME_BARRIER = "ddp-client/resume-barrier"
"""The publication name of the ordering barrier sent after a resumed session (see the theory
of operation). No server publishes it: Meteor answers ``nosub`` 404, in order."""


class DataStore(Protocol):
    """Where the core hands data messages: ``ddp.collection.CollectionRegistry`` does this.

    ``messages`` are decoded DDP messages (dicts with ``msg`` in ``added``, ``changed``,
    ``removed``, ``addedBefore``, ``movedBefore``; ``fields`` already EJSON-decoded; ``id`` the
    wire id string). ``reset=True`` means: first forget every document of every collection,
    then apply ``messages``; the whole call is one transaction for observers.

    A store that also has ``adopt_fields(fields)`` and ``apply_adopted_batch(messages,
    reset)`` decodes ``fields`` itself: the core passes ``adopt_fields`` to
    :func:`ddp.messages.parse_message` and hands the batches to ``apply_adopted_batch``.
    """

    def apply_batch(self, messages: Sequence[dict[str, Any]], reset: bool) -> None:
        """Apply ``messages`` in order as one batch (after clearing all data if ``reset``)."""
        ...


class _Sub:
    """One live subscription."""

    __slots__ = ("announced", "frame", "id", "ready")

    def __init__(self, sub_id: str, frame: str) -> None:
        self.id = sub_id
        self.frame = frame
        self.ready = False
        self.announced = False  # ever queued on a transport: the server may know it


class ClientProtocol:
    """The DDP client state machine (see the module docstring for how to drive it).

    Args:
        store: Where data messages go (``None``: they are validated and dropped).
        versions: The DDP versions to offer, preferred first.
        heartbeat_interval: Idle seconds before a heartbeat ``ping`` (0 or ``None``: none).
        heartbeat_timeout: Seconds to wait for any frame after that ping.
        connect_timeout: Seconds from ``connection_made`` to ``connected`` (0 or ``None``:
            no limit).
        backoff: A :class:`ddp.backoff.Backoff` (or any object with its ``delay``);
            ``None`` or ``True`` for Meteor's schedule; ``False`` never to reconnect.
        max_attempts: Consecutive reconnect attempts before giving up (``None``: forever).
        max_batch: Most data messages handed to the store in one batch outside quiescence.
        random: A source of floats in ``[0, 1)`` for ids and jitter (tests pass a fixed one).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An argument has an impossible value.
    """

    def __init__(
        self,
        *,
        store: DataStore | None = None,
        versions: Sequence[str] = DEFAULT_VERSIONS,
        heartbeat_interval: float = 17.5,
        heartbeat_timeout: float = 15.0,
        connect_timeout: float = 10.0,
        backoff: Any = None,  # Backoff | None (None: Meteor's defaults) | False (no retry)
        max_attempts: int | None = None,
        max_batch: int = 1000,
        random: Callable[[], float] | None = None,
        resume_barrier_timeout: float = 60.0,
    ) -> None:
        if isinstance(versions, str) or not versions:
            raise ValueError("versions must be a non-empty sequence of version strings")
        if not all(isinstance(v, str) and v for v in versions):
            raise TypeError("every DDP version must be a non-empty string")
        if backoff is None or backoff is True:
            backoff = Backoff()
        elif backoff is not False and not callable(getattr(backoff, "delay", None)):
            raise TypeError("backoff must be a ddp.backoff.Backoff, None, True or False")
        if max_attempts is not None and (
            isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 0
        ):
            raise ValueError("max_attempts must be None or an integer >= 0")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError("max_batch must be an integer >= 1")
        if not heartbeat_timeout or heartbeat_timeout < 0:
            raise ValueError("heartbeat_timeout must be > 0")
        if heartbeat_interval is not None and heartbeat_interval < 0:
            raise ValueError("heartbeat_interval must be >= 0 (0 turns heartbeats off)")
        if connect_timeout is not None and connect_timeout < 0:
            raise ValueError("connect_timeout must be >= 0 (0 means no limit)")
        if not resume_barrier_timeout or resume_barrier_timeout < 0:
            raise ValueError("resume_barrier_timeout must be > 0")
        self._resume_barrier_timeout = resume_barrier_timeout

        # -- configuration
        self._store = store
        # A store that decodes ``fields`` in the walk that stores them (see DataStore).
        adopt = getattr(store, "adopt_fields", None)
        self._adopt_fields: Callable[[dict[str, Any]], Any] | None = (
            adopt if callable(adopt) and hasattr(store, "apply_adopted_batch") else None
        )
        self._versions: tuple[str, ...] = tuple(versions)
        self._heartbeat_interval = float(heartbeat_interval or 0.0)
        self._heartbeat_timeout = float(heartbeat_timeout)
        self._connect_timeout = float(connect_timeout or 0.0)
        self._backoff: Any = backoff  # False: never reconnect
        self._max_attempts = max_attempts
        self._max_batch = max_batch
        self._random: Callable[[], float] | None = random
        self._jitter: Callable[[], float] = random or _random.random
        # The ids "1", "2", ... as MethodIdCounter hands them out, without a Python call.
        self._method_ids: Iterator[str] = map(str, itertools.count(1))

        # -- connection state (the phase and its table: ddp._phase)
        self._phase = Phase.IDLE
        self._reading = False  # phase in TRANSPORT_OPEN, kept by _move for the hot path
        self._failure: DDPError | None = None  # why it gave up
        self._session: str | None = None
        self._had_session = False
        self._offer_resumption = True  # until the server refuses a resuming `connect`
        self._offered_session: str | None = None  # the session the last `connect` offered
        self._version: str | None = None
        self._proposal = self._versions[0]
        self._proposed: set[str] = set()  # versions proposed since the last `connected`
        self._received_count = 0
        self._count_offered = 0
        self._attempts = 0
        self._immediate = False  # the next retry comes at once, uncounted
        self._last_inbound = 0.0
        # A heartbeat ping is outstanding while it is newer than the last inbound frame, so
        # the hot path only has to record when each frame arrived.
        self._ping_sent_at: float | None = None
        self._connect_deadline: float | None = None
        self._resume_ping_id: str | None = None
        self._resume_deadline: float | None = None
        self._barrier_id: str | None = None  # resumed session: the ordering barrier's sub id
        self._barrier_deadline: float | None = None
        self._pings_sent = 0
        self._pings_received = 0
        self._pongs_received = 0

        # -- output
        self._outbox: list[str] = []
        self._events: list[Event] = []

        # -- data and quiescence (the machine: ddp._quiescence)
        self._pending: list[dict[str, Any]] = []
        self._quiet: Quiescence[Method] = Quiescence()

        # -- methods (the block machine: ddp._methods) and subscriptions
        self._methods = MethodQueue()
        self._subs: dict[str, _Sub] = {}
        self._pending_unsubs: list[str] = []
        self._resume_token: str | None = None

        self._handlers: dict[str, Callable[[dict[str, Any], str], None]] = {
            "connected": self._on_connected,
            "failed": self._on_failed,
            "ping": self._on_ping,
            "pong": self._on_pong,
            "ready": self._on_ready,
            "nosub": self._on_nosub,
            "result": self._on_result,
            "updated": self._on_updated,
            "error": self._on_error,
        }

    # -- state ---------------------------------------------------------------------------
    @property
    def status(self) -> Status:
        """The current connection status."""
        return STATUS[self._phase]

    @property
    def session(self) -> str | None:
        """The current (or last) DDP session id."""
        return self._session

    @property
    def version(self) -> str | None:
        """The negotiated DDP version of the current connection."""
        return self._version

    @property
    def failure(self) -> DDPError | None:
        """Why the core gave up for good (status FAILED), or ``None`` while it has not.

        A :class:`~ddp.exceptions.VersionNegotiationError` when the server shares no DDP
        version with us, otherwise a :class:`~ddp.exceptions.ConnectionFailedError`
        (``backoff=False`` or ``max_attempts`` exhausted). ``close()`` is not a failure.
        """
        return self._failure

    @property
    def received_count(self) -> int:
        """Server messages counted for session resumption (all with ``msg`` but ping/pong)."""
        return self._received_count

    @property
    def pings_sent(self) -> int:
        """Pings the core sent (heartbeats, ``ping()`` and the resume ping)."""
        return self._pings_sent

    @property
    def pings_received(self) -> int:
        """Pings the server sent (each answered with a ``pong``)."""
        return self._pings_received

    @property
    def pongs_received(self) -> int:
        """``pong`` messages received."""
        return self._pongs_received

    @property
    def attempts(self) -> int:
        """Reconnect attempts counted since the last ``connected`` (the backoff's input)."""
        return self._attempts

    @property
    def offers_resumption(self) -> bool:
        """Whether the next ``connect`` may offer to resume the session.

        ``False`` once the server has refused a resuming ``connect`` with an ``error``
        (strict servers older than Meteor 3.5 do): the core then never offers it again.
        """
        return self._offer_resumption

    @property
    def resume_token(self) -> str | None:
        """The resume token the core logs in with after a new session, if any."""
        return self._resume_token

    # -- transport lifecycle (driver -> core) ---------------------------------------------
    def dialing(self, now: float) -> None:
        """The driver starts opening a transport (status DIALING, or stays RECONNECTING).

        Raises:
            InvalidStateError: The client was closed or has failed for good.
        """
        if self._phase in TERMINAL:
            raise InvalidStateError(
                "the client is closed" if self._closed() else "the client failed"
            )
        self._immediate = False  # a reconnect_now() is served by this very dial
        self._move(Trigger.DIAL)

    def dial_failed(self, now: float, reason: str) -> float | None:
        """Opening the transport failed: return the delay before the next attempt, or None
        when the client must give up (status FAILED; every pending call and subscription is
        failed with ConnectionFailedError through events)."""
        if self._phase in TERMINAL:
            self._move(Trigger.END, reason)
            return None
        return self._plan_retry(reason)

    def connection_made(self, now: float) -> None:
        """The transport is open: queue ``connect`` (status CONNECTING).

        Raises:
            InvalidStateError: No dial was announced with ``dialing``.
        """
        if self._phase in TERMINAL:
            closed = self._closed()
            self._move(Trigger.OPEN)
            self._events.append(
                TransportShouldClose("client closed" if closed else "client failed")
            )
            return
        self._send_connect(now, self._session if self._offer_resumption else None)
        self._move(Trigger.OPEN)

    def connection_lost(self, now: float, reason: str) -> float | None:
        """The transport closed: return the delay before redialing, or None to stop
        (after ``close()``, a permanent failure, or attempts exhausted)."""
        self._drop_transport()
        if self._phase in TERMINAL:
            self._events.append(ConnectionLost(reason, will_retry=False))
            self._move(Trigger.END, reason)
            return None
        # The loss is reported before what it leads to (RECONNECTING, or the failure).
        position = len(self._events)
        delay = self._plan_retry(reason)
        self._events.insert(position, ConnectionLost(reason, will_retry=delay is not None))
        return delay

    def receive_text(self, text: str, now: float) -> None:
        """Process one DDP message text from the server. Never raises on bad input.

        Frames are only read from an open transport: after ``close()``, a permanent failure
        or ``connection_lost`` they are ignored.
        """
        if not self._reading:
            return
        self._last_inbound = now  # any inbound frame also answers our heartbeat
        try:
            msg = parse_message(text, self._adopt_fields)
        except (DDPError, ValueError) as exc:
            self._violation(str(exc), text)
            return
        kind: Any = msg.get("msg")
        try:
            is_data = kind in _DATA_KINDS
        except TypeError:  # an array or object as `msg`
            is_data = False
        if is_data:
            # The hot path: no event object, no copy, no logging.
            self._received_count += 1
            get = msg.get  # bound once for the three reads below
            if type(get("collection")) is not str or type(get("id")) is not str:
                self._violation(f"{kind!r} without a string 'collection' and 'id'", text)
                return
            if kind != "added" and not self._valid_data_extras(msg, kind, text):
                return
            fields = get("fields")
            if type(fields) is not dict and fields is not None and not isinstance(fields, dict):
                self._violation(f"{kind!r} whose 'fields' is not an object", text)
                return
            quiet = self._quiet
            if quiet.active:
                quiet.data.append(msg)
                return
            pending = self._pending
            pending.append(msg)
            if len(pending) >= self._max_batch:
                self._flush()
            return
        if self._pending:
            self._flush()
        try:
            handler = self._handlers.get(kind)  # None for any other JSON value
        except TypeError:  # an array or object as `msg`
            handler = None
        if handler is None:
            if "msg" not in msg:
                if "server_id" not in msg:
                    self._violation("a frame without 'msg'", text)
                return
            self._received_count += 1
            self._violation(f"unknown message type {kind!r}", text)
            return
        if kind not in _UNCOUNTED_KINDS:
            self._received_count += 1
        handler(msg, text)

    def flush_data(self) -> None:
        """Hand buffered data messages to the store now (unless quiescence holds them)."""
        if self._pending:
            self._flush()

    def next_deadline(self) -> float | None:
        """When ``on_timer`` must next be called (heartbeat, connect timeout), or None."""
        phase = self._phase
        if phase is not Phase.CONNECTED:
            return self._connect_deadline if phase is Phase.CONNECTING else None
        deadline = self._resume_deadline
        if self._barrier_deadline is not None:
            barrier = self._barrier_deadline
            deadline = barrier if deadline is None else min(deadline, barrier)
        if self._heartbeats():
            sent = self._outstanding_ping()
            if sent is not None:
                beat = sent + self._heartbeat_timeout
            else:
                beat = self._last_inbound + self._heartbeat_interval
            deadline = beat if deadline is None else min(deadline, beat)
        return deadline

    def on_timer(self, now: float) -> None:
        """Run whatever timers are due at ``now``."""
        phase = self._phase
        if phase is not Phase.CONNECTED:
            if phase is not Phase.CONNECTING:
                return
            if self._connect_deadline is not None and now >= self._connect_deadline:
                self._should_close("connect timeout")
            return
        if self._resume_deadline is not None and now >= self._resume_deadline:
            self._should_close("no pong after resuming the session")
            return
        if self._barrier_deadline is not None and now >= self._barrier_deadline:
            _log.warning(
                "no answer to the resume barrier within %.0f s: re-sending the calls still "
                "without a result (a call the server is still running may run twice)",
                self._resume_barrier_timeout,
            )
            self._barrier_passed()
        if not self._heartbeats():
            return
        sent = self._outstanding_ping()
        if sent is not None:
            if now >= sent + self._heartbeat_timeout:
                self._should_close("heartbeat timeout")
        elif now >= self._last_inbound + self._heartbeat_interval:
            self._send_ping(None)
            self._ping_sent_at = now

    # -- output (core -> driver) ----------------------------------------------------------
    def data_to_send(self) -> list[str]:
        """Return (and forget) the DDP message texts to write, in order."""
        out = self._outbox
        if not out:
            return []
        self._outbox = []
        self._methods.unconfirmed.clear()  # those calls are on the wire now
        return out

    def has_work(self) -> bool:
        """Whether :meth:`flush_data` or :meth:`data_to_send` has anything to do: data
        messages buffered for the store, or texts to write (a cheap test for drivers)."""
        return bool(self._pending or self._outbox)

    def has_events(self) -> bool:
        """Whether :meth:`events_received` has events to return (a cheap test for drivers)."""
        return bool(self._events)

    def events_received(self) -> Sequence[Event]:
        """Return (and forget) the events produced since the last call, in order."""
        events = self._events
        if not events:
            return _NO_EVENTS
        self._events = []
        return events

    # -- commands (user -> core) ----------------------------------------------------------
    def call(
        self,
        method: str,
        params: Sequence[Any] = (),
        *,
        wait: bool = False,
        no_retry: bool = False,
        random_seed: str | None = None,
    ) -> str:
        """Queue a method call and return its id (sent now if the connection allows).

        After ``close()`` or a permanent failure the call ends at once: both milestones are
        reported with the error (``ClientClosedError`` / ``ConnectionFailedError``).

        Raises:
            TypeError: ``method`` is not a string or ``params`` is not a sequence.
            ddp.EJSONError: A parameter cannot be encoded.
        """
        if type(method) is not str and not isinstance(method, str):
            raise TypeError(f"a method name must be a string, not {type(method).__name__}")
        method_id = next(self._method_ids)
        frame = None
        if random_seed is None:
            frame = _method_frame(method_id, method, params)
        if frame is None:
            msg: dict[str, Any] = {
                "msg": "method",
                "id": method_id,
                "method": method,
                "params": _param_list(params),
            }
            if random_seed is not None:
                msg["randomSeed"] = random_seed
            frame = encode_message(msg)
        if self._phase in TERMINAL:
            self._events.append(MethodResult(method_id, error=self._dead_error()))
            self._events.append(MethodDataVisible(method_id, error=self._dead_error()))
            return method_id
        record = self._methods.add(
            method_id,
            frame,
            True if wait else False,  # bool(), without a call
            True if no_retry else False,
            self._phase in ESTABLISHED,
        )
        if record.sent:
            self._outbox.append(frame)
            if record.wait:
                self._hold_for(record)
        return method_id

    def subscribe(self, name: str, params: Sequence[Any] = ()) -> str:
        """Start a subscription and return its id.

        After ``close()`` or a permanent failure it ends at once with a
        ``SubscriptionStopped`` event carrying the error.

        Raises:
            TypeError: ``name`` is not a string or ``params`` is not a sequence.
            ddp.EJSONError: A parameter cannot be encoded.
        """
        if not isinstance(name, str):
            raise TypeError(f"a publication name must be a string, not {type(name).__name__}")
        sub_id = random_id(random=self._random)
        frame = encode_message(
            {"msg": "sub", "id": sub_id, "name": name, "params": _param_list(params)}
        )
        if self._phase in TERMINAL:
            self._events.append(SubscriptionStopped(sub_id, self._dead_error()))
            return sub_id
        sub = _Sub(sub_id, frame)
        self._subs[sub_id] = sub
        if self._phase in ESTABLISHED:
            self._outbox.append(frame)
            sub.announced = True
        return sub_id

    def unsubscribe(self, sub_id: str) -> None:
        """Stop a subscription (``unsub``); its record is forgotten at once.

        A ``SubscriptionStopped`` event without error follows at once (Meteor calls
        ``onStop()`` the same way), and the server's later ``nosub`` is ignored. An unknown
        id is ignored. Stopped while offline, the ``unsub`` goes out on a resumed session.
        """
        sub = self._subs.pop(sub_id, None)
        if sub is None:
            return
        if self._phase in ESTABLISHED:
            self._outbox.append(encode_message({"msg": "unsub", "id": sub_id}))
        elif sub.announced:
            self._pending_unsubs.append(sub_id)
        self._events.append(SubscriptionStopped(sub_id))
        if sub_id in self._quiet.reviving:
            self._quiet.reviving.discard(sub_id)
            self._check_quiescence()

    def ping(self) -> str:
        """Send a ``ping`` with a fresh id and return the id (a ``Pong`` event answers it).

        Raises:
            InvalidStateError: There is no established connection, or it speaks ``pre1``
                (which has no ping).
        """
        if self._phase is not Phase.CONNECTED:
            raise InvalidStateError("cannot ping: not connected")
        if self._version == _PRE1:
            raise InvalidStateError("cannot ping: DDP pre1 has no ping")
        ping_id = random_id(random=self._random)
        self._send_ping(ping_id)
        return ping_id

    def send_raw(self, message: dict[str, Any]) -> None:
        """Queue an arbitrary DDP message (EJSON-encoded), for what the API does not cover.

        Raises:
            InvalidStateError: No transport is open.
            ddp.ProtocolError: ``message`` is not a dict or its ``id`` is not a string.
            ddp.EJSONError: A value cannot be encoded.
        """
        if self._phase not in TRANSPORT_OPEN:
            raise InvalidStateError("cannot send: no open connection")
        self._outbox.append(encode_message(message))

    def set_resume_token(self, token: str | None) -> None:
        """Set the resume token used to log in again first after a new session.

        A token set before the first connection is used for it too. ``None`` forgets it.

        Raises:
            TypeError: ``token`` is neither a non-empty string nor ``None``.
        """
        if token is not None:
            resume_login_params(token)  # validates
        self._resume_token = token

    def cancel(self, method_id: str) -> None:
        """Forget a method call locally (its eventual result is ignored).

        No event is reported for it. A call still waiting in the outbox is not sent.
        """
        method = self._methods.get(method_id)
        if method is None:
            return
        if self._methods.withdraw(method):
            self._outbox.remove(method.frame)
        elif method.sent or method.transmitted:
            self._methods.cancelled.add(method_id)
        self._finish(method)
        self._check_quiescence()

    def reconnect_now(self) -> None:
        """Make the next reconnect immediate (``client.reconnect()``); no retry is consumed.

        Called while connected, the next ``connection_lost`` returns 0 (the driver then
        closes the transport itself). Called while the driver waits out a delay, the driver
        should stop waiting and dial; the request is used up by the next ``dialing``.
        """
        self._immediate = True

    def close(self) -> None:
        """Queue ``{"msg":"disconnect"}`` when connected, fail every pending call and
        subscription with ClientClosedError (as events), and never reconnect again.

        With a transport open the status becomes DISCONNECTING and a
        ``TransportShouldClose`` follows the ``disconnect`` frame; DISCONNECTED comes with
        ``connection_lost``. Without one (waiting to redial) it is DISCONNECTED at once.
        """
        phase = self._phase
        if phase in TERMINAL:
            return  # closed already, or failed for good (which stays the status)
        if phase in TRANSPORT_OPEN:
            # Calls still in the outbox are failed below, so they must not go out.
            self._outbox = [_DISCONNECT_FRAME]
            self._methods.unconfirmed_cleared()
        self._abort_all(ClientClosedError, "the client was closed")
        self._move(Trigger.CLOSE)
        if phase in TRANSPORT_OPEN and phase not in DOOMED:
            self._events.append(TransportShouldClose("client closed"))

    # -- server messages ------------------------------------------------------------------
    def _on_connected(self, msg: dict[str, Any], text: str) -> None:
        phase = self._phase
        if phase in DOOMED:
            return  # too late: the transport is being closed
        if phase is Phase.CONNECTED:
            self._violation("'connected' on an established session", text)
            return
        raw = msg.get("session")
        session = None if raw is None else str(raw)
        offered = self._offered_session
        resumed = offered is not None and session == offered
        reconnect = self._had_session
        self._connect_deadline = None
        self._version = self._proposal
        self._proposed.clear()
        self._attempts = 0
        # This message is counted: 1 on a new session, one more than we offered on a resume.
        self._received_count = self._count_offered + 1 if resumed else 1
        self._session = session
        self._had_session = True
        self._move(Trigger.HANDSHAKE)
        self._events.append(Connected(session or "", self._version, resumed, reconnect))
        if resumed:
            self._resume_session()
        else:
            self._start_session(reconnect)

    def _on_failed(self, msg: dict[str, Any], text: str) -> None:
        phase = self._phase
        if phase in ESTABLISHED:
            self._violation("'failed' on an established session", text)
            return
        suggested = msg.get("version")
        if isinstance(suggested, str) and suggested in self._versions:
            if suggested not in self._proposed:
                # A version not yet tried since the last `connected`: at once, uncounted.
                self._proposal = suggested
                self._immediate = True
                self._should_close(f"server requested DDP version {suggested}")
            elif suggested == self._proposal:
                # The server refuses the very version it names: retry as after any loss.
                self._should_close(f"server refused DDP version {suggested}")
            else:
                # A version tried already in this cycle: a confused server must not make
                # us redial faster than the backoff allows, so this is an ordinary loss.
                self._proposal = suggested
                self._should_close(f"server requested DDP version {suggested} again")
        else:
            reason = f"DDP version negotiation failed; server requested version {suggested}"
            self._give_up(VersionNegotiationError, reason, Trigger.REFUSE)
            if phase is Phase.CONNECTING:
                self._events.append(TransportShouldClose(reason))

    def _on_ping(self, msg: dict[str, Any], text: str) -> None:
        self._pings_received += 1
        ping_id = msg.get("id")
        reply: dict[str, Any] = {"msg": "pong"}
        if isinstance(ping_id, str):
            reply["id"] = ping_id
        self._outbox.append(encode_message(reply))

    def _on_pong(self, msg: dict[str, Any], text: str) -> None:
        self._pongs_received += 1
        ping_id = msg.get("id")
        if ping_id is not None and ping_id == self._resume_ping_id:
            # The server is alive; the barrier (answered only once the server has worked
            # through what it received before it) now gets its own, longer deadline.
            self._resume_ping_id = None
            self._resume_deadline = None
            if self._barrier_id is not None:
                self._barrier_deadline = self._last_inbound + self._resume_barrier_timeout
            return
        self._events.append(Pong(ping_id if isinstance(ping_id, str) else None))

    def _on_ready(self, msg: dict[str, Any], text: str) -> None:
        subs = msg.get("subs")
        if not isinstance(subs, list):
            self._violation("'ready' without a 'subs' list", text)
            return
        sub_ids = [s for s in subs if type(s) is str]
        if self._barrier_id is not None and self._barrier_id in sub_ids:
            # Someone does publish the barrier's name: stop it, it served its purpose.
            sub_ids.remove(self._barrier_id)
            self._outbox.append(encode_message({"msg": "unsub", "id": self._barrier_id}))
            self._barrier_passed()
        if self._quiet.active:
            self._quiet.reviving.difference_update(sub_ids)
            self._hold_message(self._apply_ready, sub_ids)
        else:
            self._apply_ready(sub_ids)

    def _on_nosub(self, msg: dict[str, Any], text: str) -> None:
        sub_id = msg.get("id")
        if type(sub_id) is not str:
            self._violation("'nosub' without a string 'id'", text)
            return
        if sub_id == self._barrier_id:
            self._barrier_passed()
            return
        error = msg.get("error")
        if self._quiet.active:
            self._quiet.reviving.discard(sub_id)
            self._hold_message(self._apply_nosub, (sub_id, error))
        else:
            self._apply_nosub((sub_id, error))

    def _on_result(self, msg: dict[str, Any], text: str) -> None:
        method_id: Any = msg.get("id")
        try:
            method = self._methods.by_id.get(method_id)  # None for any other JSON value
        except TypeError:  # an array or object as `id`
            method = None
        if method is None or not (method.sent or method.transmitted):
            if type(method_id) is str and method_id in self._methods.cancelled:
                self._methods.cancelled.discard(method_id)
                return
            self._violation(f"'result' for unknown method id {method_id!r}", text)
            return
        if method.has_result:
            self._violation(f"a second 'result' for method id {method_id!r}", text)
            return
        method.has_result = True
        if method.login_token is not None:
            self._report_resume_login(method, msg)
        elif "error" in msg:
            error = MethodError.from_wire(msg["error"])
            self._events.append(MethodResult(method.id, error=error))
        else:
            self._events.append(MethodResult(method.id, msg.get("result")))
        if method.updated:
            self._data_visible(method)

    def _on_updated(self, msg: dict[str, Any], text: str) -> None:
        methods = msg.get("methods")
        if not isinstance(methods, list):
            self._violation("'updated' without a 'methods' list", text)
            return
        if self._quiet.active:
            method_ids = [m for m in methods if type(m) is str]
            self._quiet.blocking.difference_update(method_ids)
            self._hold_message(self._apply_updated, method_ids)
        else:
            self._apply_updated(methods)

    def _on_error(self, msg: dict[str, Any], text: str) -> None:
        reason = msg.get("reason")
        reason = reason if isinstance(reason, str) else str(reason or "unknown error")
        self._events.append(ServerErrorMessage(reason, msg.get("offendingMessage")))
        if (
            self._phase is Phase.CONNECTING
            and self._offered_session is not None
            and reason != _ALREADY_CONNECTED
        ):
            # Strict servers older than Meteor 3.5 refuse the fields of a resuming `connect`
            # (`session`, `receivedCount`). Waiting would only time out and send the same
            # `connect` again, forever: ask for a new session at once, and never again offer
            # this server a resumption. ("Already connected" answers a repeated `connect` on
            # a live session: it refuses nothing of ours.)
            _log.info("the DDP server refused to resume the session (%s): connecting anew", reason)
            self._offer_resumption = False
            self._send_connect(self._last_inbound, None)
            return
        _log.warning("the DDP server reported an error in our frame: %s", reason)

    # -- deferred processing (runs at once, or at quiescence) ----------------------------
    def _apply_ready(self, sub_ids: list[str]) -> None:
        for sub_id in sub_ids:
            sub = self._subs.get(sub_id)
            if sub is not None and not sub.ready:
                sub.ready = True
                self._events.append(SubscriptionReady(sub_id))

    def _apply_nosub(self, arg: tuple[str, Any]) -> None:
        sub_id, error = arg
        if self._subs.pop(sub_id, None) is None:
            return  # unsubscribed already, or never ours
        stop_error = None if error is None else SubscriptionError.from_wire(error)
        self._events.append(SubscriptionStopped(sub_id, stop_error))

    def _apply_updated(self, method_ids: list[Any]) -> None:
        by_id = self._methods.by_id
        for method_id in method_ids:
            try:
                method = by_id.get(method_id)  # None for any other JSON value
            except TypeError:  # an array or object in `methods`
                continue
            if method is None or method.updated or not (method.sent or method.transmitted):
                continue  # a cancelled call, a raw send, or a repeat
            method.updated = True
            if method.has_result:
                self._data_visible(method)

    # -- sessions -------------------------------------------------------------------------
    def _start_session(self, reconnect: bool) -> None:
        """A new session: nothing of the old one stands on the server (see the docstring)."""
        methods = self._methods
        quiet = self._quiet
        self._pending_unsubs.clear()
        methods.cancelled.clear()
        quiet.clear()
        # Nothing may go out before the plan below is complete (finishing calls pumps).
        methods.held = True
        for method in methods:
            if method.login_token is not None:
                self._finish(method)  # superseded by the login of this session
        if reconnect:
            quiet.reset = True
            quiet.reviving.update(s.id for s in self._subs.values() if s.ready)
            for method in methods:
                if method.has_result:
                    quiet.half_finished.append(method)
                else:
                    method.updated = False  # the old session's `updated` does not count
        self._fail_unretryable()
        if self._resume_token is not None:
            self._prepend_login(self._resume_token)
        methods.held = False
        self._pump()
        if reconnect:
            quiet.blocking.update(m.id for m in methods if m.sent)
            quiet.active = True
        self._send_subs()
        self._check_quiescence()

    def _resume_session(self) -> None:
        """The server kept our session: re-announce subs, then let the replay finish."""
        self._send_subs()
        for sub_id in self._pending_unsubs:
            self._outbox.append(encode_message({"msg": "unsub", "id": sub_id}))
        self._pending_unsubs.clear()
        if self._version == _PRE1:
            self._release_methods()
            return
        self._methods.held = True
        self._resume_ping_id = random_id(random=self._random)
        self._resume_deadline = self._last_inbound + self._heartbeat_timeout
        self._send_ping(self._resume_ping_id)
        self._barrier_id = random_id(random=self._random)
        self._outbox.append(
            encode_message(
                {"msg": "sub", "id": self._barrier_id, "name": RESUME_BARRIER, "params": []}
            )
        )

    def _barrier_passed(self) -> None:
        """Every message the server had from us before the resume has been processed."""
        self._barrier_id = None
        self._barrier_deadline = None
        self._release_methods()

    def _release_methods(self) -> None:
        self._fail_unretryable()
        self._methods.held = False
        self._pump()
        self._check_quiescence()  # a failed call may have been the last one holding data

    def _fail_unretryable(self) -> None:
        """End the ``no_retry`` calls cut off by a drop: they may or may not have run."""
        for method in self._methods:
            if method.no_retry and method.transmitted and not method.sent and not method.has_result:
                self._events.append(MethodResult(method.id, error=InvocationFailedError()))
                self._events.append(MethodDataVisible(method.id, error=InvocationFailedError()))
                self._finish(method)

    def _prepend_login(self, token: str) -> None:
        method_id = next(self._method_ids)
        frame = encode_message(
            {
                "msg": "method",
                "id": method_id,
                "method": "login",
                "params": [resume_login_params(token)],
            }
        )
        self._methods.add_login_first(method_id, frame, token)

    def _report_resume_login(self, method: Method, msg: dict[str, Any]) -> None:
        if "error" in msg:
            error = LoginError.from_wire(msg["error"])
            if self._resume_token == method.login_token:
                self._resume_token = None
            self._events.append(LoginResumed(error=error))
        else:
            self._events.append(LoginResumed(result=msg.get("result")))

    def _send_subs(self) -> None:
        for sub in self._subs.values():
            self._outbox.append(sub.frame)
            sub.announced = True

    # -- methods and blocks ---------------------------------------------------------------
    def _send_method(self, method: Method) -> None:
        self._outbox.append(method.frame)
        self._methods.mark_sent(method)
        if method.wait:
            self._hold_for(method)

    def _hold_for(self, method: Method) -> None:
        """Meteor holds data back while a wait method (a login...) runs: no flicker."""
        quiet = self._quiet
        if not quiet.active:
            if self._pending:
                self._flush()
            quiet.active = True
        quiet.blocking.add(method.id)

    def _pump(self) -> None:
        """Send the first block's unsent calls, dropping finished blocks ahead of it."""
        if self._phase not in ESTABLISHED or self._methods.held:
            return
        for method in self._methods.sendable():
            self._send_method(method)

    def _data_visible(self, method: Method) -> None:
        if method.login_token is None:
            self._events.append(MethodDataVisible(method.id))
        # What _finish does, inline: every call ends here.
        blocking = self._quiet.blocking
        if blocking:  # only while a hold waits for calls (a wait method, a new session)
            blocking.discard(method.id)
        if self._methods.forget(method):
            self._pump()

    def _finish(self, method: Method) -> None:
        """Forget a call; if that empties the block on the wire, the next one goes out."""
        self._quiet.blocking.discard(method.id)
        if self._methods.forget(method):
            self._pump()

    # -- data and quiescence --------------------------------------------------------------
    def _valid_data_extras(self, msg: dict[str, Any], kind: str, text: str) -> bool:
        """Check the fields only some data messages have (``cleared``, ``before``)."""
        if kind == "changed":
            cleared = msg.get("cleared")
            if cleared is not None and not (
                isinstance(cleared, list) and all(type(c) is str for c in cleared)
            ):
                self._violation("'changed' whose 'cleared' is not a list of strings", text)
                return False
        elif kind in ("addedBefore", "movedBefore"):
            before = msg.get("before")
            if before is not None and type(before) is not str:
                self._violation(f"{kind!r} whose 'before' is not a string or null", text)
                return False
        return True

    def _flush(self) -> None:
        batch = self._pending
        self._pending = []
        self._apply(batch, reset=False)

    def _apply(self, batch: list[dict[str, Any]], reset: bool) -> None:
        store = self._store
        if store is None:
            return
        try:
            if self._adopt_fields is not None:
                store.apply_adopted_batch(batch, reset)  # type: ignore[attr-defined]
            else:
                store.apply_batch(batch, reset)
        except Exception:
            # A broken store must not leave the protocol state half-updated.
            _log.exception("the data store failed to apply a batch of %d messages", len(batch))

    def _hold_message(self, apply: Callable[[Any], None], arg: Any) -> None:
        self._quiet.held.append((apply, arg))
        self._check_quiescence()

    def _check_quiescence(self) -> None:
        if self._quiet.settled():
            self._end_quiescence()

    def _end_quiescence(self) -> None:
        """Apply the held data in one batch, then the held messages, in arrival order."""
        data, held, reset, half_finished = self._quiet.release()
        if data or reset:
            self._apply(data, reset)
        for apply, arg in held:
            apply(arg)
        for method in half_finished:
            if self._methods.get(method.id) is method:
                self._data_visible(method)

    # -- lifecycle helpers ----------------------------------------------------------------
    def _move(self, trigger: Trigger, reason: str | None = None) -> None:
        """Take the table's move for ``trigger``; report the status when it changes."""
        old = self._phase
        new = next_phase(old, trigger)
        self._phase = new
        self._reading = new in TRANSPORT_OPEN
        if STATUS[new] is not STATUS[old]:
            self._events.append(StatusChanged(STATUS[old], STATUS[new], reason))

    def _closed(self) -> bool:
        """Whether ``close()`` ended the core (rather than a failure)."""
        return self._phase is Phase.CLOSING or self._phase is Phase.CLOSED

    def _heartbeats(self) -> bool:
        return bool(self._heartbeat_interval) and self._version != _PRE1

    def _send_connect(self, now: float, session: str | None) -> None:
        """Queue ``connect``, offering to resume ``session`` when there is one."""
        self._count_offered = self._received_count
        self._proposed.add(self._proposal)
        msg: dict[str, Any] = {
            "msg": "connect",
            "version": self._proposal,
            "support": list(self._versions),
        }
        if session:
            msg["session"] = session
            msg["receivedCount"] = self._received_count
        self._offered_session = session or None
        self._outbox.append(encode_message(msg))
        self._last_inbound = now
        self._connect_deadline = now + self._connect_timeout if self._connect_timeout else None

    def _should_close(self, reason: str) -> None:
        """Ask the driver to close the transport (once per transport)."""
        if self._phase is Phase.CONNECTING or self._phase is Phase.CONNECTED:
            self._move(Trigger.DOOM)
            self._events.append(TransportShouldClose(reason))

    def _outstanding_ping(self) -> float | None:
        """When our heartbeat ping went out, if no frame has arrived since."""
        sent = self._ping_sent_at
        return sent if sent is not None and sent > self._last_inbound else None

    def _send_ping(self, ping_id: str | None) -> None:
        msg: dict[str, Any] = {"msg": "ping"}
        if ping_id is not None:
            msg["id"] = ping_id
        self._outbox.append(encode_message(msg))
        self._pings_sent += 1

    def _drop_transport(self) -> None:
        """Forget everything that belonged to the transport that just went away."""
        self._outbox = []
        self._methods.transport_lost()
        self._ping_sent_at = None
        self._connect_deadline = None
        self._resume_ping_id = None
        self._resume_deadline = None
        self._barrier_id = None
        self._barrier_deadline = None
        self._methods.held = False
        if self._pending:
            self._flush()

    def _plan_retry(self, reason: str) -> float | None:
        """Return the delay before the next attempt, or give up (status FAILED)."""
        if self._immediate:
            self._immediate = False
            self._move(Trigger.RETRY, reason)
            return 0.0
        if self._backoff is False:
            self._give_up(
                ConnectionFailedError,
                f"connection lost and reconnect is off: {reason}",
                Trigger.GIVE_UP,
            )
            return None
        if self._max_attempts is not None and self._attempts >= self._max_attempts:
            self._give_up(
                ConnectionFailedError,
                f"gave up after {self._attempts} reconnect attempts: {reason}",
                Trigger.GIVE_UP,
            )
            return None
        delay = float(self._backoff.delay(self._attempts, self._jitter))
        self._attempts += 1
        self._move(Trigger.RETRY, reason)
        return delay

    def _give_up(self, error: type[ConnectionFailedError], reason: str, trigger: Trigger) -> None:
        self._failure = error(reason)
        self._abort_all(error, reason)
        self._move(trigger, reason)

    def _dead_error(self) -> ConnectionClosedError:
        if self._closed():
            return ClientClosedError("the client was closed")
        return ConnectionFailedError("the client gave up connecting")

    def _abort_all(self, error: type[ConnectionClosedError], reason: str) -> None:
        """End every call and subscription with a fresh ``error(reason)`` each."""
        if self._pending:
            self._flush()
        self._quiet.clear()
        events = self._events
        for method in self._methods:
            if method.login_token is not None:
                continue
            if not method.has_result:
                events.append(MethodResult(method.id, error=error(reason)))
            events.append(MethodDataVisible(method.id, error=error(reason)))
        self._methods.clear()
        for sub_id in self._subs:
            events.append(SubscriptionStopped(sub_id, error(reason)))
        self._subs.clear()
        self._pending_unsubs.clear()

    def _violation(self, reason: str, text: str) -> None:
        _log.warning("ignored a DDP frame from the server: %s", reason)
        self._events.append(ProtocolViolation(reason, text[:_FRAME_EXCERPT]))


# JSON texts of the method names called so far (a client calls a handful of names).
_method_names: dict[str, str] = {}
_NAMES_KEPT = 1024


def _method_frame(method_id: str, method: str, params: Sequence[Any]) -> str | None:
    """The ``method`` frame, from a template: the text ``encode_message`` would write.

    Only the parameters are encoded (the id is a decimal counter, the name's JSON is
    cached). ``None`` for whatever needs the general path: parameters that are not a list
    or tuple, values orjson alone cannot write as EJSON, or nesting too deep for a frame.
    """
    cls = type(params)
    if cls is not tuple and cls is not list:
        return None
    try:
        # orjson alone writes the plain JSON types as EJSON would; it refuses the others
        # (dates, bytes...), which try_fast_dumps' hook then converts.
        raw = orjson.dumps(params, option=_PASSTHROUGH)
    except orjson.JSONEncodeError:
        body = try_fast_dumps(params)
        if body is None:
            return None
    else:
        # A "$ may need escaping (or be one of our own types' keys) and a null may be a NaN
        # orjson wrote: the general path decides, as try_fast_dumps would. Tested on the
        # text: `in` on bytes first tries its needle as an int, raising (and clearing) a
        # TypeError each time, which costs more than the whole decode.
        body = raw.decode()
        if '"$' in body or "null" in body:
            return None
    if len(body) > _SHALLOW_PARAMS and exceeds_max_depth(body, MAX_DEPTH - 1):
        return None  # the general path refuses it with its own error
    name = _method_names.get(method)
    if name is None:
        try:
            name = orjson.dumps(method).decode()
        except orjson.JSONEncodeError:  # a lone surrogate...: the general path decides
            return None
        if len(_method_names) < _NAMES_KEPT:
            _method_names[method] = name
    # An f-string joins the pieces; `%` would parse a template on every call.
    return f'{{"msg":"method","id":"{method_id}","method":{name},"params":{body}}}'


def _param_list(params: Sequence[Any]) -> list[Any]:
    if isinstance(params, str | bytes) or not isinstance(params, Sequence):
        raise TypeError(f"params must be a list or tuple, not {type(params).__name__}")
    return list(params)
