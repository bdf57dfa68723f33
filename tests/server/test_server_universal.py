"""Universal publications (Meteor's ``publish(null)``) and the accounts' own-user publication."""

from __future__ import annotations

import pytest

import ddp
from ddp.auth import password_login_params
from ddp.server import Server, server_in_thread

ALICE = password_login_params(user="alice", password="secret")


@pytest.fixture
def alice(server: Server) -> str:
    return server.accounts.add_user(
        "alice", "secret", email="alice@example.com", profile={"name": "Alice"}
    )


def alice_fields() -> dict:
    return {
        "username": "alice",
        "emails": [{"address": "alice@example.com", "verified": False}],
        "profile": {"name": "Alice"},
    }


async def test_universal_publication_runs_for_every_connection_after_connected(
    server: Server, open_client
):
    @server.publish(None)
    def settings(sub):
        sub.added("settings", "site", {"title": "ddp", "session": sub.session_id})
        sub.ready()  # no id: sends nothing

    for _ in range(2):
        raw = await open_client(server.url)
        session = await raw.connect()  # `connected` comes first
        assert await raw.recv() == {
            "msg": "added",
            "collection": "settings",
            "id": "site",
            "fields": {"title": "ddp", "session": session},
        }
        # Nothing else was sent (no `ready`): the next message is the answer to a call.
        assert await raw.call("nope") == [
            {"msg": "result", "id": "m", "error": AnyError()},
            {"msg": "updated", "methods": ["m"]},
        ]


