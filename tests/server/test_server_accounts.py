"""Accounts: password and resume logins, logout, Meteor's errors, subscriptions re-run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import ddp
from ddp.auth import hash_password, password_login_params
from ddp.server import Server

BAD = "Something went wrong. Please check your credentials."


@pytest.fixture
def alice(server: Server) -> str:
    return server.accounts.add_user("alice", "secret", email="alice@example.com")


async def login(client, params, id="l"):
    return await client.result("login", params, id=id)


@pytest.mark.parametrize(
    "params",
    [
        password_login_params(user="alice", password="secret"),
        password_login_params(email="ALICE@example.com", password="secret"),
        {"user": {"username": "alice"}, "password": "secret"},  # plain-text password
    ],
)
async def test_password_login(client, server: Server, alice, params):
    before = datetime.now(UTC)
    result = (await login(client, params))["result"]
    assert result["id"] == alice and result["type"] == "password"
    assert isinstance(result["token"], str) and len(result["token"]) >= 40
    lifetime = (result["tokenExpires"] - before).total_seconds()
    assert 90 * 86400 - 60 < lifetime <= 90 * 86400 + 1
    assert server.session(client.session).user_id == alice


async def test_login_by_id(client, alice):
    params = password_login_params(user_id=alice, password="secret")
    assert (await login(client, params))["result"]["id"] == alice


@pytest.mark.parametrize(
    "params",
    [
        password_login_params(user="alice", password="wrong"),
        password_login_params(user="bob", password="secret"),
    ],
)
async def test_bad_credentials_are_ambiguous(client, server: Server, alice, params):
    error = (await login(client, params))["error"]
    assert (error["error"], error["reason"]) == (403, BAD)
    assert server.session(client.session).user_id is None


@pytest.mark.parametrize(
    ("params", "code", "reason"),
    [
        ({"foo": 1}, 400, "Unrecognized options for login request"),
        ({"user": {"nick": "alice"}, "password": "x"}, 400, "Match failed"),
        ({"user": {"username": "alice"}, "password": {"digest": 1}}, 400, "Match failed"),
        ({"resume": 5}, 400, "Match failed"),
        ("just a string", 400, "Match failed"),
    ],
)
async def test_malformed_login(client, alice, params, code, reason):
    error = (await login(client, params))["error"]
    assert (error["error"], error["reason"]) == (code, reason)


async def test_resume_expired_and_unknown_tokens(client, server: Server, alice, open_client):
    token = (await login(client, password_login_params(user="alice", password="secret")))["result"][
        "token"
    ]
    other = await open_client(server.url)
    await other.connect()
    result = (await login(other, {"resume": token}))["result"]
    assert (result["id"], result["token"], result["type"]) == (alice, token, "resume")

    error = (await login(other, {"resume": "nope"}, id="l2"))["error"]
    assert error["reason"] == "You've been logged out by the server. Please log in again."

    now = server.accounts.clock()
    server.accounts.clock = lambda: now + 91 * 86400
    error = (await login(other, {"resume": token}, id="l3"))["error"]
    assert (error["error"], error["reason"]) == (
        403,
        "Your session has expired. Please log in again.",
    )


async def test_logout_forgets_the_token(client, server: Server, alice):
    token = (await login(client, password_login_params(user="alice", password="secret")))["result"][
        "token"
    ]
    assert await client.call("logout", id="o") == [
        {"msg": "removed", "collection": "users", "id": alice},
        {"msg": "result", "id": "o"},
        {"msg": "updated", "methods": ["o"]},
    ]
    assert server.session(client.session).user_id is None
    error = (await login(client, {"resume": token}, id="l2"))["error"]
    assert error["reason"] == "You've been logged out by the server. Please log in again."


async def test_revoked_tokens(client, server: Server, alice):
    token, expires = server.accounts.issue_token(alice)
    assert expires.tzinfo is not None
    server.accounts.revoke_tokens(alice)
    error = (await login(client, {"resume": token}))["error"]
    assert error["reason"] == "You've been logged out by the server. Please log in again."


async def test_custom_login_handler(client, server: Server):
    def by_api_key(ctx, params):
        if "apiKey" not in params:
            return None
        if params["apiKey"] != "k":
            raise ddp.MethodError(403, "bad key")
        return "robot"

    server.accounts.add_login_handler(by_api_key, name="api-key")
    result = (await login(client, {"apiKey": "k"}))["result"]
    assert (result["id"], result["type"]) == ("robot", "api-key")
    error = (await login(client, {"apiKey": "x"}, id="l2"))["error"]
    assert error["reason"] == "bad key"


def test_add_user_validation():
    accounts = Server().accounts
    uid = accounts.add_user("bob", hash_password("pw"), user_id="u1")
    assert (
        uid == "u1" and accounts.find_user(username="bob").digest == hash_password("pw")["digest"]
    )
    with pytest.raises(ddp.InvalidStateError):
        accounts.add_user("bob", "x")
    with pytest.raises(ddp.InvalidStateError):
        accounts.add_user()
    with pytest.raises(ddp.InvalidStateError):
        accounts.issue_token("nobody")


async def test_login_reruns_subscriptions_and_sends_only_the_difference(
    client, server: Server, alice
):
    @server.publish("mine")
    def mine(sub):
        sub.added("docs", "public", {"v": 1})
        if sub.user_id is not None:
            sub.added("docs", "private", {"owner": sub.user_id})
            sub.added("docs", "public", {"v": 1, "seen_by": sub.user_id})
        sub.ready()

    await client.send({"msg": "sub", "id": "s", "name": "mine"})
    assert await client.recv_many(2) == [
        {"msg": "added", "collection": "docs", "id": "public", "fields": {"v": 1}},
        {"msg": "ready", "subs": ["s"]},
    ]
    messages = await client.call("login", password_login_params(user="alice", password="secret"))
    kinds = [(m["msg"], m.get("collection")) for m in messages]
    assert kinds == [
        ("changed", "docs"),
        ("added", "docs"),
        ("added", "users"),  # the accounts' universal publication
        ("ready", None),
        ("result", None),
        ("updated", None),
    ]
    assert messages[0] == {
        "msg": "changed",
        "collection": "docs",
        "id": "public",
        "fields": {"seen_by": alice},
    }
    assert messages[1]["fields"] == {"owner": alice}

    messages = await client.call("logout", id="o")
    assert [(m["msg"], m.get("collection")) for m in messages] == [
        ("changed", "docs"),
        ("removed", "docs"),
        ("removed", "users"),
        ("ready", None),
        ("result", None),
        ("updated", None),
    ]
    assert messages[0]["cleared"] == ["seen_by"]
