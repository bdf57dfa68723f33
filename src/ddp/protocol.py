"""The Sans-I/O DDP client core: a state machine with no sockets, threads or clocks.

CONTRACT SKELETON -- the signatures below are the agreed interface between the core and the
two drivers (``ddp.asyncio``, ``ddp.sync``). The implementation fills in the bodies and the
"theory of operation" below; it may add private helpers but must not change a public
signature without telling the driver author.

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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ddp.events import Event, Status

__all__ = ["DEFAULT_VERSIONS", "ClientProtocol", "DataStore"]

DEFAULT_VERSIONS: tuple[str, ...] = ("1", "pre2", "pre1")


class DataStore(Protocol):
    """Where the core hands data messages: ``ddp.collection.CollectionRegistry`` does this.

    ``messages`` are decoded DDP messages (dicts with ``msg`` in ``added``, ``changed``,
    ``removed``, ``addedBefore``, ``movedBefore``; ``fields`` already EJSON-decoded; ``id`` the
    wire id string). ``reset=True`` means: first forget every document of every collection,
    then apply ``messages``; the whole call is one transaction for observers.
    """

    def apply_batch(self, messages: Sequence[dict[str, Any]], reset: bool) -> None:
        """Apply ``messages`` in order as one batch (after clearing all data if ``reset``)."""
        ...


class ClientProtocol:
    """The DDP client state machine (see the module docstring for how to drive it)."""

    def __init__(
        self,
        *,
        store: DataStore | None = None,
        versions: Sequence[str] = DEFAULT_VERSIONS,
        heartbeat_interval: float = 17.5,
        heartbeat_timeout: float = 15.0,
        connect_timeout: float = 10.0,
        backoff: Any = None,  # ddp.backoff.Backoff | None (None: Meteor's defaults); False: no retry
        max_attempts: int | None = None,
        max_batch: int = 1000,
        random: Callable[[], float] | None = None,
    ) -> None:
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------------
    @property
    def status(self) -> Status:
        """The current connection status."""
        raise NotImplementedError

    @property
    def session(self) -> str | None:
        """The current (or last) DDP session id."""
        raise NotImplementedError

    @property
    def version(self) -> str | None:
        """The negotiated DDP version of the current connection."""
        raise NotImplementedError

    @property
    def received_count(self) -> int:
        """Server messages counted for session resumption (all with ``msg`` but ping/pong)."""
        raise NotImplementedError

    # -- transport lifecycle (driver -> core) ---------------------------------------------
    def dialing(self, now: float) -> None:
        """The driver starts opening a transport (status DIALING, or stays RECONNECTING)."""
        raise NotImplementedError

    def dial_failed(self, now: float, reason: str) -> float | None:
        """Opening the transport failed: return the delay before the next attempt, or None
        when the client must give up (status FAILED; every pending call and subscription is
        failed with ConnectionFailedError through events)."""
        raise NotImplementedError

    def connection_made(self, now: float) -> None:
        """The transport is open: queue ``connect`` (status CONNECTING)."""
        raise NotImplementedError

    def connection_lost(self, now: float, reason: str) -> float | None:
        """The transport closed: return the delay before redialing, or None to stop
        (after ``close()``, a permanent failure, or attempts exhausted)."""
        raise NotImplementedError

    def receive_text(self, text: str, now: float) -> None:
        """Process one DDP message text from the server. Never raises on bad input."""
        raise NotImplementedError

    def flush_data(self) -> None:
        """Hand buffered data messages to the store now (unless quiescence holds them)."""
        raise NotImplementedError

    def next_deadline(self) -> float | None:
        """When ``on_timer`` must next be called (heartbeat, connect timeout), or None."""
        raise NotImplementedError

    def on_timer(self, now: float) -> None:
        """Run whatever timers are due at ``now``."""
        raise NotImplementedError

    # -- output (core -> driver) ----------------------------------------------------------
    def data_to_send(self) -> list[str]:
        """Return (and forget) the DDP message texts to write, in order."""
        raise NotImplementedError

    def events_received(self) -> Sequence[Event]:
        """Return (and forget) the events produced since the last call, in order."""
        raise NotImplementedError

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
        """Queue a method call and return its id (sent now if the connection allows)."""
        raise NotImplementedError

    def subscribe(self, name: str, params: Sequence[Any] = ()) -> str:
        """Start a subscription and return its id."""
        raise NotImplementedError

    def unsubscribe(self, sub_id: str) -> None:
        """Stop a subscription (``unsub``); its record is forgotten at once."""
        raise NotImplementedError

    def ping(self) -> str:
        """Send a ``ping`` with a fresh id and return the id (a ``Pong`` event answers it)."""
        raise NotImplementedError

    def send_raw(self, message: dict[str, Any]) -> None:
        """Queue an arbitrary message (EJSON-encoded); for the seed's ``Send``."""
        raise NotImplementedError

    def set_resume_token(self, token: str | None) -> None:
        """Set the resume token used to log in again first after a new session."""
        raise NotImplementedError

    def cancel(self, method_id: str) -> None:
        """Forget a method call locally (its eventual result is ignored)."""
        raise NotImplementedError

    def reconnect_now(self) -> None:
        """Make the next reconnect immediate (``client.reconnect()``); no retry is consumed."""
        raise NotImplementedError

    def close(self) -> None:
        """Queue ``{"msg":"disconnect"}`` when connected, fail every pending call and
        subscription with ClientClosedError (as events), and never reconnect again."""
        raise NotImplementedError
