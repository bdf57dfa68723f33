"""The blocking ``ddp.Client`` when things go wrong: drops, restarts, stalls, refusals."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest
from client_app import PASSWORD
from sync_support import (
    FAST,
    TIMEOUT,
    Events,
    fast_client,
    reconnected,
    server_wait,
    status_log,
    wait_status,
)

import ddp
from ddp.server import Server, ServerThread, server_in_thread


def server_docs(st: ServerThread, name: str) -> dict[str, dict[str, Any]]:
    """The server's documents of collection ``name``, by id (read on the server's loop)."""

    def read() -> dict[str, dict[str, Any]]:
        docs = st.server.collection(name).find(None).fetch()
        return {doc["_id"]: {k: v for k, v in doc.items() if k != "_id"} for doc in docs}

    return st.call(read)


def client_docs(client: ddp.Client, name: str) -> dict[str, dict[str, Any]]:
    """The client's cache of collection ``name``, by id."""
    return {
        doc["_id"]: {k: v for k, v in doc.items() if k != "_id"}
        for doc in client.collection(name).find({})
    }


def drop(st: ServerThread, *, keep_session: bool) -> None:
    """Cut every connection of the server (abruptly, no close frame)."""
    st.call(st.server.faults.drop_all, keep_session=keep_session)


def test_method_in_flight_survives_a_drop_on_a_new_session(server_thread: ServerThread) -> None:
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        call = client.go("park", "new-session")
        assert client.call("echo", 0) == 0  # the park call is running on the server
        drop(st, keep_session=False)
        events.wait_for(lambda items: ("reconnect",) in items)
        # Re-sent with the same id on the new session (Meteor's rule for a retryable call).
        server_wait(st, lambda: st.server.app.count("new-session") == 2)
        st.call(st.server.app.release.set)
        assert call.result(TIMEOUT) == "new-session"
        call.data_visible(TIMEOUT)
        resent = st.server.monitor.find_messages(
            "method", predicate=lambda m: m["params"] == ["new-session"]
        )
        assert len({r.msg["id"] for r in resent}) == 1 and len(resent) == 2


def test_result_of_a_resumed_session_is_replayed_not_rerun(server_thread: ServerThread) -> None:
    st = server_thread
    with fast_client(st) as client:
        session = client.session
        assert session is not None
        statuses = status_log(client)
        call = client.go("park", "resumed")
        assert client.call("echo", 0) == 0
        st.call(st.server.faults.refuse_connections)
        drop(st, keep_session=True)
        wait_status(statuses, ddp.Status.RECONNECTING)

        async def release_while_away() -> bool:
            # The method finishes while the client is away: result and updated wait in the
            # session's queue. Yielding to the loop (no clock involved) lets it finish.
            st.server.app.release.set()
            for _ in range(100):
                if st.server.session(session).queued >= 2:
                    return True
                await asyncio.sleep(0)
            return False

        assert st.run(release_while_away())
        st.call(st.server.faults.accept_connections)
        assert call.result(TIMEOUT) == "resumed"
        record = st.run(st.server.wait_for_connections(2))
        assert record.resumed and record.session_id == session == client.session
        assert client.call("echo", 1) == 1
        assert st.server.app.count("resumed") == 1


def test_drop_during_the_initial_batch(server_thread: ServerThread) -> None:
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        sub = client.subscribe("gated", 3, wait=False)
        st.run(st.server.wait_for_message("sub"))
        drop(st, keep_session=False)
        events.wait_for(lambda items: ("reconnect",) in items)
        st.run(st.server.wait_for_message("sub", count=2))
        st.call(st.server.app.gate.set)
        sub.ready(TIMEOUT)
        assert sorted(client_docs(client, "gated")) == [f"g{i}" for i in range(6)]


