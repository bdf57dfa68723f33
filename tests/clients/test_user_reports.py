"""What users of other DDP clients reported as broken, shown not to happen to ours.

One test per report, or per group of reports that one behaviour answers; each docstring names
them (the team's ``reference/user-reports.md``, sections 1 to 4). Most use the blocking
``ddp.Client``; where an asyncio client could differ, ``ddp.AsyncClient`` is checked too.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from ddp._options import parse_url
from ddp.auth import LoginResult, MemoryTokenStore, hash_password
from ddp.backoff import Backoff
from ddp.server import Server, ServerThread


def drop(st: ServerThread, *, keep_session: bool = False) -> None:
    """Cut every connection (abruptly); a new session unless ``keep_session``."""
    st.call(st.server.faults.drop_all, keep_session=keep_session)


def docs(client: ddp.Client, name: str) -> dict[object, dict[str, object]]:
    """The client's cache of ``name`` by id."""
    return {d["_id"]: d for d in client.collection(name).find({})}


def server_docs(st: ServerThread, name: str) -> dict[object, dict[str, object]]:
    """The server's documents of ``name`` by id."""
    return st.call(lambda: {d["_id"]: d for d in st.server.collection(name).find(None).fetch()})


# -- 1 Reconnect correctness -------------------------------------------------------------------


def test_usable_after_reconnect_without_login(server_thread: ServerThread) -> None:
    """hharnisc/python-meteor #17 ("not reconnecting on reload"), PR #31 (after a reconnect
    without login, `subscribe` raises and every later `call` raises), #11 and #24 ("Could
    not subscribe because a connection has not been established"): connect() returns only
    once `connected` arrived, and after reconnects calls and subscriptions just work."""
    st = server_thread
    client = fast_client(st)
    with client:
        sub = client.subscribe("items")  # right after connect: no polling, no race
        events = reconnected(client)
        for n in range(1, 3):
            drop(st)
            events.wait_for(lambda items, n=n: items.count(("reconnect",)) == n)
            assert client.status is ddp.Status.CONNECTED
            assert client.call("add", n, 1) == n + 1
            assert client.subscribe("items", {"n": n}).is_ready
        assert sub.is_ready and not sub.stopped


def test_calls_from_many_threads_while_the_socket_dies(server_thread: ServerThread) -> None:
    """hharnisc/python-ddp #8 (`RuntimeError: Cannot send on a terminated websocket` from
    Celery) and oortcloud/node-ddp-client #18 (uncaught `Error('not opened')` on send after
    a network problem): sends race a dying socket from other threads; nothing raises, every
    call completes after the reconnect."""
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        start = threading.Barrier(9)

        def worker(i: int) -> list[int]:
            start.wait(TIMEOUT)
            return [client.call("echo", i * 100 + j, timeout=TIMEOUT) for j in range(20)]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(worker, i) for i in range(8)]
            start.wait(TIMEOUT)
            drop(st)
            results = [f.result(TIMEOUT * 2) for f in futures]
        assert results == [[i * 100 + j for j in range(20)] for i in range(8)]
        events.wait_for(lambda items: ("connected",) in items)


def test_reconnects_every_time_and_reports_the_truth(server_thread: ServerThread) -> None:
    """oortcloud/node-ddp-client #42 (reconnects only the first time), hharnisc/
    node-ddp-client #15 (cannot reconnect, yet reports connected), meteor/meteor #2733
    (`onReconnect` fired only the first time), hunternet93/ddp_asyncio #1 (reconnect
    automatically and tell the application), Go seed PR #13: five drops, five reconnects,
    five `on_reconnect` calls, and the status says RECONNECTING while it is so."""
    st = server_thread
    client = fast_client(st)
    statuses = status_log(client)
    with client:
        events = reconnected(client)
        for n in range(1, 6):
            drop(st)
            events.wait_for(lambda items, n=n: items.count(("reconnect",)) == n)
            assert client.call("echo", n) == n
        wait_status(statuses, ddp.Status.RECONNECTING, 5)
    assert client.stats().reconnects == 5


