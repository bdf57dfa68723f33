"""Methods: results, errors, ordering, unblock, rate limits, EJSON arguments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

import ddp
from ddp.server import Server, rate_limited_error


async def test_result_and_updated(client, server: Server):
    @server.method("add")
    def add(ctx, a, b):
        return a + b

    assert await client.call("add", 2, 40) == [
        {"msg": "result", "id": "m", "result": 42},
        {"msg": "updated", "methods": ["m"]},
    ]


async def test_none_result_is_omitted_and_async_handlers_work(client, server: Server):
    @server.method("nothing")
    async def nothing(ctx):
        await asyncio.sleep(0)

    assert await client.result("nothing") == {"msg": "result", "id": "m"}


async def test_ejson_arguments_and_result_round_trip(client, server: Server):
    when = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)

    @server.method("echo")
    def echo(ctx, value):
        assert value == {"when": when, "blob": b"\x00\xff"}
        return value

    result = await client.result("echo", {"when": when, "blob": b"\x00\xff"})
    assert result["result"] == {"when": when, "blob": b"\x00\xff"}


async def test_method_error_is_sent_as_meteor_error(client, server: Server):
    @server.method("fail")
    def fail(ctx):
        raise ddp.MethodError("not-allowed", "No way", {"why": 1})

    result = await client.result("fail")
    assert result["error"] == {
        "isClientSafe": True,
        "error": "not-allowed",
        "reason": "No way",
        "message": "No way [not-allowed]",
        "errorType": "Meteor.Error",
        "details": {"why": 1},
    }


async def test_unexpected_exception_is_an_internal_error(client, server: Server, caplog):
    @server.method("boom")
    def boom(ctx):
        raise RuntimeError("secret detail")

    result = await client.result("boom")
    assert result["error"]["error"] == 500
    assert result["error"]["reason"] == "Internal server error"
    assert "secret" not in str(result)
    assert "secret detail" in caplog.text


async def test_unencodable_result_is_an_internal_error(client, server: Server):
    @server.method("weird")
    def weird(ctx):
        return object()

    assert (await client.result("weird"))["error"]["error"] == 500


async def test_unknown_method_is_404_and_still_updated(client):
    assert await client.call("nope") == [
        {
            "msg": "result",
            "id": "m",
            "error": {
                "isClientSafe": True,
                "error": 404,
                "reason": "Method 'nope' not found",
                "message": "Method 'nope' not found [404]",
                "errorType": "Meteor.Error",
            },
        },
        {"msg": "updated", "methods": ["m"]},
    ]


async def test_wrong_arguments_are_match_failed(client, server: Server):
    @server.method("one")
    def one(ctx, a):
        return a

    result = await client.result("one", 1, 2)
    assert (result["error"]["error"], result["error"]["reason"]) == (400, "Match failed")


async def test_context(client, server: Server):
    seen = {}

    @server.method("whoami")
    def whoami(ctx):
        seen.update(
            session=ctx.session_id,
            conn=ctx.connection.id,
            user=ctx.user_id,
            seed=ctx.random_seed,
            name=ctx.name,
            method_id=ctx.method_id,
            host=ctx.connection.http_headers.get("host"),
        )

    await client.send({"msg": "method", "id": "7", "method": "whoami", "randomSeed": "s33d"})
    await client.recv_many(2)
    assert seen == {
        "session": client.session,
        "conn": client.session,
        "user": None,
        "seed": "s33d",
        "name": "whoami",
        "method_id": "7",
        "host": f"127.0.0.1:{server.port}",
    }


async def test_messages_are_processed_in_order_until_unblock(client, server: Server):
    gate = asyncio.Event()
    order: list[str] = []

    @server.method("slow")
    async def slow(ctx, unblock):
        if unblock:
            ctx.unblock()
        await gate.wait()
        order.append("slow")

    @server.method("fast")
    def fast(ctx):
        order.append("fast")
        gate.set()

    # "slow" unblocks, so "fast" runs meanwhile and releases it.
    await client.send({"msg": "method", "id": "1", "method": "slow", "params": [True]})
    await client.send({"msg": "method", "id": "2", "method": "fast"})
    ids = [m["id"] for m in await client.recv_many(4) if m["msg"] == "result"]
    assert ids == ["2", "1"] and order == ["fast", "slow"]

    # Without unblock, "fast" must wait behind "slow": were it run out of order, it would
    # release the gate itself and the order below would be reversed.
    gate.clear()
    order.clear()
    await client.send({"msg": "method", "id": "3", "method": "slow", "params": [False]})
    await client.send({"msg": "method", "id": "4", "method": "fast"})
    await server.wait_for_message("method", count=4)
    assert order == []
    gate.set()
    ids = [m["id"] for m in await client.recv_many(4) if m["msg"] == "result"]
    assert ids == ["3", "4"] and order == ["slow", "fast"]


async def test_rate_limit(client, server: Server):
    server.rate_limit("limited", 2, 60)

    @server.method("limited")
    def limited(ctx):
        return "ok"

    assert (await client.result("limited", id="1"))["result"] == "ok"
    assert (await client.result("limited", id="2"))["result"] == "ok"
    error = (await client.result("limited", id="3"))["error"]
    assert error["error"] == "too-many-requests"
    assert 59_000 < error["details"]["timeToReset"] <= 60_000
    assert error["reason"].endswith("You must wait 60 seconds before trying again.")
    err = ddp.RemoteError.from_wire(error)
    assert isinstance(err, ddp.RateLimitedError) and 59 < err.retry_after <= 60


def test_rate_limited_error_shape():
    err = rate_limited_error(1500)
    assert isinstance(err, ddp.MethodError)
    assert (err.error, err.details) == ("too-many-requests", {"timeToReset": 1500})
    assert err.reason == (
        "Error, too many requests. Please slow down. You must wait 2 seconds before trying again."
    )
    assert rate_limited_error(10, "slow down").reason == "slow down"


def test_registration_rejects_bad_arguments():
    srv = Server()
    with pytest.raises(TypeError):
        srv.add_method(1, lambda ctx: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        srv.add_publication("x", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        srv.rate_limit("x", 0, 1)
    with pytest.raises(ValueError):
        Server(versions=())
    with pytest.raises(ddp.InvalidStateError):
        srv.port  # noqa: B018
