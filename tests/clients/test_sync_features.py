"""The blocking Client's features over loopback: collection-change listeners, custom-params
login, TLS, URL forms, handshake headers, status order, permanent failures."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from client_app import install
from proxy_support import http_proxy
from sync_support import FAST, TIMEOUT, Events, fast_client, reconnected, status_log, wait_status
from tls_support import make_tls

import ddp
from ddp.collection import CollectionChange
from ddp.events import StatusChanged
from ddp.server import MethodContext, Server, ServerThread, server_in_thread


def change_log(client: ddp.Client) -> tuple[Events, Any]:
    """Log every change (one item per change) and the threads the listener ran on."""
    events = Events()

    def listener(changes: Sequence[CollectionChange]) -> None:
        assert isinstance(changes, tuple) and changes
        for change in changes:
            events.add(change)

    return events, client.on_collection_change(listener)


# -- collection changes --------------------------------------------------------------------------


def test_collection_changes_run_on_the_dispatcher_thread(server_thread: ServerThread) -> None:
    st = server_thread
    items = st.server.collection("items")
    with fast_client(st) as client:
        seen, remove = change_log(client)
        client.subscribe("items")
        doc_id = client.call("insert", {"n": 1})
        seen.wait_for(lambda got: len(got) == 1)
        st.call(items.update, doc_id, {"$set": {"n": 2}})
        seen.wait_for(lambda got: len(got) == 2)
        st.call(items.remove, doc_id)
        seen.wait_for(lambda got: len(got) == 3)
        assert seen.items == [
            CollectionChange("items", "added", doc_id, {"n": 1}),
            CollectionChange("items", "changed", doc_id, {"n": 2}),
            CollectionChange("items", "removed", doc_id, None),
        ]
        assert all(name.startswith("ddp-callbacks-") for name in seen.threads)
        assert threading.current_thread().name not in seen.threads
        remove()
        client.call("insert", {"n": 3})
        client.go("echo", "sync").data_visible(TIMEOUT)
        assert len(seen.items) == 3


def test_a_new_session_reports_only_the_net_difference(server_thread: ServerThread) -> None:
    st = server_thread
    items = st.server.collection("items")
    for i in range(10):
        st.call(items.insert, {"_id": f"r{i}", "n": i})
    with fast_client(st) as client:
        events = reconnected(client)
        client.subscribe("items")
        seen, _ = change_log(client)

        def restart_and_edit() -> None:
            st.server.faults.refuse_connections()
            st.server.faults.restart()
            items.remove("r0")
            items.update("r1", {"$set": {"n": 100}})
            items.insert({"_id": "r10", "n": 10})
            st.server.faults.accept_connections()

        st.call(restart_and_edit)
        events.wait_for(lambda got: ("reconnect",) in got)
        assert client.call("echo", "sync") == "sync"
        seen.wait_for(lambda got: len(got) >= 3)
        client.go("echo", "settled").data_visible(TIMEOUT)
        assert sorted(seen.items, key=lambda c: c.id) == [
            CollectionChange("items", "removed", "r0", None),
            CollectionChange("items", "changed", "r1", {"n": 100}),
            CollectionChange("items", "added", "r10", {"n": 10}),
        ]


def test_no_change_listener_without_collections(server_thread: ServerThread) -> None:
    with ddp.Client(server_thread.url, collections=False) as client:
        with pytest.raises(ddp.InvalidStateError):
            client.on_collection_change(lambda changes: None)


# -- login with custom params --------------------------------------------------------------------


def test_login_with_custom_params_survives_a_new_session(server_thread: ServerThread) -> None:
    """SwiftDDP PR #86: login with the params of a custom login handler."""
    st = server_thread
    bob = st.call(lambda: st.server.accounts.find_user(username="bob"))

    def by_api_key(ctx: MethodContext, params: dict[str, Any]) -> str | None:
        return bob.id if params.get("apiKey") == "k-123" else None

    st.call(st.server.accounts.add_login_handler, by_api_key, "api-key")
    with fast_client(st) as client:
        events = reconnected(client)
        with pytest.raises(TypeError):
            client.login(token="t", params={"apiKey": "k-123"})
        with pytest.raises(ddp.LoginError):
            client.login(params={"apiKey": "wrong"})
        login = client.login(params={"apiKey": "k-123"})
        assert (login.id, login.type) == (bob.id, "api-key") and login.token
        assert client.user_id == bob.id
        st.call(st.server.faults.drop_all, keep_session=False)
        events.wait_for(lambda got: ("reconnect",) in got)
        assert client.call("whoami") == bob.id
        logins = st.server.monitor.find_messages(
            "method", session_id=client.session, predicate=lambda m: m["method"] == "login"
        )
        assert [m.msg["params"] for m in logins] == [[{"resume": login.token}]]


# -- TLS -----------------------------------------------------------------------------------------