def test_server_down_for_a_while_then_back(server_thread: ServerThread) -> None:
    """oortcloud/node-ddp-client PR #63 (retries once, then "hangs forever doing nothing"
    while the server is down), #66 (CPU and memory grow while the server is down), Go seed
    "Fix runaway reconnect loops" and "needs a reconnect backoff": attempts follow the
    backoff schedule (bounded, growing), and the client comes back when the server does."""
    st = server_thread
    slow = Backoff(base=0.05, exponent=2.0, max=0.4, min_timeout=0.01, fuzz=0)
    with fast_client(st, reconnect=slow) as client:
        events = reconnected(client)
        st.call(st.server.faults.refuse_connections)
        drop(st)
        server_wait(st, lambda: st.server.monitor.refused >= 5)
        st.call(st.server.faults.accept_connections)
        events.wait_for(lambda items: ("reconnect",) in items)
        # 0.01, 0.01, then 0.2, 0.4, 0.4 s: five refusals took at least 0.6 s, not a spin.
        assert st.server.monitor.refused <= 7
        assert client.call("echo", "back") == "back"


def test_close_stops_every_reconnect(server_thread: ServerThread) -> None:
    """oortcloud/node-ddp-client PR #17 (`close()` caused an infinite reconnect loop): after
    close() no connection is attempted, even while a reconnect was pending."""
    st = server_thread
    client = fast_client(st, reconnect=Backoff(base=5, min_count=0, fuzz=0))
    statuses = status_log(client)
    client.connect()
    drop(st)
    wait_status(statuses, ddp.Status.RECONNECTING)  # now sleeping a 1 s backoff
    client.close()
    wait_status(statuses, ddp.Status.DISCONNECTED)
    attempts = st.server.monitor.attempts
    assert attempts == 1
    assert not [t for t in threading.enumerate() if t.name.startswith("ddp-io")]


def test_many_parallel_clients_do_not_reconnect_for_nothing(server_thread: ServerThread) -> None:
    """oortcloud/node-ddp-client #85 (unexplained reconnects with many parallel clients):
    twenty clients with short heartbeats, each pinging and calling; none reconnects."""
    st = server_thread
    clients = [fast_client(st, heartbeat_interval=0.05, heartbeat_timeout=1.0) for _ in range(20)]
    try:
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda c: c.connect(), clients))

            def exercise(c: ddp.Client) -> None:
                for i in range(10):
                    c.ping(TIMEOUT)
                    assert c.call("echo", i) == i

            list(pool.map(exercise, clients))
        assert [c.stats().reconnects for c in clients] == [0] * 20
    finally:
        for c in clients:
            c.close()


def test_no_duplicate_or_flickering_events_after_reconnects(server_thread: ServerThread) -> None:
    """mondora/ddp.js #42 (`added` fires several times after a reconnect: duplicate
    listeners), Gregivy/simpleddp #17 (N `removed` then N `added` on every reconnect, as the
    cache is cleared and refilled), kenyee/android-ddp-client #20 (heavy churn on reconnect):
    three new-session reconnects produce no observer event at all."""
    st = server_thread
    for i in range(30):
        st.call(st.server.collection("items").insert, {"_id": f"d{i}", "n": i})
    with fast_client(st) as client:
        events = reconnected(client)
        client.subscribe("items")
        seen = Events()
        client.collection("items").find({}).observe_changes(
            added=seen.callback("added"),
            changed=seen.callback("changed"),
            removed=seen.callback("removed"),
        )
        seen.wait_for(lambda items: len(items) == 30)
        for n in range(1, 4):
            drop(st)
            events.wait_for(lambda items, n=n: items.count(("reconnect",)) == n)
        client.call("insert", {"_id": "last", "n": -1})
        seen.wait_for(lambda items: ("added", "last", {"n": -1}) in items)
        assert len(seen.items) == 31


def test_offline_changes_are_reconciled(server_thread: ServerThread) -> None:
    """apendua/ddp-redux #5 (documents removed while offline must be purged), Gregivy/
    simpleddp CHANGELOG 2.2.4 ("possible data loss" when resubscribing), kenyee/
    android-ddp-client #20 ("how can we be sure we are in sync?"): after a restart with
    changes made while the client was away, the cache equals the server's data."""
    st = server_thread
    items = st.server.collection("items")
    for i in range(10):
        st.call(items.insert, {"_id": f"o{i}", "n": i})
    with fast_client(st) as client:
        events = reconnected(client)
        client.subscribe("items")

        def restart_and_edit() -> None:
            st.server.faults.refuse_connections()
            st.server.faults.restart()
            for i in range(0, 10, 2):
                items.remove(f"o{i}")
            items.update("o1", {"$set": {"n": 111}})
            items.insert({"_id": "o10", "n": 10})
            st.server.faults.accept_connections()

        st.call(restart_and_edit)
        events.wait_for(lambda items: ("reconnect",) in items)
        assert client.call("echo", 1) == 1  # quiescence reached before this result
        assert docs(client, "items") == server_docs(st, "items")
        assert client.collection("items").find_one("o1")["n"] == 111