def test_drop_after_ready_keeps_the_cache_without_spurious_events(
    server_thread: ServerThread,
) -> None:
    st = server_thread
    items = st.server.collection("items")
    for i in range(20):
        st.call(items.insert, {"_id": f"i{i:02}", "n": i})
    with fast_client(st) as client:
        events = reconnected(client)
        sub = client.subscribe("items")
        seen = Events()
        client.collection("items").find({}).observe_changes(
            added=seen.callback("added"),
            changed=seen.callback("changed"),
            removed=seen.callback("removed"),
        )
        seen.wait_for(lambda items: len(items) == 20)
        drop(st, keep_session=False)
        events.wait_for(lambda items: ("reconnect",) in items)
        # After quiescence the cache is the server's, and the observer saw nothing at all.
        assert client.call("insert", {"_id": "new", "n": 99}) == "new"
        seen.wait_for(lambda items: ("added", "new", {"n": 99}) in items)
        assert len(seen.items) == 21
        assert client_docs(client, "items") == server_docs(st, "items")
        assert sub.is_ready and not sub.stopped


def test_server_restart_new_session_cache_converges_exactly(server_thread: ServerThread) -> None:
    st = server_thread
    items = st.server.collection("items")
    for i in range(10):
        st.call(items.insert, {"_id": f"r{i}", "n": i})
    with fast_client(st) as client:
        events = reconnected(client)
        old_session = client.session
        client.subscribe("items")
        seen = Events()
        client.collection("items").find({}).observe_changes(
            added=seen.callback("added"),
            changed=seen.callback("changed"),
            removed=seen.callback("removed"),
        )
        seen.wait_for(lambda items: len(items) == 10)
        seen.items.clear()

        def restart_and_edit() -> None:
            st.server.faults.refuse_connections()
            st.server.faults.restart()
            items.remove("r0")
            items.update("r1", {"$set": {"n": 100}})
            items.insert({"_id": "r10", "n": 10})
            st.server.faults.accept_connections()

        st.call(restart_and_edit)
        events.wait_for(lambda items: ("reconnect",) in items)
        seen.wait_for(lambda items: len(items) >= 3)
        assert client.call("echo", "sync") == "sync"
        assert sorted(seen.items) == sorted(
            [("removed", "r0"), ("changed", "r1", {"n": 100}), ("added", "r10", {"n": 10})]
        )
        assert client.session != old_session
        assert client_docs(client, "items") == server_docs(st, "items")


def test_no_retry_call_fails_typed_others_complete_once(server_thread: ServerThread) -> None:
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        risky = client.go("park", "risky", no_retry=True)
        safe = client.go("park", "safe")
        assert client.call("echo", 0) == 0
        drop(st, keep_session=False)
        with pytest.raises(ddp.InvocationFailedError) as info:
            risky.result(TIMEOUT)
        assert info.value.error == "invocation-failed"
        with pytest.raises(ddp.InvocationFailedError):
            risky.data_visible(TIMEOUT)
        events.wait_for(lambda items: ("reconnect",) in items)
        server_wait(st, lambda: st.server.app.count("safe") == 2)
        st.call(st.server.app.release.set)
        assert safe.result(TIMEOUT) == "safe"
        assert st.server.app.count("risky") == 1  # never re-sent


def test_heartbeat_stall_is_noticed_within_interval_plus_timeout(
    server_thread: ServerThread,
) -> None:
    st = server_thread
    client = fast_client(st, heartbeat_interval=0.2, heartbeat_timeout=0.2)
    statuses = status_log(client)
    with client:
        assert client.call("echo", 1) == 1
        st.call(setattr, st.server.faults, "stall_heartbeats", True)
        start = time.monotonic()
        wait_status(statuses, ddp.Status.RECONNECTING)
        noticed = time.monotonic() - start
        st.call(setattr, st.server.faults, "stall_heartbeats", False)
        assert noticed < 0.2 + 0.2 + 0.3
        wait_status(statuses, ddp.Status.CONNECTED, 2)
        assert client.call("echo", 2) == 2
        assert client.stats().pings_sent >= 1


