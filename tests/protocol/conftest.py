"""An in-memory harness for the Sans-I/O core: no sockets, no clock, no randomness.

``Harness`` plays the driver and the server: ``feed(...)`` delivers a server message given
as a dict, ``sent()`` returns what the core wrote (decoded), ``events()`` what it reported.
``RecordingStore`` keeps every batch and a tiny document model, so a test can check what a
user of the cache would see at each step.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from ddp.events import Connected, ConnectionLost, Event, StatusChanged
from ddp.messages import encode_message, parse_message
from ddp.protocol import ClientProtocol


class RecordingStore:
    """A ``DataStore`` that records each batch and keeps the documents it describes."""

    def __init__(self) -> None:
        self.batches: list[tuple[list[dict[str, Any]], bool]] = []
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}

    def apply_batch(self, messages: Sequence[dict[str, Any]], reset: bool) -> None:
        self.batches.append((list(messages), reset))
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

    def doc(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        return self.docs.get(collection, {}).get(doc_id)

    def count(self, collection: str) -> int:
        return len(self.docs.get(collection, {}))


class Harness:
    """Drives a ``ClientProtocol`` as a driver would, with a fake clock."""

    def __init__(self, **options: Any) -> None:
        self.store = RecordingStore()
        options.setdefault("random", random.Random(1234).random)
        self.proto = ClientProtocol(store=self.store, **options)
        self.now = 100.0
        self._stash: list[Event] = []

    # -- driver side
    def open(self) -> dict[str, Any]:
        """Dial and open a transport; return the ``connect`` message the core wrote."""
        self.proto.dialing(self.now)
        self.proto.connection_made(self.now)
        sent = self.sent()
        assert sent and sent[0]["msg"] == "connect", sent
        return sent[0]

    def connect(self, session: str = "S1") -> list[dict[str, Any]]:
        """Open a transport and complete the handshake; return what the core sent after."""
        self.open()
        self.feed(msg="connected", session=session)
        return self.sent()

    def lose(self, reason: str = "gone") -> float | None:
        return self.proto.connection_lost(self.now, reason)

    def reconnect(self, session: str) -> list[dict[str, Any]]:
        """Lose the transport, open a new one and get ``connected`` with ``session``.

        The lifecycle events this produces (status, loss, ``Connected``) are dropped; the
        others stay for ``events()``.
        """
        self.lose()
        self.sent()
        self.open()
        self.feed(msg="connected", session=session)
        lifecycle = (StatusChanged, ConnectionLost, Connected)
        self._stash += [e for e in self.proto.events_received() if not isinstance(e, lifecycle)]
        return self.sent()

    def reconnect_after_open(self, session: str, *, reopen: bool = False) -> list[dict[str, Any]]:
        """Get ``connected`` with ``session`` on the open transport (or open one first)."""
        if reopen:
            self.open()
        self.feed(msg="connected", session=session)
        lifecycle = (StatusChanged, ConnectionLost, Connected)
        self._stash += [e for e in self.proto.events_received() if not isinstance(e, lifecycle)]
        return self.sent()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.proto.on_timer(self.now)

    # -- server side
    def feed(self, **msg: Any) -> None:
        self.feed_text(encode_message(msg))

    def feed_text(self, text: str) -> None:
        self.proto.receive_text(text, self.now)

    # -- observations
    def sent(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.proto.data_to_send()]

    def sent_decoded(self) -> list[dict[str, Any]]:
        return [parse_message(text) for text in self.proto.data_to_send()]

    def events(self, *kinds: type[Any]) -> list[Event]:
        events = self._stash + list(self.proto.events_received())
        self._stash = []
        if kinds:
            return [e for e in events if isinstance(e, kinds)]
        return events


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    """Build a harness with the given ``ClientProtocol`` options."""
    return Harness


@pytest.fixture
def harness() -> Harness:
    """A harness with default options, not yet connected."""
    return Harness()


@pytest.fixture
def connected(harness: Harness) -> Harness:
    """A harness connected to session ``S1``, with its events and output drained."""
    harness.connect("S1")
    harness.events()
    return harness