def test_resubscribe_with_the_same_id_and_subscriptions_stay_live(
    server_thread: ServerThread,
) -> None:
    """siegesmund/SwiftDDP #18 and PR #19, mondora/asteroid PR #103 (resubscribe on
    reconnect with the same id), delight-im/Android-DDP #96, #107, #144 (subscriptions dead
    after a reconnect): the `sub` is re-sent with its id, and live updates keep coming."""
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        sub = client.subscribe("items")
        drop(st)
        events.wait_for(lambda items: ("reconnect",) in items)
        st.run(st.server.wait_for_message("sub", count=2))
        subs = st.server.monitor.find_messages("sub")
        assert [r.msg["id"] for r in subs] == [sub.id, sub.id]
        seen = Events()
        client.collection("items").find({}).observe_changes(added=seen.callback("added"))
        st.call(st.server.collection("items").insert, {"_id": "live", "v": 1})
        seen.wait_for(lambda items: ("added", "live", {"v": 1}) in items)


def test_session_id_is_offered_and_resumed(server_thread: ServerThread) -> None:
    """delight-im/Android-DDP #144 (the session id is not picked up by the server),
    meteor/meteor PR #14051 (session resumption): after a short drop the server resumes
    our session; nothing is re-run, no reconnect hook fires, the cache is untouched."""
    st = server_thread
    st.call(st.server.collection("items").insert, {"_id": "k", "v": 1})
    with fast_client(st) as client:
        events = reconnected(client)
        client.subscribe("items")
        session = client.session
        drop(st, keep_session=True)
        record = st.run(st.server.wait_for_connections(2))
        assert record.resumed and record.session_id == session
        events.wait_for(lambda items: ("connected",) in items)
        assert client.call("echo", 1) == 1
        assert ("reconnect",) not in events.items
        assert client.session == session and docs(client, "items")["k"]["v"] == 1


def test_one_reconnect_at_a_time(server_thread: ServerThread) -> None:
    """Go seed TODO "reconnect should not allow more reconnects while a reconnection is
    already in progress": reconnect() hammered from threads leaves one connection."""
    st = server_thread
    with fast_client(st) as client:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.reconnect(), range(32)))
        assert client.call("echo", 1) == 1
        assert server_wait(
            st, lambda: len([s for s in st.server.sessions.values() if s.connected]) == 1
        )


# -- 2 Calls that never settle, timeouts, duplicates -----------------------------------------


def test_pending_calls_end_when_the_connection_drops_for_good(server_thread: ServerThread) -> None:
    """oortcloud/node-ddp-client PR #54 ("End pending method when connection drops"),
    RocketChat/Rocket.Chat.js.SDK PR #61 (reject the promise on DDP close): with reconnects
    off, a drop ends pending calls with ConnectionFailedError; close() ends them with
    ClientClosedError."""
    st = server_thread
    with ddp.Client(st.url, reconnect=False) as client:
        parked = client.go("park", "pr54")
        assert client.call("echo", 0) == 0
        drop(st)
        with pytest.raises(ddp.ConnectionFailedError):
            parked.result(TIMEOUT)
    client = fast_client(st)
    client.connect()
    parked = client.go("park", "pr61")
    client.close()
    with pytest.raises(ddp.ClientClosedError):
        parked.result(0)


async def test_async_close_rejects_pending_calls(server: Server) -> None:
    """RocketChat/Rocket.Chat.js.SDK PR #61, for the asyncio client."""
    client = ddp.AsyncClient(server.url)
    await client.connect()
    parked = client.go("park", "async-pr61")
    await client.close()
    with pytest.raises(ddp.ClientClosedError):
        await parked.result(0)


def test_sockjs_methods_resolve_after_reconnect(server_thread: ServerThread) -> None:
    """oortcloud/node-ddp-client #93 (methods never resolve on reconnect when using SockJS)."""
    st = server_thread
    with fast_client(st, url=f"ddpi+sockjs://127.0.0.1:{st.port}") as client:
        events = reconnected(client)
        parked = client.go("park", "sockjs-93")
        assert client.call("echo", 0) == 0
        drop(st)
        events.wait_for(lambda items: ("reconnect",) in items)
        st.call(st.server.app.release.set)
        assert parked.result(TIMEOUT) == "sockjs-93"


