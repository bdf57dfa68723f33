"""A hypothesis state machine over the Sans-I/O core, against a model DDP server.

The machine plays the driver and a model server at once. Frames travel on two queues (the
"wire"), so that any interleaving of deliveries, server reads, drops (with or without the
server keeping the session for a resume), server-side writes, timers, dial failures, bad
frames and user calls, subscriptions, cancels and ``close()`` can happen. After every step:

* nothing escaped the core (hypothesis fails the run on any exception);
* every call either reported each milestone exactly once or is still tracked by the core,
  and every subscription ended at most once;
* the status is the phase's, and consistent with the transport the driver holds;
* when everything is quiet (connected, both queues empty, no quiescence hold), the store
  equals what the model server's session has published.

The invariants read the core's private books (``_methods``, ``_subs``, ``_phase``,
``_quiet``) on purpose: "still tracked" is exactly what they check.

``DDP_FUZZ_EXAMPLES`` sets the number of runs (default 60, a few seconds) and
``DDP_FUZZ_STEPS`` the most steps per run (default 120); raise both for a longer search.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ddp._phase import STATUS
from ddp.events import (
    MethodDataVisible,
    MethodResult,
    Status,
    SubscriptionStopped,
    TransportShouldClose,
)
from ddp.exceptions import DDPError, InvalidStateError
from ddp.messages import encode_message, parse_message
from ddp.protocol import RESUME_BARRIER, ClientProtocol

EXAMPLES = int(os.environ.get("DDP_FUZZ_EXAMPLES", "60"))
STEPS = int(os.environ.get("DDP_FUZZ_STEPS", "120"))
COLLECTION = "items"
DOC_IDS = ("a", "b", "c")
UNCOUNTED = ("ping", "pong")

# Frames a broken server might send. None touches the published collection, so that the
# store can still be compared with the model once things are quiet.
GARBAGE = (
    "",
    "not json",
    "[1, 2]",
    "null",
    "{}",
    '{"msg": "bogus"}',
    '{"msg": 5}',
    '{"msg": "result"}',
    '{"msg": "result", "id": "nope"}',
    '{"msg": "updated", "methods": "x"}',
    '{"msg": "ready", "subs": [5, null]}',
    '{"msg": "nosub"}',
    '{"msg": "added", "collection": 5}',
    '{"msg": "added", "collection": "other", "id": "z", "fields": {"$date": "x"}}',
    '{"msg": "changed", "collection": "other", "id": "z", "cleared": [1]}',
    '{"msg": "connected", "session": "intruder"}',
    '{"msg": "failed", "version": "1"}',
    '{"msg": "error", "reason": "whatever"}',
    '{"msg": "pong", "id": 5}',
    '{"msg": "added", "collection": "other", "id": "deep", "fields": {"x": '
    + "[" * 200
    + "]" * 200
    + "}}",
)


class DictStore:
    """The simplest ``DataStore``: documents by collection and id."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}

    def apply_batch(self, messages: Sequence[dict[str, Any]], reset: bool) -> None:
        if reset:
            self.docs.clear()
        for msg in messages:
            coll = self.docs.setdefault(msg["collection"], {})
            kind = msg["msg"]
            if kind in ("added", "addedBefore"):
                coll[msg["id"]] = dict(msg.get("fields") or {})
            elif kind == "changed":
                doc = coll.setdefault(msg["id"], {})
                doc.update(msg.get("fields") or {})
                for name in msg.get("cleared") or ():
                    doc.pop(name, None)
            elif kind == "removed":
                coll.pop(msg["id"], None)


