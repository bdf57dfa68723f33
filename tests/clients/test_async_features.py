"""AsyncClient features over loopback: collection-change listeners, typed permanent failures,
custom-params login, close(timeout=), TLS, URL forms, handshake headers, status order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from async_support import TIMEOUT, next_event, synced
from client_app import install
from proxy_support import http_proxy
from sync_support import FAST
from tls_support import make_tls

import ddp
from ddp import AsyncClient, Status
from ddp.collection import CollectionChange
from ddp.events import Connected, ConnectionLost, StatusChanged
from ddp.server import MethodContext, Server


@pytest.fixture
async def client(server: Server):
    async with AsyncClient(server.url, reconnect=FAST) as c:
        yield c


class Changes:
    """Collects what ``on_collection_change`` delivers; waits without sleeping."""

    def __init__(self) -> None:
        self.batches: list[tuple[CollectionChange, ...]] = []
        self.tasks: list[asyncio.Task[Any] | None] = []
        self._arrived = asyncio.Event()

    def __call__(self, changes: Sequence[CollectionChange]) -> None:
        self.tasks.append(asyncio.current_task())
        self.batches.append(tuple(changes))
        self._arrived.set()

    def flat(self) -> list[CollectionChange]:
        return [change for batch in self.batches for change in batch]

    async def wait_for(self, count: int) -> list[CollectionChange]:
        """Wait until at least ``count`` changes arrived; return them all."""
        async with asyncio.timeout(TIMEOUT):
            while len(self.flat()) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.flat()


# -- collection changes --------------------------------------------------------------------------


async def test_collection_changes_are_reported_per_batch(
    server: Server, client: AsyncClient
) -> None:
    items = server.collection("items")
    first = items.insert({"n": 1, "tag": "t"})
    seen = Changes()
    remove = client.on_collection_change(seen)
    await client.subscribe("items")
    assert await seen.wait_for(1) == [
        CollectionChange("items", "added", first, {"n": 1, "tag": "t"})
    ]
    items.update(first, {"$set": {"n": 2}})
    assert (await seen.wait_for(2))[1] == CollectionChange("items", "changed", first, {"n": 2})
    items.remove(first)
    assert (await seen.wait_for(3))[2] == CollectionChange("items", "removed", first, None)
    assert seen.tasks == [None] * len(seen.batches)  # via call_soon, not in the receive loop
    remove()
    items.insert({"n": 3})
    await synced(client)
    assert len(seen.flat()) == 3


async def test_a_coroutine_change_listener_runs_as_a_task(
    server: Server, client: AsyncClient
) -> None:
    got: asyncio.Future[Sequence[CollectionChange]] = asyncio.get_running_loop().create_future()

    async def listener(changes: Sequence[CollectionChange]) -> None:
        await asyncio.sleep(0)
        if not got.done():
            got.set_result(changes)

    client.on_collection_change(listener)
    await client.subscribe("items")
    doc_id = await client.call("insert", {"n": 1})
    changes = await asyncio.wait_for(got, TIMEOUT)
    assert changes == (CollectionChange("items", "added", doc_id, {"n": 1}),)


async def test_a_new_session_reports_only_the_net_difference(
    server: Server, client: AsyncClient
) -> None:
    items = server.collection("items")
    ids = [items.insert({"n": n}) for n in range(4)]
    await client.subscribe("items")
    seen = Changes()
    client.on_collection_change(seen)
    stream = client.events()
    server.faults.restart(refuse_for=None)  # new sessions only; refuse until we are done
    await next_event(stream, ConnectionLost)
    items.update(ids[0], {"$set": {"n": 100}})
    items.remove(ids[1])
    new_id = items.insert({"n": 7})
    server.faults.accept_connections()
    assert not (await next_event(stream, Connected)).resumed
    await synced(client)
    assert sorted(seen.flat(), key=lambda c: c.op) == [
        CollectionChange("items", "added", new_id, {"n": 7}),
        CollectionChange("items", "changed", ids[0], {"n": 100}),
        CollectionChange("items", "removed", ids[1], None),
    ]
    assert len(seen.batches) == 1  # the cache was swapped in one batch


async def test_a_resumed_session_reports_nothing(server: Server, client: AsyncClient) -> None:
    server.collection("items").insert({"n": 1})
    await client.subscribe("items")
    seen = Changes()
    client.on_collection_change(seen)
    stream = client.events()
    server.faults.drop_all(keep_session=True)
    assert (await next_event(stream, Connected)).resumed
    await synced(client)
    assert seen.batches == []


async def test_no_change_listener_without_collections(server: Server) -> None:
    async with AsyncClient(server.url, collections=False) as client:
        with pytest.raises(ddp.InvalidStateError):
            client.on_collection_change(lambda changes: None)


# -- permanent failures --------------------------------------------------------------------------


async def test_version_negotiation_failure_is_typed() -> None:
    async with Server(versions=("1",), heartbeat_interval=0) as server:
        client = AsyncClient(server.url, versions=("pre1",), reconnect=FAST)
        with pytest.raises(ddp.VersionNegotiationError) as info:
            await client.connect()
        assert server.url in str(info.value)
        assert client.status is Status.FAILED
        with pytest.raises(ddp.VersionNegotiationError):
            client.go("echo", 1)
        await client.close()


# -- login with custom params --------------------------------------------------------------------


def add_api_key_login(server: Server) -> str:
    """Install a login handler accepting ``{"apiKey": "k-123"}`` as bob; return bob's id."""
    bob = server.accounts.find_user(username="bob")
    assert bob is not None

    def by_api_key(ctx: MethodContext, params: dict[str, Any]) -> str | None:
        return bob.id if params.get("apiKey") == "k-123" else None

    server.accounts.add_login_handler(by_api_key, name="api-key")
    return bob.id