def test_connect_to_a_silent_endpoint_times_out() -> None:
    """Gregivy/simpleddp #18 (a connect to an endpoint that never answers never resolves),
    RocketChat/Rocket.Chat.js.SDK #287 (a replaced connect attempt stays pending forever)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"127.0.0.1:{silent.getsockname()[1]}"
        client = ddp.Client(url, connect_timeout=0.2, reconnect=FAST)
        with pytest.raises(ddp.DDPTimeoutError):
            client.connect()
        with pytest.raises(ddp.ClientClosedError):
            client.connect()


async def test_async_connect_to_a_silent_endpoint_times_out() -> None:
    """Gregivy/simpleddp #18, for the asyncio client."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        client = ddp.AsyncClient(f"127.0.0.1:{silent.getsockname()[1]}", connect_timeout=0.2)
        with pytest.raises(ddp.DDPTimeoutError):
            await client.connect()


def test_silent_connection_per_call_deadline(server_thread: ServerThread) -> None:
    """RocketChat/Rocket.Chat.js.SDK #277 (a call on a connection that stays up but silent
    waits forever): a per-call timeout ends it; heartbeats end the silent connection."""
    st = server_thread
    client = fast_client(st, heartbeat_interval=0.1, heartbeat_timeout=0.2)
    statuses = status_log(client)
    with client:
        with pytest.raises(ddp.DDPTimeoutError):
            client.call("park", "277", timeout=0.1)
        st.call(setattr, st.server.faults, "stall_heartbeats", True)
        wait_status(statuses, ddp.Status.RECONNECTING)
        st.call(setattr, st.server.faults, "stall_heartbeats", False)
        st.call(st.server.app.release.set)
        assert client.call("echo", 1, timeout=TIMEOUT) == 1


def test_login_resume_waits_for_the_reconnect(server_thread: ServerThread) -> None:
    """Gregivy/simpleddp-plugin-login #3 (the login-resume timeout fires before the reconnect
    has even happened): the resume login is sent only once connected again, however long
    the server stays away, and it succeeds."""
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        user = client.login(user="alice", password=PASSWORD).id
        st.call(st.server.faults.refuse_connections)
        drop(st)
        server_wait(st, lambda: st.server.monitor.refused >= 4)
        st.call(st.server.faults.accept_connections)
        events.wait_for(lambda items: ("reconnect",) in items)
        assert client.call("whoami") == user == client.user_id


def test_subscribe_during_the_reconnect_window(server_thread: ServerThread) -> None:
    """RocketChat/Rocket.Chat.js.SDK #422 (a subscribe issued during the reconnect window is
    silently dropped and never replayed)."""
    st = server_thread
    st.call(st.server.collection("items").insert, {"_id": "w", "v": 1})
    client = fast_client(st)
    statuses = status_log(client)
    with client:
        st.call(st.server.faults.refuse_connections)
        drop(st)
        wait_status(statuses, ddp.Status.RECONNECTING)
        sub = client.subscribe("items", wait=False)
        call = client.go("echo", "queued")
        st.call(st.server.faults.accept_connections)
        sub.ready(TIMEOUT)
        assert call.result(TIMEOUT) == "queued"
        assert docs(client, "items")["w"]["v"] == 1


def test_completed_methods_are_not_sent_again(server_thread: ServerThread) -> None:
    """foxdog-studios/pyddp #4 (after a server restart every message already sent is sent
    again), meteor/meteor #11355 ("Methods should only receive results once" with calls in
    flight at the reconnect): finished calls never go out again; the one in flight is
    re-sent once, and each caller gets exactly one result."""
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        for i in range(5):
            assert client.call("count", f"done-{i}") == 1
        parked = client.go("park", "in-flight")
        assert client.call("echo", 0) == 0
        st.call(st.server.faults.restart)
        events.wait_for(lambda items: ("reconnect",) in items)
        st.call(st.server.app.release.set)
        assert parked.result(TIMEOUT) == "in-flight"
        for i in range(5):
            assert st.server.app.count(f"done-{i}") == 1
        methods = st.server.monitor.find_messages("method")
        assert sum(r.msg["method"] == "count" for r in methods) == 5


