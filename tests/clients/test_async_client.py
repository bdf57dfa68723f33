"""AsyncClient against a real server over loopback: calls, subscriptions, login, listeners."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from async_support import TIMEOUT, client_docs, next_event, server_docs
from client_app import PASSWORD

import ddp
from ddp import AsyncClient, Status
from ddp.auth import LoginResult, MemoryTokenStore, hash_password
from ddp.events import Connected, ProtocolViolation, StatusChanged
from ddp.server import Server


@pytest.fixture
async def client(server: Server):
    async with AsyncClient(server.url) as c:
        yield c


# -- methods ---------------------------------------------------------------------------------


async def test_call_returns_the_result(client: AsyncClient) -> None:
    assert await client.call("add", 2, 40) == 42
    when = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert await client.call("echo", {"at": when, "raw": b"\x00\x01"}) == {
        "at": when,
        "raw": b"\x00\x01",
    }
    assert client.status is Status.CONNECTED
    assert client.version == "1"
    assert client.session


async def test_method_error_is_kept_whole(client: AsyncClient) -> None:
    with pytest.raises(ddp.MethodError) as info:
        await client.call("fail", "bad-thing")
    assert (info.value.error, info.value.reason, info.value.details) == (
        "bad-thing",
        "it failed",
        {"why": "asked to"},
    )
    with pytest.raises(ddp.MethodError) as missing:
        await client.call("no.such.method")
    assert missing.value.error == 404


async def test_go_gives_two_milestones(client: AsyncClient) -> None:
    call = client.go("insert", {"text": "hi"})
    doc_id = await call
    await call.data_visible(timeout=TIMEOUT)
    assert call.done()
    assert isinstance(doc_id, str)


async def test_rate_limited_error_has_retry_after(client: AsyncClient) -> None:
    assert await client.call("limited") == "ok"
    with pytest.raises(ddp.RateLimitedError) as info:
        await client.call("limited")
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60


async def test_two_hundred_concurrent_calls(client: AsyncClient) -> None:
    results = await asyncio.gather(*(client.call("add", i, 1) for i in range(200)))
    assert results == [i + 1 for i in range(200)]
    assert client.stats().methods.count == 200


async def test_call_timeout_forgets_the_call(server: Server, client: AsyncClient) -> None:
    with pytest.raises(ddp.DDPTimeoutError):
        await client.call("park", "t", timeout=0.05)
    server.app.release.set()  # its late result must be ignored quietly
    assert await client.call("echo", 1) == 1
    assert [call.method for call in client._session.calls.values()] in ([], ["echo"])  # park's gone


async def test_cancel_a_call(server: Server, client: AsyncClient) -> None:
    call = client.go("park", "c")
    assert call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call.result()
    server.app.release.set()
    assert await client.call("echo", 2) == 2


async def test_result_timeout_leaves_the_call_running(server: Server, client: AsyncClient) -> None:
    call = client.go("park", "r")
    with pytest.raises(ddp.DDPTimeoutError):
        await call.result(timeout=0.05)
    server.app.release.set()
    assert await call.result(timeout=TIMEOUT) == "r"


async def test_unknown_result_id_is_ignored(server: Server, client: AsyncClient) -> None:
    stream = client.events()
    server.faults.send_message(None, {"msg": "result", "id": "99999", "result": 1})
    violation = await next_event(stream, ProtocolViolation)
    assert "99999" in violation.reason
    assert await client.call("echo", 3) == 3


# -- subscriptions ---------------------------------------------------------------------------


async def test_subscribe_fills_the_cache(server: Server, client: AsyncClient) -> None:
    items = server.collection("items")
    for n in range(5):
        items.insert({"n": n})
    sub = await client.subscribe("items")
    assert sub.is_ready and not sub.stopped
    assert client_docs(client, "items") == server_docs(server, "items")
    assert client.collection_stats()[0].count == 5
    sub.stop()
    sub.stop()  # idempotent
    assert sub.stopped and sub.error is None


async def test_one_publication_twice_with_other_arguments(
    server: Server, client: AsyncClient
) -> None:
    items = server.collection("items")
    for n in range(4):
        items.insert({"n": n % 2})
    zeros = await client.subscribe("items", {"n": 0})
    ones = await client.subscribe("items", {"n": 1})
    assert zeros.id != ones.id and zeros.name == ones.name
    assert client.collection("items").count() == 4
    zeros.stop()
    await client.call("echo", "flush")
    await client.go("echo", 0).data_visible(timeout=TIMEOUT)
    assert {d["n"] for d in client.collection("items").find()} == {1}


async def test_nosub_error_is_kept_whole(client: AsyncClient) -> None:
    with pytest.raises(ddp.SubscriptionError) as info:
        await client.subscribe("refuse")
    assert (info.value.error, info.value.reason, info.value.details) == (
        "not-allowed",
        "no items for you",
        {"hint": 1},
    )
    sub = await client.subscribe("refuse", wait=False)
    with pytest.raises(ddp.SubscriptionError):
        await sub.ready(timeout=TIMEOUT)
    assert sub.stopped and isinstance(sub.error, ddp.SubscriptionError)


async def test_stopped_before_ready(client: AsyncClient) -> None:
    sub = await client.subscribe("gated", 1, wait=False)
    sub.stop()
    with pytest.raises(ddp.InvalidStateError):
        await sub.ready(timeout=TIMEOUT)


async def test_subscribe_timeout_stops_it(client: AsyncClient) -> None:
    with pytest.raises(ddp.DDPTimeoutError):
        await client.subscribe("gated", 1, timeout=0.05)
    assert client._session.subs == {}


async def test_collections_false_keeps_no_cache(server: Server) -> None:
    server.collection("items").insert({"n": 1})
    async with AsyncClient(server.url, collections=False) as client:
        await client.subscribe("items")
        assert client.collection_stats() == []
        with pytest.raises(ddp.InvalidStateError):
            client.collection("items")


# -- ping, send, stats -----------------------------------------------------------------------


async def test_ping_send_and_stats(server: Server, client: AsyncClient) -> None:
    rtt = await client.ping(timeout=TIMEOUT)
    assert 0 < rtt < TIMEOUT
    client.send({"msg": "method", "id": "raw-1", "method": "echo", "params": [1]})
    await server.wait_for_message("method", predicate=lambda m: m.get("id") == "raw-1")
    await client.call("add", 1, 1)
    stats = client.stats()
    assert stats.pings_sent == 1
    assert stats.reads.ops >= 3 and stats.reads.bytes > 0
    assert stats.total_writes.ops >= stats.writes.ops >= 4
    assert stats.methods.count == 1 and stats.methods.p50 is not None
    assert "reconnects 0" in str(stats)
    client.reset_stats()
    fresh = client.stats()
    assert (fresh.reads.ops, fresh.pings_sent, fresh.methods.count) == (0, 0, 0)


# -- login -----------------------------------------------------------------------------------


async def test_login_by_username_email_and_digest(server: Server, client: AsyncClient) -> None:
    result = await client.login("alice", PASSWORD)
    assert client.user_id == result.id == await client.call("whoami")
    assert result.token and result.token_expires is not None
    assert result.token_expires > datetime.now(UTC)
    await client.logout()
    assert client.user_id is None and await client.call("whoami") is None
    by_email = await client.login(email="alice@example.com", password=PASSWORD)
    assert by_email.id == result.id
    digest = hash_password(PASSWORD)
    assert (await client.login("alice", digest)).id == result.id
    by_token = await client.login(token=by_email.token)
    assert by_token.id == result.id


async def test_login_failure_is_login_error(client: AsyncClient) -> None:
    with pytest.raises(ddp.LoginError) as info:
        await client.login("alice", "wrong")
    assert info.value.error == 403
    with pytest.raises(ddp.LoginError):
        await client.login(token="no-such-token")
    with pytest.raises(TypeError):
        await client.login("alice")


async def test_stored_token_logs_in_at_first_connect(server: Server) -> None:
    user = server.accounts.find_user(username="bob")
    assert user is not None
    user_id = user.id
    token, expires = server.accounts.issue_token(user_id)
    store = MemoryTokenStore()
    store.save(server.url, LoginResult(user_id, token, expires))
    async with AsyncClient(server.url, token_store=store) as client:
        assert await client.call("whoami") == user_id
        assert client.user_id == user_id


async def test_expired_token_is_not_used(server: Server) -> None:
    user = server.accounts.find_user(username="bob")
    assert user is not None
    user_id = user.id
    token, _ = server.accounts.issue_token(user_id)
    store = MemoryTokenStore()
    past = datetime.now(UTC) - timedelta(minutes=5)
    store.save(server.url, LoginResult(user_id, token, past))
    async with AsyncClient(server.url, token_store=store) as client:
        assert await client.call("whoami") is None
    assert store.load(server.url) is None
    assert not server.monitor.find_messages("method", predicate=lambda m: m["method"] == "login")


# -- listeners and events --------------------------------------------------------------------


async def test_listeners_run_in_order_and_errors_are_logged(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    client = AsyncClient(server.url)
    seen: list[Status] = []
    connected = asyncio.Event()
    async_seen: list[str] = []

    def broken(event: StatusChanged) -> None:
        raise RuntimeError("listener bug")

    async def on_connected(event: Connected) -> None:
        async_seen.append(event.session)
        connected.set()

    remove = client.on_status(lambda e: seen.append(e.new))
    client.on_status(broken)
    client.on_connected(on_connected)
    with caplog.at_level(logging.ERROR, logger="ddp.client"):
        await client.connect()
        async with asyncio.timeout(TIMEOUT):
            await connected.wait()
    assert seen == [Status.DIALING, Status.CONNECTING, Status.CONNECTED]
    assert async_seen == [client.session]
    assert "listener bug" in caplog.text
    remove()
    remove()
    await client.close()
    assert seen == [Status.DIALING, Status.CONNECTING, Status.CONNECTED]


async def test_events_stream_ends_at_close(client: AsyncClient) -> None:
    stream = client.events()
    await client.call("echo", 1)
    await client.close()
    kinds = [type(e).__name__ async for e in stream]
    assert kinds[0] == "MethodResult" and kinds[-1] == "StatusChanged"
    assert "ConnectionLost" in kinds


async def test_events_stream_drops_oldest_when_full(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    stream = client.events(max_queue=2)
    with caplog.at_level(logging.WARNING, logger="ddp.client"):
        for i in range(3):
            await client.go("echo", i).data_visible(timeout=TIMEOUT)  # two events each
    assert stream.dropped == 4
    assert "dropped" in caplog.text


# -- lifecycle -------------------------------------------------------------------------------


async def test_close_ends_calls_in_flight_at_once(server: Server) -> None:
    client = AsyncClient(server.url)
    await client.connect()
    calls = [client.go("park", f"k{i}") for i in range(3)]
    sub = await client.subscribe("gated", 1, wait=False)
    ping = asyncio.ensure_future(client.go("park", "x").result())
    await server.wait_for_message("method", count=4)
    await client.close()
    for call in calls:
        with pytest.raises(ddp.ClientClosedError):
            await call.result()
        with pytest.raises(ddp.ClientClosedError):
            await call.data_visible()
    with pytest.raises(ddp.ClientClosedError):
        await ping
    with pytest.raises(ddp.ClientClosedError):
        await sub.ready()
    assert client.status is Status.DISCONNECTED
    with pytest.raises(ddp.ClientClosedError):
        client.go("echo", 1)
    await client.close()  # idempotent
    record = await server.wait_for_disconnections(1)
    assert record is not None
    assert len(server.monitor.find_messages("disconnect")) == 1


async def test_connect_timeout_when_the_server_never_answers() -> None:
    accepted = asyncio.Event()

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # never answers; returns when the client goes
        writer.close()

    tcp = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    async with tcp:
        client = AsyncClient(f"127.0.0.1:{port}", connect_timeout=0.3)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(ddp.DDPTimeoutError):
            await client.connect()
        assert loop.time() - start < 2.0
        assert accepted.is_set()
        with pytest.raises(ddp.ClientClosedError):
            await client.call("echo", 1)


async def test_fail_fast_without_reconnect() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    client = AsyncClient(f"ws://127.0.0.1:{port}/websocket", reconnect=False)
    with pytest.raises(ddp.ConnectionFailedError):
        await client.connect()
    assert client.status is Status.FAILED
    with pytest.raises(ddp.ConnectionFailedError):
        client.go("echo", 1)
    await client.close()


async def test_bad_options_raise_early() -> None:
    with pytest.raises(ValueError):
        AsyncClient("ftp://example.com")
    with pytest.raises(ValueError):
        AsyncClient("example.com", heartbeat_timeout=0)
    with pytest.raises(ValueError):
        AsyncClient("example.com", versions=["2"])
    with pytest.raises(TypeError):
        AsyncClient("example.com", reconnect="yes")  # type: ignore[arg-type]


async def test_sockjs_end_to_end(server: Server) -> None:
    server.collection("items").insert({"n": 1})
    port = server.port
    for url, kwargs in ((server.url, {"sockjs": True}), (f"ddpi+sockjs://127.0.0.1:{port}", {})):
        async with AsyncClient(url, **kwargs) as client:
            assert await client.call("add", 1, 2) == 3
            await client.subscribe("items")
            assert client.collection("items").count() == 1
            assert await client.ping(timeout=TIMEOUT) > 0


async def test_frames_are_traced_at_debug_only(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ddp.client.frames"):
        async with AsyncClient(server.url) as client:
            await client.call("echo", "traced")
    assert any("> " in r.message and "traced" in r.message for r in caplog.records)
    assert any(r.message.startswith("< ") and "traced" in r.message for r in caplog.records)
    caplog.clear()
    async with AsyncClient(server.url) as client:  # the level is checked once per connection
        await client.call("echo", "quiet")
    assert not [r for r in caplog.records if r.name == "ddp.client.frames"]