def test_wss_end_to_end_and_untrusted_certificates_are_refused() -> None:
    tls = make_tls()
    server = Server(heartbeat_interval=0, ssl=tls.server)
    install(server)
    with server_in_thread(server) as st:
        assert st.url.startswith("wss://")
        for url in (st.url, server.base_url, f"ddp+sockjs://127.0.0.1:{st.port}"):
            with ddp.Client(url, ssl=tls.client) as client:
                assert client.call("add", 2, 40) == 42
        client = ddp.Client(st.url, reconnect=False)
        with pytest.raises(ddp.ConnectionFailedError) as info:
            client.connect()
        assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
        client = ddp.Client(st.url, connect_timeout=0.5, reconnect=FAST)
        with pytest.raises(ddp.DDPTimeoutError) as timeout:
            client.connect()
        assert "CERTIFICATE_VERIFY_FAILED" in str(timeout.value)
        assert client.status in (ddp.Status.DISCONNECTED, ddp.Status.DISCONNECTING)
        # close() does not wait for a dial in flight; let it end before the server stops,
        # or the server's loop may stop mid-handshake and leak that transport.
        client._io_thread.join(TIMEOUT)
        assert not client._io_thread.is_alive()


# -- proxies -------------------------------------------------------------------------------------


def test_through_an_http_proxy_given_from_the_environment_or_none(
    server_thread: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real CONNECT proxy on loopback: ``proxy=URL``, the environment's proxy (the
    default, as in websockets), ``proxy=None`` (direct), and wss:// tunnelled through it."""
    # (tests/conftest.py has cleared the environment's own proxy settings)
    st = server_thread
    target = f"127.0.0.1:{st.port}"
    tls = make_tls()
    tls_server = Server(heartbeat_interval=0, ssl=tls.server)
    install(tls_server)
    with http_proxy() as proxy:
        with ddp.Client(st.url, proxy=proxy.url) as client:
            assert client.call("add", 2, 40) == 42
        assert proxy.targets == [target]
        monkeypatch.setenv("https_proxy", proxy.url)
        with ddp.Client(st.url) as client:
            assert client.call("add", 1, 1) == 2
        assert proxy.targets == [target, target]
        with ddp.Client(st.url, proxy=None) as client:
            assert client.call("add", 1, 2) == 3
        assert proxy.targets == [target, target]
        with server_in_thread(tls_server) as tls_st:
            with ddp.Client(tls_st.url, ssl=tls.client) as client:
                assert client.call("add", 3, 4) == 7
            assert proxy.targets == [target, target, f"127.0.0.1:{tls_st.port}"]


# -- URLs, headers, status order, failures -------------------------------------------------------


@pytest.mark.parametrize("form", ["http", "bare", "ws"])
def test_urls_as_meteor_takes_them(server_thread: ServerThread, form: str) -> None:
    st = server_thread
    url = {
        "http": st.server.base_url,
        "bare": f"127.0.0.1:{st.port}",
        "ws": st.url,
    }[form]
    with ddp.Client(url) as client:
        assert client.call("echo", form) == form
    assert [r.transport for r in st.server.monitor.connects] == ["websocket"]


def test_sockjs_option_on_an_http_url(server_thread: ServerThread) -> None:
    st = server_thread
    with ddp.Client(st.server.base_url, sockjs=True) as client:
        assert client.call("echo", 1) == 1
    assert [r.transport for r in st.server.monitor.connects] == ["sockjs"]


def test_origin_and_extra_headers_reach_the_server(server_thread: ServerThread) -> None:
    st = server_thread
    headers = {"Authorization": "Bearer x", "X-Api-Key": "k-1"}
    with ddp.Client(st.url, origin="https://app.example", headers=headers) as client:
        seen = st.call(lambda: dict(st.server.session(client.session).connection.http_headers))
    assert seen["origin"] == "https://app.example"
    assert (seen["authorization"], seen["x-api-key"]) == ("Bearer x", "k-1")


def test_status_changes_are_reported_in_order(server_thread: ServerThread) -> None:
    st = server_thread
    client = fast_client(st)
    heard: list[StatusChanged] = []
    client.on_status(heard.append)
    events = reconnected(client)
    statuses = status_log(client)
    with client:
        st.call(st.server.faults.drop_all, keep_session=False)
        events.wait_for(lambda got: ("reconnect",) in got)
    wait_status(statuses, ddp.Status.DISCONNECTED)
    S = ddp.Status
    expected = [
        S.DIALING,
        S.CONNECTING,
        S.CONNECTED,
        S.RECONNECTING,
        S.CONNECTING,
        S.CONNECTED,
        S.DISCONNECTING,
        S.DISCONNECTED,
    ]
    assert [e.new for e in heard] == expected
    assert [e.old for e in heard] == [S.DISCONNECTED, *expected[:-1]]


def test_max_attempts_fails_fast_with_a_typed_error_naming_the_server() -> None:
    server = Server(heartbeat_interval=0)
    with server_in_thread(server) as st:
        url = st.url
    client = ddp.Client(url, reconnect=FAST, max_attempts=2)
    with pytest.raises(ddp.ConnectionFailedError) as info:
        client.connect(timeout=TIMEOUT)
    assert url in str(info.value) and "2 reconnect attempts" in str(info.value)
    assert client.status is ddp.Status.FAILED