def test_non_idempotent_methods_do_not_run_twice(server_thread: ServerThread) -> None:
    """meteor/meteor #1285 and #4290 (re-sending makes non-idempotent methods run twice:
    "give 10 points -> 20"), PR #2949: with `no_retry` a dropped call fails with
    InvocationFailedError instead of running again; and a result that arrives during a
    resumable drop is replayed, not re-run."""
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        points = client.go("park", "points", no_retry=True)
        assert client.call("echo", 0) == 0
        drop(st)
        with pytest.raises(ddp.InvocationFailedError):
            points.result(TIMEOUT)
        events.wait_for(lambda items: ("reconnect",) in items)
        st.call(st.server.app.release.set)
        assert client.call("echo", 1) == 1
        assert st.server.app.count("points") == 1


# -- 3 Blocking vs callback APIs, lifecycle ---------------------------------------------------


def test_blocking_interface(server_thread: ServerThread) -> None:
    """hharnisc/python-meteor #6 ("Blocking interface: callback style makes code
    complicated") and #8 ("Synchronous method calls"): call() returns the result; go()
    gives a future-like handle for concurrency."""
    with ddp.Client(server_thread.url) as client:
        assert client.call("add", 2, 40) == 42
        calls = [client.go("add", i, i) for i in range(10)]
        assert [c.result(TIMEOUT) for c in calls] == [2 * i for i in range(10)]


_SCRIPT = """
import sys, ddp
client = ddp.Client(sys.argv[1])
client.connect()
print(client.call("add", 2, 40), flush=True)
{ending}
"""