class AnyError:
    """Equal to any error object (only the messages' order matters where it is used)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and "error" in other


async def test_universal_publication_added_late_starts_on_live_connections(server: Server, client):
    server.add_publication(None, lambda sub: sub.added("late", "x", {"v": 1}))
    assert await client.recv() == {
        "msg": "added",
        "collection": "late",
        "id": "x",
        "fields": {"v": 1},
    }


async def test_universal_publication_reruns_on_login_and_logout(server: Server, client, alice):
    @server.publish(None)
    def whoami(sub):
        sub.added("me", "me", {"user": sub.user_id})

    assert await client.recv() == {
        "msg": "added",
        "collection": "me",
        "id": "me",
        "fields": {"user": None},
    }
    messages = await client.call("login", ALICE)
    assert [(m["msg"], m.get("collection")) for m in messages] == [
        ("changed", "me"),
        ("added", "users"),
        ("result", None),
        ("updated", None),
    ]
    assert messages[0]["fields"] == {"user": alice}
    messages = await client.call("logout", id="o")
    assert sorted(messages[:2], key=str) == [
        {"msg": "changed", "collection": "me", "id": "me", "fields": {"user": None}},
        {"msg": "removed", "collection": "users", "id": alice},
    ]


@pytest.mark.parametrize("how", ["stop", "error"])
async def test_universal_subscription_ends_without_nosub(server: Server, open_client, how):
    @server.publish(None)
    def short_lived(sub):
        sub.added("tmp", "t", {})
        if how == "stop":
            sub.stop()
        else:
            sub.error(ddp.MethodError(403, "no"))

    raw = await open_client(server.url)
    await raw.connect()
    assert await raw.recv_many(2) == [
        {"msg": "added", "collection": "tmp", "id": "t"},
        {"msg": "removed", "collection": "tmp", "id": "t"},
    ]
    messages = await raw.call("nope")
    assert [m["msg"] for m in messages] == ["result", "updated"]  # no nosub came before


async def test_login_publishes_only_the_users_own_public_fields(server: Server, client, alice):
    messages = await client.call("login", ALICE)
    assert messages[0] == {
        "msg": "added",
        "collection": "users",
        "id": alice,
        "fields": alice_fields(),
    }
    assert [m["msg"] for m in messages[1:]] == ["result", "updated"]
    token = messages[1]["result"]["token"]
    assert token not in repr(messages[0])

    users = server.collection("users")
    users.update(alice, {"$set": {"profile.name": "Al", "services": {"secret": 1}}})
    assert await client.recv() == {
        "msg": "changed",
        "collection": "users",
        "id": alice,
        "fields": {"profile": {"name": "Al"}},  # `services` is never published
    }
    users.update(alice, {"$set": {"services": {"secret": 2}}})
    assert [m["msg"] for m in await client.call("nope", id="n")] == ["result", "updated"]

    messages = await client.call("logout", id="o")
    assert messages[0] == {"msg": "removed", "collection": "users", "id": alice}


async def test_resume_login_publishes_the_user_and_others_see_nothing(
    server: Server, client, open_client, alice
):
    token = (await client.result("login", ALICE))["result"]["token"]
    other = await open_client(server.url)
    await other.connect()
    messages = await other.call("login", {"resume": token})
    assert messages[0]["collection"] == "users" and messages[0]["id"] == alice
    bob = server.accounts.add_user("bob", "pw")
    messages = await client.call("login", password_login_params(user="bob", password="pw"), id="b")
    assert messages[:2] == [
        {"msg": "removed", "collection": "users", "id": alice},
        {
            "msg": "added",
            "collection": "users",
            "id": bob,
            "fields": {"username": "bob", "emails": [], "profile": {}},
        },
    ]


async def test_custom_login_handler_users_get_a_document(server: Server, client):
    server.accounts.add_login_handler(lambda ctx, params: "robot" if "apiKey" in params else None)
    messages = await client.call("login", {"apiKey": "k"})
    assert messages[0] == {
        "msg": "added",
        "collection": "users",
        "id": "robot",
        "fields": {"emails": [], "profile": {}},
    }


async def test_async_client_holds_its_user(server: Server, alice):
    server.add_method("noop", lambda ctx: None)
    async with ddp.AsyncClient(server.url) as client:
        await client.login(user="alice", password="secret")
        # login() returns on the result; the user's document is visible with the `updated`
        # that follows (and so before a later call's).
        await client.go("noop").data_visible(timeout=5)
        users = client.collection("users")
        doc = users.find_one(alice)
        assert doc == {"_id": alice, **alice_fields()}
        await client.logout()
        await client.go("noop").data_visible(timeout=5)
        assert users.find_one(alice) is None


def test_blocking_client_holds_its_user():
    with server_in_thread(heartbeat_interval=0) as st:
        uid = st.call(st.server.accounts.add_user, "alice", "secret")
        st.call(st.server.add_method, "noop", lambda ctx: None)
        with ddp.Client(st.url) as client:
            client.login(user="alice", password="secret")
            client.go("noop").data_visible(timeout=5)
            assert client.collection("users").find_one(uid)["username"] == "alice"
            client.logout()
            client.go("noop").data_visible(timeout=5)
            assert client.collection("users").find_one(uid) is None


def test_add_user_keeps_secrets_out_of_the_users_collection():
    server = Server()
    uid = server.accounts.add_user("carol", "pw", user_id="c1")
    doc = server.collection("users").find_one(uid)
    assert set(doc) == {"_id", "username", "emails", "profile", "createdAt"}
    assert doc["createdAt"].tzinfo is not None
    with pytest.raises(ddp.InvalidStateError):
        server.accounts.add_user("dave", user_id="c1")


def test_cursor_projection():
    items = Server().collection("items")
    items.insert({"_id": "a", "x": 1, "y": 2, "z": 3})
    assert items.find(None, fields={"x": 1, "y": True}).fetch() == [{"_id": "a", "x": 1, "y": 2}]
    assert items.find(None, fields={"x": 0}).fetch() == [{"_id": "a", "y": 2, "z": 3}]
    assert items.find(None, fields={}).fetch() == [{"_id": "a", "x": 1, "y": 2, "z": 3}]
    seen = []
    handle = items.find(None, fields={"x": 1}).observe_changes(
        added=lambda i, f: seen.append(("added", i, f)),
        changed=lambda i, f: seen.append(("changed", i, f)),
    )
    items.update("a", {"$set": {"y": 5}})  # outside the projection: no change
    items.update("a", {"$set": {"x": 9, "y": 6}})
    handle.stop()
    assert seen == [("added", "a", {"x": 1}), ("changed", "a", {"x": 9})]
    for bad in ({"x": 1, "y": 0}, {"a.b": 1}, {"_id": 0}, ["x"]):
        with pytest.raises(ddp.InvalidSelectorError):
            items.find(None, fields=bad)
