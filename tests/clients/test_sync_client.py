"""The blocking ``ddp.Client`` against a real server on a loopback websocket: the API."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
from client_app import PASSWORD
from sync_support import TIMEOUT, Events, fast_client, server_wait, status_log, wait_status

import ddp
from ddp.auth import hash_password
from ddp.events import StatusChanged
from ddp.server import ServerThread
from ddp.sync import MethodCall, Subscription


def test_connect_call_go_ping(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.url) as client:
        assert client.status is ddp.Status.CONNECTED
        assert client.version == "1"
        assert client.session in st.server.sessions
        assert client.call("add", 2, 40) == 42
        pending = client.go("echo", {"a": [1, 2]})
        assert isinstance(pending, MethodCall)
        assert pending.result(TIMEOUT) == {"a": [1, 2]}
        pending.data_visible(TIMEOUT)
        assert pending.done()
        assert 0 < client.ping(TIMEOUT) < TIMEOUT
        stats = client.stats()
        assert stats.methods.count == 2
        assert stats.writes.ops >= 3 and stats.reads.ops >= 3
        client.reset_stats()
        assert client.stats().methods.count == 0
    assert client.status is ddp.Status.DISCONNECTED


def test_method_errors_are_typed_and_whole(server_thread: ServerThread) -> None:
    with ddp.Client(server_thread.url) as client:
        with pytest.raises(ddp.MethodError) as info:
            client.call("fail", 418)
        assert (info.value.error, info.value.reason, info.value.details) == (
            418,
            "it failed",
            {"why": "asked to"},
        )
        with pytest.raises(ddp.MethodError) as info:
            client.call("no-such-method")
        assert info.value.error == 404
        assert client.call("limited") == "ok"
        with pytest.raises(ddp.RateLimitedError) as limited:
            client.call("limited")
        assert limited.value.retry_after is not None and limited.value.retry_after > 0
        # The connection goes on after errors.
        assert client.call("add", 1, 1) == 2


def test_subscriptions_are_keyed_by_id_and_fill_the_cache(server_thread: ServerThread) -> None:
    st = server_thread
    items = st.server.collection("items")
    for i in range(5):
        st.call(items.insert, {"_id": f"d{i}", "n": i, "even": i % 2 == 0})
    with ddp.Client(st.url) as client:
        even = client.subscribe("items", {"even": True})
        odd = client.subscribe("items", {"even": False})
        assert isinstance(even, Subscription) and even.is_ready and odd.is_ready
        assert even.id != odd.id and even.name == odd.name == "items"
        cache = client.collection("items")
        assert sorted(doc["n"] for doc in cache.find({})) == [0, 1, 2, 3, 4]
        assert [doc["_id"] for doc in cache.find({"n": {"$gt": 2}}, sort=[("n", -1)])] == [
            "d4",
            "d3",
        ]
        assert client.collection_stats()[0].count == 5
        odd.stop()
        odd.stop()  # idempotent
        assert odd.stopped and odd.error is None
        # The server removes what only the odd subscription held.
        inserted = client.call("insert", {"_id": "d9", "n": 9, "even": False})
        assert inserted == "d9"
        even.stop()
        refused = client.subscribe("refuse", wait=False)
        with pytest.raises(ddp.SubscriptionError) as info:
            refused.ready(TIMEOUT)
        assert info.value.error == "not-allowed" and info.value.details == {"hint": 1}
        assert refused.error is info.value and refused.stopped


def test_observers_run_on_the_dispatcher_thread(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.url) as client:
        client.subscribe("items")
        seen = Events()
        handle = (
            client.collection("items")
            .find({})
            .observe_changes(added=seen.callback("added"), removed=seen.callback("removed"))
        )
        call = client.go("insert", {"_id": "x", "v": 1})
        call.data_visible(TIMEOUT)
        seen.wait_for(lambda items: ("added", "x", {"v": 1}) in items)
        assert seen.threads == {t.name for t in threading.enumerate() if "callbacks" in t.name}
        handle.stop()


def test_a_slow_callback_does_not_stall_pings_or_results(server_thread: ServerThread) -> None:
    st = server_thread
    release = threading.Event()
    with ddp.Client(st.url) as client:
        client.subscribe("items")
        entered = Events()

        def slow(*args: object) -> None:
            entered.add("in")
            release.wait(TIMEOUT)

        client.collection("items").find({}).observe_changes(added=slow)
        client.call("insert", {"v": 1})
        entered.wait_for(lambda items: items)
        try:
            for _ in range(3):
                assert client.ping(TIMEOUT) < 1.0
            assert client.call("add", 1, 2) == 3
        finally:
            release.set()


def test_a_raising_listener_is_logged_not_fatal(
    server_thread: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    client = ddp.Client(server_thread.url)
    statuses = status_log(client)

    def broken(change: StatusChanged) -> None:
        raise RuntimeError("listener bug")

    client.on_status(broken)
    with client:
        assert client.call("add", 1, 1) == 2
    wait_status(statuses, ddp.Status.DISCONNECTED)
    assert any("listener bug" in (r.exc_text or "") for r in caplog.records)


def test_listeners_can_be_removed(server_thread: ServerThread) -> None:
    client = ddp.Client(server_thread.url)
    seen = Events()
    remove = client.on_connected(seen.callback("connected"))
    remove()
    remove()
    kept = status_log(client)
    with client:
        pass
    wait_status(kept, ddp.Status.DISCONNECTED)
    assert seen.items == []


def test_login_logout_by_username_email_digest_and_token(server_thread: ServerThread) -> None:
    with ddp.Client(server_thread.url) as client:
        assert client.user_id is None
        with pytest.raises(ddp.LoginError) as info:
            client.login(user="alice", password="wrong")
        assert info.value.error == 403
        result = client.login(user="alice", password=PASSWORD)
        assert client.user_id == result.id == client.call("whoami")
        assert result.token and result.token_expires is not None
        client.logout()
        assert client.user_id is None and client.call("whoami") is None
        by_email = client.login(email="alice@example.com", password=PASSWORD)
        assert by_email.id == result.id
        client.logout()
        last = client.login(user="alice@example.com", password=hash_password(PASSWORD))
        assert client.call("whoami") == result.id
        with ddp.Client(server_thread.url) as other:
            # logout() revoked the earlier tokens; the last one is still good.
            with pytest.raises(ddp.LoginError):
                other.login(token=by_email.token)
            assert other.login(token=last.token).id == result.id
            assert other.call("whoami") == result.id


def test_login_arguments_are_checked_before_sending(server_thread: ServerThread) -> None:
    with ddp.Client(server_thread.url) as client:
        with pytest.raises(TypeError):
            client.login(user="alice")
        with pytest.raises(TypeError):
            client.login(user="alice", email="a@b.c", password="x")
        with pytest.raises(TypeError):
            client.go(42)  # type: ignore[arg-type]


def test_two_hundred_concurrent_calls_from_threads(server_thread: ServerThread) -> None:
    with ddp.Client(server_thread.url) as client:
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(lambda i: client.call("echo", i, timeout=TIMEOUT), range(200)))
        assert results == list(range(200))
        assert client.stats().methods.count == 200


def test_close_ends_calls_in_flight_at_once(server_thread: ServerThread) -> None:
    st = server_thread
    client = fast_client(st)
    client.connect()
    parked = [client.go("park", f"close-{i}") for i in range(3)]
    # Messages run in order and park unblocks once counted: this answer means all are in.
    assert client.call("echo", 1) == 1
    assert st.server.app.count("close-2") == 1
    sub = client.subscribe("gated", 2, wait=False)
    start = time.monotonic()
    client.close()
    assert time.monotonic() - start < 2.5
    for call in parked:
        with pytest.raises(ddp.ClientClosedError):
            call.result(0)
        with pytest.raises(ddp.ClientClosedError):
            call.data_visible(0)
    with pytest.raises(ddp.ClientClosedError):
        sub.ready(0)
    with pytest.raises(ddp.ClientClosedError):
        client.call("add", 1, 2)
    with pytest.raises(ddp.ClientClosedError):
        client.connect()
    client.close()  # idempotent
    st.call(st.server.app.release.set)
    assert not [t for t in threading.enumerate() if t.name.startswith(("ddp-io", "ddp-callb"))]


def test_call_timeout_forgets_the_call(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.url) as client:
        with pytest.raises(ddp.DDPTimeoutError):
            client.call("park", "timeout", timeout=0.1)
        with pytest.raises(TimeoutError):  # the builtin catches it too
            client.go("park", "timeout-2").result(0.05)
        st.call(st.server.app.release.set)
        assert client.call("add", 2, 2) == 4


def test_cancel_a_call(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.url) as client:
        call = client.go("park", "cancel")
        assert call.cancel()
        with pytest.raises(concurrent.futures.CancelledError):
            call.result(0)
        st.call(st.server.app.release.set)
        assert client.call("echo", "after") == "after"


def test_wait_method_runs_alone(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.url) as client:
        parked = client.go("park", "before-wait")
        waiting = client.go("count", "waited", wait=True)
        st.run(
            st.server.wait_for_message("method", predicate=lambda m: m["params"] == ["before-wait"])
        )

        def release() -> bool:
            sent_early = st.server.monitor.find_messages(
                "method", predicate=lambda m: m["params"] == ["waited"]
            )
            st.server.app.release.set()
            return bool(sent_early)

        # The wait method is held back until the parked call finished.
        assert st.call(release) is False
        assert parked.result(TIMEOUT) == "before-wait"
        assert waiting.result(TIMEOUT) == 1


def test_send_raw_and_server_error(server_thread: ServerThread) -> None:
    with ddp.Client(server_thread.url) as client:
        client.send({"msg": "method", "method": "count", "params": ["raw"], "id": "raw-1"})
        server_wait(server_thread, lambda: server_thread.server.app.count("raw") == 1)
        client.send({"msg": "bogus"})  # the server answers with `error`; we log it
        assert client.call("add", 1, 1) == 2


def test_api_before_connect_and_bad_options() -> None:
    client = ddp.Client("localhost:3000")
    assert client.url == "ws://localhost:3000/websocket"
    with pytest.raises(ddp.InvalidStateError):
        client.call("x")
    client.close()
    with pytest.raises(ValueError):
        ddp.Client("ftp://example.com")
    with pytest.raises(ValueError):
        ddp.Client("localhost", heartbeat_interval=-1)
    with pytest.raises(ddp.InvalidStateError):
        ddp.Client("localhost", collections=False).collection("x")


def test_collections_false_keeps_no_cache(server_thread: ServerThread) -> None:
    st = server_thread
    st.call(st.server.collection("items").insert, {"v": 1})
    with ddp.Client(st.url, collections=False) as client:
        client.subscribe("items")
        assert client.collection_stats() == []