@pytest.mark.parametrize("ending", ["", "client.close()"])
def test_scripts_get_their_answer_and_exit(server_thread: ServerThread, ending: str) -> None:
    """hharnisc/python-ddp #11 ("Nothing happens", because the program exits on a daemon
    thread): a script waits for its answer, and exits whether or not it closes."""
    src = str(Path(ddp.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(ending=ending), server_thread.url],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"


def test_errors_are_never_silent(server_thread: ServerThread) -> None:
    """hharnisc/python-ddp #10 ("calling method on meteor" fails silently): an unknown
    method, a bad argument list and a server error all raise MethodError."""
    with ddp.Client(server_thread.url) as client:
        with pytest.raises(ddp.MethodError) as unknown:
            client.call("no.such.method")
        assert unknown.value.error == 404
        with pytest.raises(ddp.MethodError) as bad_args:
            client.call("add", 1)
        assert bad_args.value.error == 400
        with pytest.raises(ddp.MethodError):
            client.call("fail")


# -- 4 Authentication -------------------------------------------------------------------------


def test_password_login_unicode_and_email(server_thread: ServerThread) -> None:
    """meteor/meteor #1194 (DDP clients need login support), hharnisc/python-meteor #35
    (Python 3 login fails with `TypeError: Unicode-objects must be encoded before hashing`;
    fix PR #37 never merged), Gregivy/simpleddp-plugin-login #6 (email login failing),
    reactioncommerce/meteor-ddp-login PR #4 (accept an already hashed password)."""
    with ddp.Client(server_thread.url) as client:
        by_name = client.login(user="alice", password=PASSWORD)  # non-ASCII str password
        client.logout()
        by_email = client.login(email="alice@example.com", password=PASSWORD)
        client.logout()
        hashed = client.login(user="alice", password=hash_password(PASSWORD))
        client.logout()
        as_bytes = client.login(user="alice", password=PASSWORD.encode())
        assert by_name.id == by_email.id == hashed.id == as_bytes.id
        sent = server_thread.server.monitor.find_messages("method")
        passwords = [r.msg["params"][0]["password"] for r in sent if r.msg["method"] == "login"]
        assert all(p == hash_password(PASSWORD) for p in passwords)  # never in clear


def test_subscribe_before_login_sees_the_user(server_thread: ServerThread) -> None:
    """hharnisc/python-meteor #27 (publications looked broken; the cause was subscribe/login
    ordering): a subscription made before login follows the login (the server re-runs it
    and the cache gets the difference), and one made after sees the user at once."""
    st = server_thread
    with ddp.Client(st.url) as client:
        # Logged out, the publication publishes nothing and is not ready.
        mine = client.subscribe("mine", wait=False)
        user = client.login(user="alice", password=PASSWORD).id
        mine.ready(TIMEOUT)
        client.call("insert", {"_id": "a1", "owner": user})
        client.call("insert", {"_id": "b1", "owner": "someone-else"})
        assert set(docs(client, "items")) == {"a1"}


def test_login_result_and_token_management(server_thread: ServerThread) -> None:
    """hharnisc/node-ddp-client #4 ("Login flow": no session or token management),
    oortcloud/node-ddp-client #55 (how to use the login token), PR #33 (return the login
    result so the token is available), Gregivy/simpleddp-plugin-login #16 and PR #10 (how
    to resume an existing login), #6 (persist the token, log in again automatically)."""
    st = server_thread
    store = MemoryTokenStore()
    with ddp.Client(st.url, token_store=store) as client:
        result = client.login(user="alice", password=PASSWORD)
        assert isinstance(result, LoginResult)
        assert result.token and result.token_expires and result.type == "password"
        assert store.load(parse_url(st.url).key) == result
    # Another client with the same store is logged in as soon as it connects...
    with ddp.Client(st.url, token_store=store) as again:
        assert again.call("whoami") == result.id
        assert again.user_id == result.id
    # ...and the token can be used by hand.
    with ddp.Client(st.url) as by_hand:
        assert by_hand.login(token=result.token).id == result.id


def test_expired_tokens(server_thread: ServerThread) -> None:
    """siegesmund/SwiftDDP PR #97 (`resume()` with expired tokens): an expired stored token
    is not sent at all; a token the server finds expired raises LoginError."""
    st = server_thread
    with ddp.Client(st.url) as client:
        good = client.login(user="alice", password=PASSWORD)
    store = MemoryTokenStore()
    expired = LoginResult(good.id, good.token, datetime.now(UTC) - timedelta(days=1))
    store.save(parse_url(st.url).key, expired)
    with ddp.Client(st.url, token_store=store) as client:
        assert client.call("whoami") is None
        logins = st.server.monitor.find_messages(
            "method", session_id=client.session, predicate=lambda m: m["method"] == "login"
        )
        assert logins == []
    st.call(lambda: st.server.accounts.revoke_tokens())
    with ddp.Client(st.url) as client, pytest.raises(ddp.LoginError) as info:
        client.login(token=good.token)
    assert info.value.error == 403


def test_custom_login_handler(server_thread: ServerThread) -> None:
    """siegesmund/SwiftDDP PR #86 (login with arbitrary parameters, for custom login
    handlers): `call("login", {...}, wait=True)` reaches the server's handler, and its
    token then works with login(token=...)."""
    st = server_thread

    bob = st.call(lambda: st.server.accounts.find_user(username="bob"))

    def by_api_key(ctx: object, params: dict[str, object]) -> str | None:
        return bob.id if params.get("apiKey") == "k-123" else None

    st.call(st.server.accounts.add_login_handler, by_api_key)
    with ddp.Client(st.url) as client:
        result = client.call("login", {"apiKey": "k-123"}, wait=True)
        assert client.call("whoami") == result["id"]
        with ddp.Client(st.url) as other:
            assert other.login(token=result["token"]).id == result["id"]


def test_resume_login_keeps_subscriptions(server_thread: ServerThread) -> None:
    """kenyee/java-ddp-client #10 and #11 (resume login breaks subscriptions), Gregivy/
    simpleddp #11 (a second subscribe to the same publication after logout and login never
    becomes ready): user-specific data stays right across a reconnect with resume login,
    and subscribing again after logout/login becomes ready."""
    st = server_thread
    with fast_client(st) as client:
        events = reconnected(client)
        user = client.login(user="alice", password=PASSWORD).id
        client.call("insert", {"_id": "mine-1", "owner": user})
        client.subscribe("mine")
        drop(st)
        events.wait_for(lambda items: ("reconnect",) in items)
        assert client.call("echo", 1) == 1
        assert set(docs(client, "items")) == {"mine-1"}
        client.logout()
        client.login(user="alice", password=PASSWORD)
        again = client.subscribe("mine", timeout=TIMEOUT)
        assert again.is_ready and set(docs(client, "items")) == {"mine-1"}


async def test_async_subscribe_during_reconnect_window(server: Server) -> None:
    """RocketChat/Rocket.Chat.js.SDK #422, for the asyncio client."""
    async with ddp.AsyncClient(server.url, reconnect=FAST) as client:
        server.faults.refuse_connections()
        server.faults.drop_all(keep_session=False)
        await server.wait_for_disconnections(1)
        sub = await client.subscribe("items", wait=False)
        server.faults.accept_connections()
        await sub.ready(TIMEOUT)