async def test_login_with_custom_params(server: Server, client: AsyncClient) -> None:
    bob = add_api_key_login(server)
    with pytest.raises(TypeError):
        await client.login(user="bob", params={"apiKey": "k-123"})
    with pytest.raises(TypeError):
        await client.login(params=["k-123"])  # type: ignore[arg-type]
    with pytest.raises(ddp.LoginError):
        await client.login(params={"apiKey": "wrong"})
    login = await client.login(params={"apiKey": "k-123"})
    assert (login.id, login.type) == (bob, "api-key") and login.token
    assert client.user_id == bob and await client.call("whoami") == bob
    # The token is kept and logs in again, first, on a new session.
    stream = client.events()
    server.faults.drop_all(keep_session=False)
    assert not (await next_event(stream, Connected)).resumed
    assert await client.call("whoami") == bob
    relogin = await server.wait_for_message("method", session_id=client.session)
    assert relogin.msg["method"] == "login"
    assert relogin.msg["params"] == [{"resume": login.token}]


# -- close(timeout=) -----------------------------------------------------------------------------


async def test_close_waits_for_queued_listeners(server: Server) -> None:
    client = AsyncClient(server.url)
    await client.connect()
    seen: list[Status] = []
    finished: list[Status] = []

    async def slow(event: StatusChanged) -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        finished.append(event.new)

    client.on_status(lambda event: seen.append(event.new))
    client.on_status(slow)
    await client.close()
    assert seen == [Status.DISCONNECTING, Status.DISCONNECTED]
    assert finished == seen


async def test_close_timeout_cancels_a_listener_that_never_ends(server: Server) -> None:
    client = AsyncClient(server.url)
    await client.connect()
    cancelled = asyncio.Event()

    async def stuck(event: StatusChanged) -> None:
        if event.new is Status.DISCONNECTED:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

    client.on_status(stuck)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.close(timeout=0.2)
    assert loop.time() - start < TIMEOUT
    await asyncio.wait_for(cancelled.wait(), TIMEOUT)
    with pytest.raises(ValueError):
        await client.close(timeout=-1)


# -- TLS -----------------------------------------------------------------------------------------


