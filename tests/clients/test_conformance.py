"""One behaviour, two drivers: every test here runs on ``ddp.Client`` and ``ddp.AsyncClient``.

A difference a user can observe between the two (an outcome, a counter, a log line) is a bug;
each test states one such behaviour and is run on both (:mod:`conformance_support`). The
first ones pin down differences the drivers used to have.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from client_app import PASSWORD
from conformance_support import KINDS, TIMEOUT, Driven, driven
from stall_support import StallingServer
from sync_support import FAST, Events

import ddp
from ddp.auth import LoginResult, MemoryTokenStore, hash_password
from ddp.server import ServerThread


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """The driver under test."""
    return str(request.param)


@pytest.fixture
def refused_url() -> str:
    """A URL where nothing listens (a port just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}/websocket"


class _Capture(logging.Handler):
    """Every record of the ``ddp`` loggers, whatever pytest's own capture level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.records.append(record)

    def lines(self, level: int = logging.DEBUG, name: str = "ddp") -> list[str]:
        with self._lock2:
            return [
                r.getMessage()
                for r in self.records
                if r.levelno >= level and (r.name == name or r.name.startswith(name + "."))
            ]


@pytest.fixture
def ddp_logs() -> Iterator[_Capture]:
    """Capture the ``ddp`` loggers at DEBUG (frame tracing on)."""
    handler = _Capture()
    root = logging.getLogger("ddp")
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _status_log(client: Driven) -> Events:
    events = Events()
    client.on_status(lambda change: events.add(change.new))
    return events


# -- connect, calls, errors, subscriptions ----------------------------------------------------


def test_connect_call_and_method_error(kind: str, server_thread: ServerThread) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0) as client:
        assert client.status is ddp.Status.CONNECTED
        assert client.call("add", 2, 40) == 42
        with pytest.raises(ddp.MethodError) as caught:
            client.call("fail", "nope")
        assert caught.value.error == "nope"


def test_subscription_ready_fills_the_cache(kind: str, server_thread: ServerThread) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0) as client:
        client.call("insert", {"_id": "a", "n": 1})
        sub = client.subscribe("items")
        assert sub.is_ready
        assert client.collection("items").find_one("a")["n"] == 1
        with pytest.raises(ddp.SubscriptionError):
            client.subscribe("refuse")


# -- token store ------------------------------------------------------------------------------


class _FailingLoad(MemoryTokenStore):
    def load(self, key: str) -> LoginResult | None:
        raise OSError("disk on fire")


def test_a_token_store_that_cannot_load_is_logged_and_the_client_connects(
    kind: str, server_thread: ServerThread, ddp_logs: _Capture
) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0, token_store=_FailingLoad()) as c:
        assert c.status is ddp.Status.CONNECTED
        assert c.call("echo", 1) == 1
    errors = ddp_logs.lines(logging.ERROR)
    assert errors == ["the token store failed to load the resume token"]


class _Spy(MemoryTokenStore):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self._log = log

    def delete(self, key: str) -> None:
        self._log.append("delete")
        super().delete(key)


class _FrameLog(logging.Handler):
    def __init__(self, log: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        if '"logout"' in record.getMessage() and record.getMessage().startswith(">"):
            self._log.append("logout sent")


def test_logout_forgets_the_token_before_it_calls_logout(
    kind: str, server_thread: ServerThread
) -> None:
    log: list[str] = []
    frames = logging.getLogger("ddp.client.frames")
    handler = _FrameLog(log)
    frames.addHandler(handler)
    old = frames.level
    frames.setLevel(logging.DEBUG)
    try:
        with driven(kind, server_thread.url, heartbeat_interval=0, token_store=_Spy(log)) as c:
            c.login(user="alice", password=PASSWORD)
            log.clear()
            c.logout()
            assert c.client.user_id is None
    finally:
        frames.removeHandler(handler)
        frames.setLevel(old)
    assert log[:2] == ["delete", "logout sent"]


def test_a_refused_resume_token_is_forgotten(kind: str, server_thread: ServerThread) -> None:
    store = MemoryTokenStore()
    with driven(kind, server_thread.url, heartbeat_interval=0, token_store=store) as client:
        with pytest.raises(ddp.LoginError):
            client.login(token="not-a-token")
        assert store.load(client.client.url) is None and client.client.user_id is None


# -- statistics -------------------------------------------------------------------------------


def test_refused_dials_count_as_read_errors(kind: str, refused_url: str) -> None:
    with driven(kind, refused_url, connect=False, reconnect=FAST, max_attempts=2) as client:
        with pytest.raises(ddp.ConnectionFailedError):
            client.connect(timeout=TIMEOUT)
        stats = client.stats()
    # max_attempts=2: the first dial and two retries, all refused.
    assert (stats.total_reads.errors, stats.total_writes.errors) == (3, 0)


def test_stats_count_frames_and_round_trips(kind: str, server_thread: ServerThread) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0) as client:
        client.reset_stats()
        for i in range(3):
            client.call("echo", i)
        stats = client.stats()
        assert stats.methods.count == 3
        # Each result is in; an ``updated`` may still be on its way.
        assert stats.writes.ops >= 3 and stats.reads.ops >= 3
        assert stats.reads.bytes > 0 and stats.writes.bytes > 0
        assert stats.reads.errors == stats.writes.errors == 0


# -- logging ----------------------------------------------------------------------------------


def test_a_bad_frame_is_one_warning_and_one_read_error(
    kind: str, server_thread: ServerThread, ddp_logs: _Capture
) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0) as client:
        client.reset_stats()
        server_thread.call(server_thread.server.faults.send_raw, client.client.session, "[1,2")
        assert client.call("echo", "after") == "after"  # the connection goes on
        assert client.stats().reads.errors == 1
    warnings = ddp_logs.lines(logging.WARNING)
    assert len(warnings) == 1, warnings


def test_frames_are_traced_on_ddp_client_frames(
    kind: str, server_thread: ServerThread, ddp_logs: _Capture
) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0) as client:
        client.call("echo", "traced")
    traced = ddp_logs.lines(name="ddp.client.frames")
    assert any(line.startswith(">") and '"traced"' in line for line in traced)
    assert any(line.startswith("<") and '"traced"' in line for line in traced)
    elsewhere = [
        r
        for r in ddp_logs.records
        if r.name != "ddp.client.frames" and '"traced"' in r.getMessage()
    ]
    assert elsewhere == []


def test_secrets_never_reach_the_logs(
    kind: str, server_thread: ServerThread, ddp_logs: _Capture
) -> None:
    digest = hash_password(PASSWORD)["digest"]
    with driven(kind, server_thread.url, heartbeat_interval=0, reconnect=FAST) as client:
        login = client.login(user="alice", password=PASSWORD)
        again = client.login(token=login.token)
        # A new session: the client logs in again with the token by itself.
        connected = Events()
        client.on_connected(lambda event: connected.add(event))
        server_thread.call(server_thread.server.faults.drop_all, keep_session=False)
        connected.wait_for(lambda items: items)
        assert client.call("whoami") == login.id
    text = "\n".join(r.getMessage() for r in ddp_logs.records)
    assert '"login"' in text  # the frames were traced...
    for secret in (digest, login.token, again.token):
        assert secret not in text  # ...with the secrets masked


def test_connect_timeout_names_the_last_error(kind: str, refused_url: str) -> None:
    with driven(kind, refused_url, connect=False, reconnect=FAST) as client:
        with pytest.raises(ddp.DDPTimeoutError, match="last error: dial failed"):
            client.connect(timeout=0.5)


# -- reconnect, ping, close, listeners --------------------------------------------------------


def test_a_dropped_connection_resumes_and_calls_go_on(
    kind: str, server_thread: ServerThread
) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0, reconnect=FAST) as client:
        connected = Events()
        client.on_connected(lambda event: connected.add(event.resumed))
        session = client.client.session
        server_thread.call(server_thread.server.faults.drop_all)
        connected.wait_for(lambda items: items)
        assert connected.items == [True] and client.client.session == session
        assert client.call("echo", 2) == 2


def test_ping_while_reconnecting_waits_for_the_connection(
    kind: str, server_thread: ServerThread
) -> None:
    faults = server_thread.server.faults
    with driven(kind, server_thread.url, heartbeat_interval=0, reconnect=FAST) as client:
        statuses = _status_log(client)
        server_thread.call(faults.refuse_connections)
        server_thread.call(faults.drop_all)
        statuses.wait_for(lambda items: ddp.Status.RECONNECTING in items)
        pending = client.start("ping", timeout=TIMEOUT)
        server_thread.call(faults.accept_connections)
        assert pending.result(TIMEOUT) >= 0.0


def test_a_ping_cut_off_by_a_reconnect_is_sent_again_on_the_new_connection(
    kind: str, server_thread: ServerThread
) -> None:
    with driven(kind, server_thread.url, heartbeat_interval=0, reconnect=FAST) as client:
        for _ in range(5):  # the ping goes out on the connection being dropped, every time
            client.reconnect()
            assert client.ping(timeout=TIMEOUT) >= 0.0


def test_ping_times_out_while_the_server_stays_away(kind: str, server_thread: ServerThread) -> None:
    faults = server_thread.server.faults
    with driven(kind, server_thread.url, heartbeat_interval=0, reconnect=FAST) as client:
        statuses = _status_log(client)
        server_thread.call(faults.refuse_connections)
        server_thread.call(faults.drop_all)
        statuses.wait_for(lambda items: ddp.Status.RECONNECTING in items)
        with pytest.raises(ddp.DDPTimeoutError):
            client.ping(timeout=0.2)
        server_thread.call(faults.accept_connections)


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("call", ("echo", 1)),
        ("subscribe", ("items",)),
        ("ping", ()),
        ("send", ({"msg": "sub", "id": "x", "name": "items"},)),
        ("stream", ("stream-room", "GENERAL")),
        ("changes", ("items",)),
    ],
)
def test_a_command_before_connect_fails_at_once(
    kind: str, server_thread: ServerThread, command: str, args: tuple[Any, ...]
) -> None:
    # Nothing would ever answer it: neither client waits (the async one used to, forever).
    client = Driven(kind, server_thread.url, heartbeat_interval=0)
    try:
        with pytest.raises(ddp.InvalidStateError, match="connect"):
            client.do(command, *args)
        client.connect()
        assert client.call("echo", 1) == 1
    finally:
        client.dispose()


def test_close_ends_every_waiter_with_client_closed(kind: str, server_thread: ServerThread) -> None:
    client = Driven(kind, server_thread.url, heartbeat_interval=0)
    try:
        client.connect()
        parked = client.start("call", "park", "c")
        sub = client.subscribe("gated", 1, wait=False)
        client.close()
        with pytest.raises(ddp.ClientClosedError):
            parked.result(TIMEOUT)
        assert sub.stopped and isinstance(sub.error, ddp.ClientClosedError)
        with pytest.raises(ddp.ClientClosedError):
            client.do("call", "echo", 1)
    finally:
        client.dispose()


def test_listeners_see_status_and_connected_in_order(
    kind: str, server_thread: ServerThread
) -> None:
    client = Driven(kind, server_thread.url, heartbeat_interval=0)
    events = Events()
    client.on_status(lambda change: events.add(("status", change.new)))
    client.on_connected(lambda event: events.add(("connected", event.session)))
    try:
        client.connect()
        events.wait_for(lambda items: any(i[0] == "connected" for i in items))
        client.close()
        events.wait_for(lambda items: ("status", ddp.Status.DISCONNECTED) in items)
    finally:
        client.dispose()
    kinds = [item[1] if item[0] == "status" else "connected" for item in events.items]
    assert kinds[:4] == [
        ddp.Status.DIALING,
        ddp.Status.CONNECTING,
        ddp.Status.CONNECTED,
        "connected",
    ]


# -- a server that stops reading ---------------------------------------------------------------


def test_a_stalled_write_ends_in_a_reconnect_and_close_returns(kind: str) -> None:
    """A server that stops reading mid-write: the heartbeat notices, the connection is
    aborted (freeing the stuck writer) and redialed; nothing waits forever."""
    payload = "x" * (16 * 1024 * 1024)
    with StallingServer() as server:
        client = Driven(
            kind,
            server.url,
            heartbeat_interval=0.2,
            heartbeat_timeout=0.3,
            reconnect=FAST,
            compression=False,
        )
        try:
            client.connect()
            statuses = _status_log(client)
            pending: Any = client.start("call", "big", payload, timeout=TIMEOUT)
            statuses.wait_for(lambda items: ddp.Status.RECONNECTING in items)
            assert server.wait_for_connections(2, TIMEOUT)
        finally:
            done = threading.Event()
            closer = threading.Thread(target=lambda: (client.dispose(), done.set()), daemon=True)
            closer.start()
            closed_in_time = done.wait(TIMEOUT)
        assert closed_in_time, "close() did not return"
        with pytest.raises(ddp.DDPError):
            pending.result(TIMEOUT)
