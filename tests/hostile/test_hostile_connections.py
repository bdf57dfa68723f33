"""Servers that misbehave around the connection: handshakes that stall, fail or flip-flop,
servers that refuse a resuming ``connect``, stop reading, or stop answering heartbeats.

Each case runs on both clients. The client must come back (a reconnect within the bounds
its options set), the next call must work, it must never dial faster than its backoff
allows, and ``close()`` must return (checked by the ``make_client`` fixture).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from either_client import KINDS, UnderTest
from raw_server import TIMEOUT, Conn, FrontDoor, RawServer, http_error

import ddp
from ddp.backoff import Backoff

Make = Callable[..., UnderTest]

STEADY = Backoff(base=0.2, exponent=1.0, max=0.2, min_timeout=0.2, min_count=0, fuzz=0.0)
"""Every retry after exactly 0.2 s: what lets a test bound the dial rate from below."""


def test_a_stalled_handshake_times_out_and_the_next_dial_works(
    raw: RawServer, make_client: Make
) -> None:
    release = asyncio.Event()

    async def stall_first(attempt: int) -> Any:
        if attempt == 1:
            await release.wait()  # never answers the HTTP upgrade
        return None

    raw.handshake = stall_first
    client = make_client(raw.url, connect_timeout=0.5)
    try:
        client.connect(timeout=TIMEOUT)
        assert client.call("echo", 1) == 1
        assert raw.attempts == 2
    finally:
        raw.run(_set(release))


async def _set(event: asyncio.Event) -> None:
    event.set()


def test_refused_handshakes_are_retried_on_the_backoff(raw: RawServer, make_client: Make) -> None:
    async def refuse_three(attempt: int) -> Any:
        return http_error(503) if attempt <= 3 else None

    raw.handshake = refuse_three
    client = make_client(raw.url)
    client.connect()
    assert client.call("echo", 1) == 1
    assert raw.attempts == 4


def test_refused_handshakes_end_in_connection_failed_at_max_attempts(
    raw: RawServer, make_client: Make
) -> None:
    async def refuse(attempt: int) -> Any:
        return http_error(500)

    raw.handshake = refuse
    client = make_client(raw.url, max_attempts=3)
    with pytest.raises(ddp.ConnectionFailedError):
        client.connect()
    assert raw.attempts <= 4


def test_a_version_flip_flop_never_dials_faster_than_the_backoff(
    raw: RawServer, make_client: Make
) -> None:
    """``failed{pre2}`` to ``1`` and ``failed{1}`` to ``pre2``, forever: one switch of version
    may be dialled at once, but then the backoff applies (at most two dials per delay)."""

    async def flip(server: RawServer, conn: Conn, msg: dict[str, Any]) -> bool:
        other = "pre2" if msg.get("version") == "1" else "1"
        await conn.ws.send(json.dumps({"msg": "failed", "version": other}))
        return True

    raw.hooks["connect"] = flip
    client = make_client(raw.url, reconnect=STEADY)
    began = time.monotonic()
    with pytest.raises(ddp.DDPError):
        client.connect(timeout=1.5)
    elapsed = time.monotonic() - began
    # A lower bound on time between dials can only grow on a slow machine: never flaky.
    assert raw.dials <= 2 * (1 + elapsed / STEADY.min_timeout) + 1, (raw.dials, elapsed)


def test_a_strict_server_refusing_a_resuming_connect_gets_a_plain_one(
    raw: RawServer, make_client: Make
) -> None:
    """A pre-3.5 server that rejects ``session``/``receivedCount`` in ``connect`` with
    ``error`` "Malformed connect": the client falls back to a plain ``connect`` at once."""

    async def strict(server: RawServer, conn: Conn, msg: dict[str, Any]) -> bool:
        if set(msg) - {"msg", "version", "support"}:
            await conn.ws.send(
                json.dumps({"msg": "error", "reason": "Malformed connect", "offendingMessage": msg})
            )
            return True
        return False

    raw.hooks["connect"] = strict
    client = make_client(raw.url, connect_timeout=TIMEOUT * 2)
    client.connect()
    raw.run(_abort(raw.conns[-1]))  # a network drop: the client will offer its session
    raw.wait_for(lambda s: len(s.received("connect")) >= 3, timeout=2.0)  # "at once"
    client.connect(timeout=TIMEOUT)
    assert client.call("echo", 1) == 1
    plain = [m for m in raw.received("connect")[1:] if "session" not in m]
    assert plain, raw.received("connect")
    # Remembered for this client: the next reconnect does not offer a session again.
    raw.run(_abort(raw.conns[-1]))
    client.connect(timeout=TIMEOUT)
    assert "session" not in raw.received("connect")[-1]
    assert raw.dials <= 5


async def _abort(conn: Conn) -> None:
    conn.ws.transport.abort()


def test_a_server_that_stops_answering_heartbeats_is_left(
    raw: RawServer, make_client: Make
) -> None:
    async def deaf_to_pings(server: RawServer, conn: Conn, msg: dict[str, Any]) -> bool:
        return conn.number == 1  # the first connection swallows every ping

    raw.hooks["ping"] = deaf_to_pings
    client = make_client(raw.url, heartbeat_interval=0.2, heartbeat_timeout=0.3)
    client.connect()
    raw.wait_for(lambda s: s.dials == 2)
    client.connect(timeout=TIMEOUT)
    assert client.call("echo", 1) == 1
    assert raw.received("ping"), "the client never pinged"


@pytest.mark.parametrize(
    "kind",
    ["async", "sync"],
)
def test_a_server_that_stops_reading_during_a_large_call(raw: RawServer, kind: str) -> None:
    """The server stops reading while a 32 MiB call is being written (a blackholed
    network): the heartbeat ends the connection, the call is re-sent on the next one and
    answered, and ``close()`` returns. Bounded from outside: a hang fails, not wedges."""
    raw.deaf.add(1)
    raw.methods["size"] = lambda params: len(params[0])
    client = KINDS[kind](raw.url, heartbeat_interval=0.3, heartbeat_timeout=0.5)
    outcome: list[Any] = []

    def work() -> None:
        try:
            client.connect()
            outcome.append(client.call("size", "x" * (32 << 20), timeout=6.0))
            outcome.append(client.call("echo", 1))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            try:
                client.finish()
                outcome.append("closed")
            except BaseException as exc:
                outcome.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(8.0)
    assert not worker.is_alive(), f"the client hung (so far: {outcome!r})"
    assert outcome == [32 << 20, 1, "closed"]
    assert raw.dials == 2


@pytest.mark.parametrize("kind", ["garbage", "no-upgrade"])
def test_broken_handshakes_are_retried_on_the_backoff(
    raw: RawServer, make_client: Make, kind: str
) -> None:
    """An answer that is not HTTP, an HTTP answer that is not an upgrade: three such
    dials, then the fourth connects and works."""
    with FrontDoor(raw, lambda n: kind if n <= 3 else "forward") as door:
        client = make_client(door.url)
        client.connect()
        assert client.call("echo", 1) == 1
        assert door.accepted == 4
        assert raw.dials == 1


QUICK = Backoff(base=0.001, exponent=1.0, max=0.001, min_timeout=0.001, min_count=0)
"""Retries a millisecond apart: many dials in little time."""


@pytest.mark.parametrize(
    "kind",
    ["async", "sync"],
)
def test_connections_closed_before_the_handshake_are_retried(raw: RawServer, kind: str) -> None:
    """A listener that accepts TCP and closes at once, 100 times (a proxy or load balancer
    with no backend): every dial fails cleanly (no exception escapes any thread), then
    the 101st connects and works."""
    with FrontDoor(raw, lambda n: "close" if n <= 100 else "forward") as door:
        client = KINDS[kind](door.url, reconnect=QUICK)
        try:
            client.connect(timeout=TIMEOUT * 2)
            assert client.call("echo", 1) == 1
            assert door.accepted == 101
        finally:
            client.finish()
