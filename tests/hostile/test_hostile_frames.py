"""Bad frames from a raw server: each is ignored (logged) or ends in a reconnect, never more.

Every test runs on both clients (``make_client``). The shape is always the same: a document
is cached, the server sends a document, the bad frame(s), and another document in one burst
before a method's result; then the method's result arrives (or, after a reconnect, the
re-sent method's), the next call works, both documents are in the cache, the client dialled
at most once more than it had to, and ``close()`` returns (the fixture checks that).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from either_client import UnderTest
from raw_server import Conn, Frame, RawServer, deep_added, ws_frame

import ddp

Make = Callable[..., UnderTest]

WRONG_VALUES: list[Any] = [None, 1, -1.5, True, "x", "", [], ["x", 1], {}, {"$date": "x"}]
"""Values of every JSON type (and one bad EJSON value) put in place of each field."""

VALID: dict[str, dict[str, Any]] = {
    # Each message kind in a form the client accepts, with ids it does not know (so that a
    # wrong type in one field is the only thing wrong with it).
    "connected": {"msg": "connected", "session": "other"},
    "failed": {"msg": "failed", "version": "1"},
    "pong": {"msg": "pong", "id": "nope"},
    "ping": {"msg": "ping", "id": "p1"},
    "added": {"msg": "added", "collection": "junk", "id": "j1", "fields": {"a": 1}},
    "changed": {
        "msg": "changed",
        "collection": "items",
        "id": "before",
        "fields": {"n": 1},
        "cleared": ["zzz"],
    },
    "removed": {"msg": "removed", "collection": "junk", "id": "j0"},
    "ready": {"msg": "ready", "subs": ["nope"]},
    "nosub": {"msg": "nosub", "id": "nope", "error": {"error": 500, "reason": "x"}},
    "result": {"msg": "result", "id": "nope", "result": 1},
    "updated": {"msg": "updated", "methods": ["nope"]},
    "error": {"msg": "error", "reason": "x", "offendingMessage": {"msg": "x"}},
    "addedBefore": {
        "msg": "addedBefore",
        "collection": "junk2",
        "id": "j2",
        "fields": {"a": 1},
        "before": None,
    },
    "movedBefore": {"msg": "movedBefore", "collection": "junk2", "id": "j9", "before": None},
}


def wrong_types(kind: str) -> list[str]:
    """``kind``'s message with each field in turn given each wrong value (``msg`` too)."""
    base = VALID[kind]
    frames = []
    for key in [*base, "extra"]:
        for value in WRONG_VALUES:
            if key == "failed" and kind == "failed":
                continue
            frames.append(json.dumps({**base, key: value}))
    return frames


def start(raw: RawServer, make: Make, **options: Any) -> UnderTest:
    """A client connected and subscribed to ``items`` (which holds the document ``before``)."""
    raw.add_doc("items", "before", {"n": 0})
    client = make(raw.url, **options)
    client.connect()
    client.subscribe("items")
    assert client.ids("items") == {"before"}
    return client


def survives(
    raw: RawServer, client: UnderTest, *bad: Frame | dict[str, Any], reconnects: int = 0
) -> None:
    """Send a document, ``bad``, another document, then a result; check the client took it.

    ``reconnects``: how many new connections the bad frames may cost (beyond none).
    """
    dials = raw.dials
    raw.queue_on_poke(
        raw.add_doc("items", "just-before", {"n": 1}),
        *bad,
        raw.add_doc("items", "after", {"n": 2}),
    )
    assert client.call_visible("poke") == "poked"
    assert client.call("echo", 7) == 7
    assert {"before", "just-before", "after"} <= client.ids("items")
    assert raw.dials <= dials + reconnects, f"{raw.dials - dials} reconnects"