async def test_wss_end_to_end_and_untrusted_certificates_are_refused() -> None:
    tls = make_tls()
    server = Server(heartbeat_interval=0, ssl=tls.server)
    install(server)
    async with server:
        assert server.url.startswith("wss://") and server.base_url.startswith("https://")
        port = server.port
        for url in (server.url, server.base_url, f"ddp+sockjs://127.0.0.1:{port}"):
            async with AsyncClient(url, ssl=tls.client) as client:
                assert await client.call("add", 2, 40) == 42
        assert [r.transport for r in server.monitor.connects][-1] == "sockjs"
        # The default context verifies against the system CAs: a typed error, at once.
        client = AsyncClient(server.url, reconnect=False)
        with pytest.raises(ddp.ConnectionFailedError) as info:
            await client.connect()
        assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
        await client.close()
        # With reconnects on, it keeps trying until connect() times out: never a hang.
        client = AsyncClient(server.url, connect_timeout=0.5, reconnect=FAST)
        with pytest.raises(ddp.DDPTimeoutError):
            await client.connect()
        assert client.status is Status.DISCONNECTED


# -- proxies -------------------------------------------------------------------------------------


async def test_through_an_http_proxy_given_from_the_environment_or_none(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real CONNECT proxy on loopback: ``proxy=URL``, the environment's proxy (the
    default, as in websockets), ``proxy=None`` (direct), and wss:// tunnelled through it."""
    # (tests/conftest.py has cleared the environment's own proxy settings)
    target = f"127.0.0.1:{server.port}"
    tls = make_tls()
    tls_server = Server(heartbeat_interval=0, ssl=tls.server)
    install(tls_server)
    with http_proxy() as proxy:
        async with AsyncClient(server.url, proxy=proxy.url) as client:
            assert await client.call("add", 2, 40) == 42
        assert proxy.targets == [target]
        monkeypatch.setenv("https_proxy", proxy.url)
        async with AsyncClient(server.url) as client:
            assert await client.call("add", 1, 1) == 2
        assert proxy.targets == [target, target]
        async with AsyncClient(server.url, proxy=None) as client:
            assert await client.call("add", 1, 2) == 3
        assert proxy.targets == [target, target]
        async with tls_server, AsyncClient(tls_server.url, ssl=tls.client) as client:
            assert await client.call("add", 3, 4) == 7
        assert proxy.targets == [target, target, f"127.0.0.1:{tls_server.port}"]


# -- URLs, headers, status order -----------------------------------------------------------------


@pytest.mark.parametrize("form", ["http", "bare", "ws"])
async def test_urls_as_meteor_takes_them(server: Server, form: str) -> None:
    url = {
        "http": server.base_url,  # http://host:port -> ws://host:port/websocket
        "bare": f"127.0.0.1:{server.port}",
        "ws": server.url,  # used as given
    }[form]
    async with AsyncClient(url) as client:
        assert await client.call("echo", form) == form
    assert [r.transport for r in server.monitor.connects] == ["websocket"]


async def test_origin_and_extra_headers_reach_the_server(server: Server) -> None:
    headers = {"X-Api-Key": "k-1", "Cookie": "a=b"}
    async with AsyncClient(server.url, origin="https://app.example", headers=headers) as client:
        seen = server.session(client.session or "").connection.http_headers
        assert seen["origin"] == "https://app.example"
        assert (seen["x-api-key"], seen["cookie"]) == ("k-1", "a=b")
    async with AsyncClient(server.url, headers=[("X-Pair", "1")]) as client:
        seen = server.session(client.session or "").connection.http_headers
        assert seen["x-pair"] == "1" and "origin" not in seen


async def test_status_changes_are_reported_in_order(server: Server) -> None:
    client = AsyncClient(server.url, reconnect=FAST)
    heard: list[StatusChanged] = []
    client.on_status(heard.append)
    reconnected: asyncio.Future[Connected] = asyncio.get_running_loop().create_future()
    client.on_reconnect(lambda event: reconnected.done() or reconnected.set_result(event))
    stream = client.events()
    await client.connect()
    server.faults.drop_all(keep_session=False)
    await asyncio.wait_for(reconnected, TIMEOUT)
    await client.close()
    # The iterator ends at close(), and it saw exactly what the listener heard.
    streamed = [event async for event in stream if isinstance(event, StatusChanged)]
    S = Status
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
    assert streamed == heard