class ModelServer:
    """A DDP server reduced to what the core must get right: sessions, resumption with a
    replay log counted as Meteor 3.5 counts it, one publication, in-order processing."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.session: str | None = None  # the session a resume may pick up
        self.sessions = 0
        self.live = False  # a transport is open and its `connect` was answered
        self.log: list[str] = []  # counted messages sent on the session
        self.subs: set[str] = set()
        self.published: dict[str, dict[str, Any]] = {}  # the session's view of the docs
        self.downlink: list[str] = []  # frames on their way to the client
        self.strict = False  # refuses a resuming `connect`, as servers before Meteor 3.5

    # -- sending
    def send(self, msg: dict[str, Any]) -> None:
        text = encode_message(msg)
        if msg["msg"] not in UNCOUNTED:
            self.log.append(text)
        if self.live:
            self.downlink.append(text)

    def send_raw(self, text: str) -> None:
        try:
            counted = parse_message(text).get("msg", ...) not in (..., *UNCOUNTED)
        except DDPError:
            counted = False
        if counted:
            self.log.append(text)
        if self.live:
            self.downlink.append(text)

    def publish(self) -> None:
        """Bring the session's view in line with the documents (what a merge box does)."""
        if self.session is None:
            return
        target = self.docs if self.subs else {}
        for doc_id in sorted(set(self.published) - set(target)):
            del self.published[doc_id]
            self.send({"msg": "removed", "collection": COLLECTION, "id": doc_id})
        for doc_id, fields in sorted(target.items()):
            old = self.published.get(doc_id)
            if old is None:
                self.send(
                    {"msg": "added", "collection": COLLECTION, "id": doc_id, "fields": fields}
                )
            elif old != fields:
                changed = {k: v for k, v in fields.items() if old.get(k) != v}
                cleared = [k for k in old if k not in fields]
                msg: dict[str, Any] = {"msg": "changed", "collection": COLLECTION, "id": doc_id}
                if changed:
                    msg["fields"] = changed
                if cleared:
                    msg["cleared"] = cleared
                self.send(msg)
            self.published[doc_id] = dict(fields)

    # -- receiving
    def receive(self, text: str) -> None:
        msg = json.loads(text)
        kind = msg["msg"]
        if kind == "connect":
            self.on_connect(msg)
        elif not self.live:
            return  # nothing but `connect` counts before the handshake
        elif kind == "ping":
            pong = {"msg": "pong"}
            if "id" in msg:
                pong["id"] = msg["id"]
            self.send(pong)
        elif kind == "sub":
            if msg["name"] == COLLECTION:
                self.subs.add(msg["id"])
                self.publish()
                self.send({"msg": "ready", "subs": [msg["id"]]})
            else:
                error = {"error": 404, "reason": f"Subscription '{msg['name']}' not found"}
                self.send({"msg": "nosub", "id": msg["id"], "error": error})
        elif kind == "unsub":
            if msg["id"] in self.subs:
                self.subs.discard(msg["id"])
                self.publish()
            self.send({"msg": "nosub", "id": msg["id"]})
        elif kind == "method":
            self.on_method(msg)
        elif kind == "disconnect":
            self.session = None

    def on_connect(self, msg: dict[str, Any]) -> None:
        offered = msg.get("session")
        if self.strict and offered is not None:
            event("resuming connect refused")
            error = {"msg": "error", "reason": "Malformed connect", "offendingMessage": msg}
            self.downlink.append(encode_message(error))  # straight to the socket: uncounted
            return
        if offered is not None and offered == self.session:
            count = msg["receivedCount"]
            missed = self.log[count:]
            self.live = True
            self.log = self.log[:count]
            event("session resumed")
            self.send({"msg": "connected", "session": offered})
            for text in missed:
                self.log.append(text)
                self.downlink.append(text)
            return
        self.sessions += 1
        self.session = f"S{self.sessions}"
        self.log = []
        self.subs = set()
        self.published = {}
        self.live = True
        self.send({"msg": "connected", "session": self.session})

    def on_method(self, msg: dict[str, Any]) -> None:
        name, params, method_id = msg["method"], msg["params"], msg["id"]
        if name == "set":
            doc_id, value = params
            if value is None:
                self.docs.pop(doc_id, None)
            else:
                self.docs[doc_id] = {"v": value}
            self.publish()
            self.send({"msg": "result", "id": method_id, "result": value})
        elif name == "login":
            self.send({"msg": "result", "id": method_id, "result": {"token": "tok"}})
        else:
            error = {"error": 404, "reason": f"Method '{name}' not found"}
            self.send({"msg": "result", "id": method_id, "error": error})
        self.send({"msg": "updated", "methods": [method_id]})

    def drop(self, keep_session: bool) -> None:
        self.live = False
        self.downlink.clear()
        if not keep_session:
            self.session = None


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = DictStore()
        self.proto = ClientProtocol(
            store=self.store,
            heartbeat_interval=5.0,
            heartbeat_timeout=3.0,
            connect_timeout=10.0,
            resume_barrier_timeout=20.0,
            max_batch=3,
            random=random.Random(0).random,  # the same ids on every replay
        )
        self.server = ModelServer()
        self.now = 0.0
        self.uplink: list[str] = []
        self.transport = False  # the driver holds an open transport
        self.redial_at: float | None = 0.0  # None: the core said stop
        self.calls: dict[str, list[type]] = {}  # method id -> milestones reported
        self.cancelled: set[str] = set()
        self.subs: dict[str, int] = {}  # sub id -> times stopped
        self.sub_order: list[str] = []

    # -- the driver's plumbing
    def pump(self) -> None:
        """Write what the core queued and handle its events, as a driver would."""
        if self.transport:
            self.uplink.extend(self.proto.data_to_send())
        else:
            assert self.proto.data_to_send() == [], "frames queued with no transport"
        close = False
        for reported in self.proto.events_received():
            if isinstance(reported, MethodResult | MethodDataVisible):
                seen = self.calls.setdefault(reported.method_id, [])
                assert type(reported) not in seen, f"{type(reported).__name__} twice"
                seen.append(type(reported))
            elif isinstance(reported, SubscriptionStopped):
                self.subs[reported.sub_id] = self.subs.get(reported.sub_id, 0) + 1
                assert self.subs[reported.sub_id] == 1, "a subscription stopped twice"
            elif isinstance(reported, TransportShouldClose):
                assert self.transport, "asked to close a transport that is not open"
                close = True
        if close:
            self.lose(keep_session=True)

    def lose(self, keep_session: bool) -> None:
        self.transport = False
        self.uplink.clear()
        self.server.drop(keep_session)
        delay = self.proto.connection_lost(self.now, "lost")
        self.after_attempt(delay)

    def after_attempt(self, delay: float | None) -> None:
        if delay is None:
            self.redial_at = None
        else:
            assert delay >= 0.0
            self.redial_at = self.now + delay
        self.pump()

    # -- transport rules
    @rule(fail=st.booleans())
    def dial(self, fail: bool) -> None:
        if not (not self.transport and self.redial_at is not None):
            return
        assert self.redial_at is not None
        self.now = max(self.now, self.redial_at)
        self.proto.dialing(self.now)
        if not fail:
            self.proto.connection_made(self.now)
            self.transport = True
            self.pump()
        else:
            self.after_attempt(self.proto.dial_failed(self.now, "refused"))

    @rule(keep_session=st.booleans())
    def drop(self, keep_session: bool) -> None:
        if not (self.transport):
            return
        self.lose(keep_session)

    @rule(count=st.integers(1, 4))
    def server_reads(self, count: int) -> None:
        if not (self.transport and self.uplink):
            return
        for text in self.uplink[:count]:
            self.server.receive(text)
        del self.uplink[:count]

    @rule(count=st.integers(1, 6), flush=st.booleans())
    def deliver(self, count: int, flush: bool) -> None:
        if not (self.transport and self.server.downlink):
            return
        frames = self.server.downlink[:count]
        del self.server.downlink[:count]
        for text in frames:
            self.proto.receive_text(text, self.now)
            self.pump()
            if not self.transport:
                return
        if flush or not self.server.downlink:
            self.proto.flush_data()  # the driver's queue is momentarily empty
        self.pump()

    @rule()
    def settle(self) -> None:
        """The network catches up: both sides read everything, until nothing moves."""
        if not (self.transport):
            return
        for _ in range(50):
            if not (self.transport and (self.uplink or self.server.downlink)):
                break
            self.server_reads(len(self.uplink))
            self.deliver(len(self.server.downlink), flush=True)
        if self.transport and not (self.uplink or self.server.downlink):
            # Every frame answered: a live transport must have reached `connected` (a
            # client that waits here for ever is wedged).
            assert self.proto.status in (Status.CONNECTED, Status.DISCONNECTING, Status.FAILED)

    @rule(keep_session=st.booleans(), write=st.sampled_from(DOC_IDS) | st.none())
    def bounce(self, keep_session: bool, write: str | None) -> None:
        """A whole reconnect: drop, maybe a write while offline, redial, catch up."""
        if self.transport:
            self.lose(keep_session)
        if write is not None:
            self.server_write(write, None if write in self.server.docs else 0)
        if not self.transport and self.redial_at is not None:
            self.dial(fail=False)
            self.settle()

    @rule(seconds=st.sampled_from([0.5, 2.0, 4.0, 6.0, 25.0, 400.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.proto.on_timer(self.now)
        self.pump()

    # -- server rules
    @rule(doc_id=st.sampled_from(DOC_IDS), value=st.integers(0, 3) | st.none())
    def server_write(self, doc_id: str, value: int | None) -> None:
        if value is None:
            self.server.docs.pop(doc_id, None)
        else:
            self.server.docs[doc_id] = {"v": value}
        self.server.publish()

    @rule(strict=st.booleans())
    def server_upgrade(self, strict: bool) -> None:
        """The server is replaced by one that does (or does not) resume sessions."""
        self.server.strict = strict

    @rule(frame=st.sampled_from(GARBAGE))
    def server_garbage(self, frame: str) -> None:
        if not (self.transport and self.server.live):
            return
        self.server.send_raw(frame)

    # -- user rules
    @rule(
        doc_id=st.sampled_from(DOC_IDS),
        value=st.integers(0, 3) | st.none(),
        wait=st.booleans(),
        no_retry=st.booleans(),
        unknown=st.booleans(),
    )
    def call(
        self, doc_id: str, value: int | None, wait: bool, no_retry: bool, unknown: bool
    ) -> None:
        name = "nope" if unknown else "set"
        method_id = self.proto.call(name, [doc_id, value], wait=wait, no_retry=no_retry)
        assert method_id not in self.calls
        self.calls[method_id] = []
        self.pump()

    @rule(missing=st.booleans())
    def subscribe(self, missing: bool) -> None:
        sub_id = self.proto.subscribe("missing" if missing else COLLECTION)
        assert sub_id not in self.subs
        self.subs[sub_id] = 0
        self.sub_order.append(sub_id)
        self.pump()

    @rule(index=st.integers(0, 10))
    def unsubscribe(self, index: int) -> None:
        if not (self.sub_order):
            return
        self.proto.unsubscribe(self.sub_order[index % len(self.sub_order)])
        self.pump()

    @rule(index=st.integers(0, 50))
    def cancel(self, index: int) -> None:
        if not (self.calls):
            return
        method_id = list(self.calls)[index % len(self.calls)]
        if len(self.calls[method_id]) < 2:
            self.cancelled.add(method_id)
        self.proto.cancel(method_id)
        self.pump()

    @rule(token=st.none() | st.just("tok"))
    def set_resume_token(self, token: str | None) -> None:
        self.proto.set_resume_token(token)

    @rule()
    def reconnect_now(self) -> None:
        self.proto.reconnect_now()
        if self.redial_at is not None and not self.transport:
            self.redial_at = self.now

    @rule()
    def ping(self) -> None:
        try:
            self.proto.ping()
        except InvalidStateError:
            assert self.proto.status is not Status.CONNECTED or self.proto.version == "pre1"
        self.pump()

    @rule(dice=st.integers(0, 9))
    def close(self, dice: int) -> None:
        if not (self.redial_at is not None):
            return
        if dice:
            return  # rarely: a closed core has little left to show
        event("closed")
        self.proto.close()
        if not self.transport:
            self.redial_at = None  # nothing to wait for: the driver stops here
        self.pump()

    # -- invariants
    @invariant()
    def milestones_or_tracked(self) -> None:
        for method_id, seen in self.calls.items():
            if len(seen) == 2 or method_id in self.cancelled:
                continue
            assert self.proto._methods.get(method_id) is not None, (
                f"call {method_id} is neither finished nor tracked: {seen}"
            )

    @invariant()
    def subscriptions_stopped_or_tracked(self) -> None:
        for sub_id, stops in self.subs.items():
            if not stops:
                assert sub_id in self.proto._subs, f"sub {sub_id} neither stopped nor tracked"

    @invariant()
    def nothing_waits_after_the_end(self) -> None:
        if self.redial_at is not None:
            return
        for method_id, seen in self.calls.items():
            assert len(seen) == 2 or method_id in self.cancelled, f"call {method_id} left waiting"
        assert all(self.subs.values()), "a subscription left waiting"

    @invariant()
    def status_is_the_phase(self) -> None:
        phase = self.proto._phase
        status = self.proto.status
        assert status is STATUS[phase]
        if not self.transport:
            assert status not in (Status.CONNECTING, Status.CONNECTED)
        if self.redial_at is None:
            assert status in (Status.DISCONNECTED, Status.FAILED, Status.DISCONNECTING)

    @invariant()
    def store_matches_the_server_when_quiet(self) -> None:
        server = self.server
        if not (
            self.transport
            and server.live
            and self.proto.status is Status.CONNECTED
            and not self.uplink
            and not server.downlink
        ):
            return
        self.proto.flush_data()
        if self.proto._quiet.active:
            return
        self.pump()
        if self.uplink or not self.transport:
            return  # the core had more to say (a re-sent call after the barrier...)
        assert self.store.docs.get(COLLECTION, {}) == server.published
        event("store compared" + (" (documents)" if server.published else " (empty)"))
        if server.subs:
            assert server.published == server.docs


CoreMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCoreStateMachine = CoreMachine.TestCase

# The resume barrier's name is part of the model's contract with the core.
assert RESUME_BARRIER != COLLECTION