def test_login_survives_three_reconnects(server_thread: ServerThread) -> None:
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        user_id = client.login(user="alice", password=PASSWORD).id
        for n in range(1, 4):
            drop(st, keep_session=False)
            events.wait_for(lambda items, n=n: items.count(("reconnect",)) == n)
            assert client.call("whoami") == user_id
            assert client.user_id == user_id
        logins = st.server.monitor.find_messages(
            "method", predicate=lambda m: m["method"] == "login"
        )
        assert [list(r.msg["params"][0]) for r in logins] == [["user", "password"]] + [
            ["resume"]
        ] * 3


def test_sockjs_end_to_end_with_a_drop(server_thread: ServerThread) -> None:
    st = server_thread
    url = f"ddpi+sockjs://127.0.0.1:{st.port}"
    with fast_client(st, url=url) as client:
        events = reconnected(client)
        assert client.call("add", 2, 3) == 5
        st.call(st.server.collection("items").insert, {"_id": "s", "v": 1})
        client.subscribe("items")
        assert client_docs(client, "items") == {"s": {"v": 1}}
        call = client.go("park", "sockjs")
        assert client.call("echo", 0) == 0
        drop(st, keep_session=False)
        events.wait_for(lambda items: ("reconnect",) in items)
        st.call(st.server.app.release.set)
        assert call.result(TIMEOUT) == "sockjs"
    assert {r.transport for r in st.server.monitor.connects} == {"sockjs"}


def test_connect_timeout_against_a_silent_server() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts TCP, never answers
        port = silent.getsockname()[1]
        client = ddp.Client(f"ws://127.0.0.1:{port}/websocket", connect_timeout=0.3, reconnect=FAST)
        start = time.monotonic()
        with pytest.raises(ddp.DDPTimeoutError):
            client.connect()
        assert time.monotonic() - start < 2.0
        with pytest.raises(ddp.ClientClosedError):
            client.call("x")


def test_reconnect_false_fails_fast(server_thread: ServerThread) -> None:
    st = server_thread
    client = ddp.Client(st.url, reconnect=False)
    statuses = status_log(client)
    with client:
        call = client.go("park", "fail-fast")
        assert client.call("echo", 0) == 0
        drop(st, keep_session=False)
        with pytest.raises(ddp.ConnectionFailedError):
            call.result(TIMEOUT)
        wait_status(statuses, ddp.Status.FAILED)
        with pytest.raises(ddp.ConnectionFailedError):
            client.call("echo", 1)


def test_max_attempts_gives_up_with_a_typed_error(server_thread: ServerThread) -> None:
    st = server_thread
    st.call(st.server.faults.refuse_connections)
    client = fast_client(st, max_attempts=3)
    with pytest.raises(ddp.ConnectionFailedError):
        client.connect()
    assert st.server.monitor.refused >= 3


def test_reconnect_now_and_repeatedly(server_thread: ServerThread) -> None:
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        for n in range(2, 5):
            client.reconnect()
            client.reconnect()  # while already reconnecting: harmless
            events.wait_for(lambda items, n=n: items.count(("connected",)) >= n - 1)
            assert client.call("echo", n) == n
        assert client.stats().reconnects >= 3


def test_version_negotiation() -> None:
    with server_in_thread(Server(versions=("1",), heartbeat_interval=0)) as st:
        with ddp.Client(st.url, versions=("pre2", "1")) as client:
            assert client.version == "1"
        client = ddp.Client(st.url, versions=("pre1",), reconnect=FAST)
        with pytest.raises(ddp.VersionNegotiationError):
            client.connect()


def test_bad_frames_from_the_server_are_survived(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.url) as client:
        for text in ("not json", "[1,2]", '{"msg":"wat"}', '{"msg":"result","id":"nope"}'):
            st.call(st.server.faults.send_raw, None, text)
        assert client.call("echo", "still here") == "still here"
        assert client.stats().reads.errors >= 3
        assert client.status is ddp.Status.CONNECTED