# -- ignored: the connection goes on -----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        "",
        "   ",
        '{"msg": "added"',
        "[]",
        "[1, 2]",
        "null",
        "42",
        '"added"',
        "true",
        '{"msg": "added", "collection": "items", "id": "x", "fields": {"a": NaN}}',
        '{"msg": "added", "collection": "items", "id": "x", "fields": {"$date": 1}}',
        '{"msg": "added", "collection": "items", "id": "x", "fields": {"d": {"$date": "x"}}}',
        '{"msg": "added", "collection": "items", "id": "x", "fields": {"b": {"$binary": 1}}}',
        '{"msg": "surprise", "id": "1"}',
        '{"no": "msg"}',
        '{"msg": ["result"]}',
        '{"msg": {"a": 1}}',
    ],
    ids=lambda bad: bad[:90] or "empty",
)
def test_malformed_and_non_object_frames_are_ignored(
    raw: RawServer, make_client: Make, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Ignored, with one WARNING from the library, and no reconnect."""
    client = start(raw, make_client)
    with caplog.at_level(logging.WARNING, logger="ddp"):
        survives(raw, client, bad)
    assert [r for r in caplog.records if r.name.startswith("ddp")], "nothing was logged"


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_wrong_type_in_any_field_of_any_message_is_ignored(
    raw: RawServer, make_client: Make, kind: str
) -> None:
    """Each field of ``kind`` in turn, with each JSON type: all ignored, no reconnect
    (a ``failed`` after ``connected`` may cost one)."""
    client = start(raw, make_client)
    survives(raw, client, *wrong_types(kind), reconnects=1 if kind == "failed" else 0)
    if kind == "changed":
        # No wrong-typed `changed` may touch the document it names.
        docs = {d["_id"]: d for d in client.find("items")}
        assert docs["before"]["n"] in (0, 1)


def test_unknown_ids_are_ignored(raw: RawServer, make_client: Make) -> None:
    client = start(raw, make_client)
    survives(
        raw,
        client,
        {"msg": "result", "id": "no-such-call", "result": 1},
        {"msg": "result", "id": "no-such-call", "error": {"error": 500}},
        {"msg": "updated", "methods": ["no-such-call"]},
        {"msg": "ready", "subs": ["no-such-sub"]},
        {"msg": "nosub", "id": "no-such-sub"},
        {"msg": "changed", "collection": "items", "id": "no-such-doc", "fields": {"a": 1}},
        {"msg": "removed", "collection": "items", "id": "no-such-doc"},
        {"msg": "changed", "collection": "nothing", "id": "x", "fields": {"a": 1}},
        {"msg": "removed", "collection": "nothing", "id": "x"},
        {"msg": "movedBefore", "collection": "items", "id": "no-such-doc", "before": None},
        {"msg": "pong", "id": "no-such-ping"},
    )


def test_a_duplicate_result_does_not_resolve_anything_twice(
    raw: RawServer, make_client: Make
) -> None:
    client = start(raw, make_client)
    raw.methods["twice"] = lambda params: params[0]
    seen: list[dict[str, Any]] = []

    async def answer_twice(server: RawServer, conn: Conn, msg: dict[str, Any]) -> bool:
        if msg.get("method") != "twice":
            return False
        seen.append(msg)
        for _ in range(2):
            await conn.ws.send(json.dumps({"msg": "result", "id": msg["id"], "result": 1}))
            await conn.ws.send(json.dumps({"msg": "updated", "methods": [msg["id"]]}))
        return True

    raw.hooks["method"] = answer_twice
    assert client.call_visible("twice", 1) == 1
    assert client.call("echo", 2) == 2
    assert len(seen) == 1


@pytest.mark.parametrize(
    "bad",
    [
        b"\x00\xff\xfe",
        b'{"msg": "added", "collection": "items", "id": "bin", "fields": {}}',
        b"\xc3\x28",
    ],
    ids=["garbage", "json", "bad-utf8"],
)
def test_binary_frames(raw: RawServer, make_client: Make, bad: bytes) -> None:
    """DDP is text; a binary frame is ignored or costs one reconnect."""
    client = start(raw, make_client)
    survives(raw, client, bad, reconnects=1)


# -- a new connection ---------------------------------------------------------------------------


def test_invalid_utf8_in_a_text_frame_costs_one_reconnect(
    raw: RawServer, make_client: Make
) -> None:
    client = start(raw, make_client)

    async def bad_text(server: RawServer, conn: Conn, msg: dict[str, Any]) -> bool:
        if msg.get("method") == "poke" and conn.number == 1:
            await conn.ws.send(b'{"msg": "ping", "id": "\xff\xfe"}', text=True)
        return False

    raw.hooks["method"] = bad_text
    survives(raw, client, reconnects=1)
    assert raw.dials == 2


def test_a_frame_over_max_size_ends_the_connection_and_reconnects(
    raw: RawServer, make_client: Make
) -> None:
    """The client's ``max_size`` bounds what it buffers: a bigger frame closes the
    connection and the client reconnects (the reason given: tests/security)."""
    client = start(raw, make_client, max_size=64 * 1024)
    huge = raw.add_doc("items", "huge", {"blob": "x" * 100_000})
    del raw.docs["items"]["huge"]  # sent once, never again
    survives(raw, client, huge, reconnects=1)
    assert raw.dials == 2
    assert "huge" not in client.ids("items")


def test_a_deeply_nested_document_costs_no_other_document(
    raw: RawServer, make_client: Make
) -> None:
    """A plain document nested 1,000 levels (under orjson's limit, no ``$``) between two
    valid ones, in one batch (a resubscription on a new session is applied in one step):
    it may be refused, but the documents around it are kept and queries work."""
    client = start(raw, make_client)
    raw.docs["items"].clear()
    raw.extra_on_sub = [
        json.dumps({"msg": "added", "collection": "items", "id": "before", "fields": {}}),
        deep_added("deep", 1000),
        json.dumps({"msg": "added", "collection": "items", "id": "after", "fields": {}}),
    ]
    raw.run(_abort(raw.conns[-1]))  # the next connection is a new session: resubscribe
    raw.wait_for(lambda s: len(s.received("sub")) == 2)
    client.connect()
    assert client.call_visible("echo", 1) == 1
    assert {"before", "after"} <= client.ids("items")
    client.find("items")  # no RecursionError


async def _abort(conn: Conn) -> None:
    conn.ws.transport.abort()


def test_nesting_beyond_the_json_parser_limit_is_ignored(raw: RawServer, make_client: Make) -> None:
    client = start(raw, make_client)
    survives(raw, client, deep_added("deep", 5000))


def test_truncated_frame_then_close_costs_one_reconnect(raw: RawServer, make_client: Make) -> None:
    client = start(raw, make_client)

    async def truncate(server: RawServer, conn: Conn, msg: dict[str, Any]) -> bool:
        if msg.get("method") != "poke" or conn.number != 1:
            return False
        frame = ws_frame(0x1, json.dumps(server.add_doc("items", "t", {"a": 1})).encode())
        conn.ws.transport.write(frame[: len(frame) // 2])
        conn.ws.transport.close()
        return True

    raw.hooks["method"] = truncate
    survives(raw, client, reconnects=1)
    assert "t" in client.ids("items")  # re-sent on the new connection
    assert raw.dials == 2


def test_dripped_frames_are_reassembled(raw: RawServer, make_client: Make) -> None:
    """A frame sent a byte at a time (and one split in websocket fragments) is one message."""
    client = start(raw, make_client)

    async def drip(server: RawServer, conn: Conn, msg: dict[str, Any]) -> bool:
        if msg.get("method") != "poke":
            return False
        added = json.dumps(server.add_doc("items", "dripped", {"a": 1})).encode()
        for byte in ws_frame(0x1, added):
            conn.ws.transport.write(bytes([byte]))
            await asyncio.sleep(0)  # one write per loop turn: many small TCP segments
        added = json.dumps(server.add_doc("items", "fragmented", {"a": 2})).encode()
        pieces = [added[:5], added[5:20], added[20:]]
        conn.ws.transport.write(ws_frame(0x1, pieces[0], fin=False))
        conn.ws.transport.write(ws_frame(0x0, pieces[1], fin=False))
        conn.ws.transport.write(ws_frame(0x0, pieces[2]))
        return False

    raw.hooks["method"] = drip
    survives(raw, client)
    assert {"dripped", "fragmented"} <= client.ids("items")


def test_server_error_message_is_logged_not_fatal(raw: RawServer, make_client: Make) -> None:
    client = start(raw, make_client)
    survives(raw, client, {"msg": "error", "reason": "Bad request", "offendingMessage": {}})
    assert client.status is ddp.Status.CONNECTED
