"""The I/O-free helpers both clients share: URLs, options, listeners, login, stats."""

from __future__ import annotations

import logging
import random
import ssl
from datetime import UTC, datetime, timedelta

import pytest

from ddp import LoginError, MethodError, ProtocolError, RateLimitedError
from ddp._listeners import ListenerRegistry
from ddp._login import as_login_error, login_params, parse_login_result, token_is_usable
from ddp._options import parse_url, validate_options
from ddp.auth import LoginResult, MemoryTokenStore, TokenStore
from ddp.backoff import Backoff
from ddp.stats import IOStats, StatsRecorder, text_size


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com", "ws://example.com/websocket"),
        ("https://example.com/app/", "wss://example.com/app/websocket"),
        ("localhost:3000", "ws://localhost:3000/websocket"),
        ("ws://h:1/websocket", "ws://h:1/websocket"),
        ("wss://h/custom", "wss://h/custom"),
    ],
)
def test_raw_urls(url: str, expected: str) -> None:
    server = parse_url(url)
    assert not server.sockjs
    assert server.dial_url() == expected
    assert server.key == url


def test_sockjs_urls() -> None:
    rng = random.Random(1)
    tls = parse_url("ddp+sockjs://ddp--****-app.example.com")
    assert tls.sockjs and tls.secure
    dial = tls.dial_url(rng)
    assert dial.startswith("wss://ddp--") and "*" not in dial
    path = dial.split("example.com", 1)[1].split("/")
    assert path[1] == "sockjs" and len(path[2]) == 3 and len(path[3]) == 8
    assert path[4] == "websocket"
    plain = parse_url("ddpi+sockjs://h:3000")
    assert plain.dial_url().startswith("ws://h:3000/sockjs/") and not plain.secure
    forced = parse_url("ws://h:3000/websocket", sockjs=True)
    assert forced.dial_url().startswith("ws://h:3000/sockjs/")


@pytest.mark.parametrize(
    "url", ["", "   ", "ftp://h", "/relative", "http://", "ws:///x", "h:99999"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


def test_options_are_validated() -> None:
    opts = validate_options("h:1", headers={"X-A": "1"}, reconnect=False, heartbeat_interval=0)
    assert opts.headers == (("X-A", "1"),) and opts.backoff is False and not opts.heartbeats
    assert validate_options("h:1").backoff is None
    custom = Backoff(base=2)
    assert validate_options("h:1", reconnect=custom).backoff is custom
    for bad in (
        {"heartbeat_timeout": 0},
        {"connect_timeout": float("nan")},
        {"heartbeat_interval": -1},
        {"max_attempts": 0},
        {"versions": []},
        {"versions": ["7"]},
        {"max_size": 0},
    ):
        with pytest.raises(ValueError):
            validate_options("h:1", **bad)  # type: ignore[arg-type]
    for bad_type in (
        {"heartbeat_interval": "1"},
        {"reconnect": "yes"},
        {"headers": [("a",)]},
        {"versions": "1"},
        {"token_store": object()},
        {"ssl": "yes"},
    ):
        with pytest.raises(TypeError):
            validate_options("h:1", **bad_type)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        validate_options("ws://h/websocket", ssl=ssl.create_default_context())


def test_listener_registry_isolates_errors(caplog: pytest.LogCaptureFixture) -> None:
    registry: ListenerRegistry[[int]] = ListenerRegistry("test")
    seen: list[int] = []

    def broken(n: int) -> None:
        raise RuntimeError("boom")

    registry.add(broken)
    remove = registry.add(seen.append)
    with caplog.at_level(logging.ERROR, logger="ddp.client"):
        registry.emit(1)
    assert seen == [1] and "boom" in caplog.text
    remove()
    registry.emit(2)
    assert seen == [1] and len(registry) == 1
    with pytest.raises(TypeError):
        registry.add(42)  # type: ignore[arg-type]


def test_listener_registry_hands_out_awaitables(caplog: pytest.LogCaptureFixture) -> None:
    handed: list[object] = []

    async def coro(n: int) -> None:
        pass

    with_runner: ListenerRegistry[[int]] = ListenerRegistry("a", handed.append)
    with_runner.add(coro)
    with_runner.emit(1)
    assert len(handed) == 1
    handed[0].close()  # type: ignore[attr-defined]
    without: ListenerRegistry[[int]] = ListenerRegistry("b")
    without.add(coro)
    with caplog.at_level(logging.WARNING, logger="ddp.client"):
        without.emit(1)  # closed, so no "never awaited" warning
    assert "discarded" in caplog.text


def test_login_params() -> None:
    assert login_params(token="t") == {"resume": "t"}
    assert login_params(user="a@b.c", password="x")["user"] == {"email": "a@b.c"}
    assert login_params(email="a@b.c", password="x")["user"] == {"email": "a@b.c"}
    assert login_params(user="bob", password="x", code="123")["code"] == "123"
    for bad in ({}, {"user": "bob"}, {"token": "t", "user": "bob"}, {"user": "a", "email": "b"}):
        with pytest.raises(TypeError):
            login_params(**bad)  # type: ignore[arg-type]


def test_parse_login_result() -> None:
    when = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_login_result(
        {"id": "u", "token": "t", "tokenExpires": when, "type": "password"}
    ) == (LoginResult("u", "t", when, "password"))
    ms = parse_login_result({"id": "u", "token": "t", "tokenExpires": {"$date": 0}})
    assert ms.token_expires == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_login_result({"id": "u", "token": "t"}).token_expires is None
    for bad in (None, [], {"id": "u"}, {"id": 1, "token": "t"}):
        with pytest.raises(ProtocolError):
            parse_login_result(bad)


def test_token_is_usable() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert token_is_usable(LoginResult("u", "t"), now)
    assert token_is_usable(LoginResult("u", "t", now + timedelta(hours=1)), now)
    assert not token_is_usable(LoginResult("u", "t", now + timedelta(seconds=30)), now)
    assert not token_is_usable(LoginResult("u", "t", now - timedelta(days=1)), now)


def test_as_login_error() -> None:
    converted = as_login_error(MethodError(403, "nope"))
    assert isinstance(converted, LoginError) and converted.reason == "nope"
    limited = RateLimitedError("too-many-requests", "slow", {"timeToReset": 1000})
    assert as_login_error(limited) is limited
    other = TimeoutError()
    assert as_login_error(other) is other


def test_memory_token_store() -> None:
    store = MemoryTokenStore()
    assert isinstance(store, TokenStore)
    assert store.load("k") is None
    store.save("k", LoginResult("u", "t"))
    assert store.load("k") == LoginResult("u", "t")
    store.delete("k")
    store.delete("k")
    assert store.load("k") is None


def test_stats_recorder() -> None:
    rec = StatsRecorder(0.0, reservoir_size=10, rng=random.Random(3))
    rec.connection_opened(1.0, reconnect=False)
    rec.record_read("héllo")
    rec.record_write("abc")
    rec.connection_closed()
    rec.connection_opened(2.0, reconnect=True)
    rec.record_read("x")
    for i in range(100):
        rec.record_rtt(i / 1000)
    snap = rec.snapshot(4.0)
    assert snap.reads == IOStats(1, 1, 0, 2.0)
    assert snap.total_reads == IOStats(7, 2, 0, 4.0)
    assert snap.total_writes.bytes == 3 and snap.writes.ops == 0
    assert snap.reconnects == 1
    assert snap.methods.count == 100 and snap.methods.max == pytest.approx(0.099)
    assert snap.methods.p50 is not None and 0 <= snap.methods.p50 <= 0.099
    assert "reconnects 1" in str(snap) and snap.as_dict()["methods"]["count"] == 100
    rec.reset(5.0)
    assert rec.snapshot(5.0).total_reads.ops == 0 and str(rec.snapshot(5.0).methods) == "n=0"
    assert text_size("é") == 2 and text_size("e") == 1
    with pytest.raises(ValueError):
        StatsRecorder(0.0, reservoir_size=0)


def test_redact_masks_secrets_in_plain_and_sockjs_frames() -> None:
    import json

    from ddp._redact import redact
    from ddp.framing import sockjs_client_encode

    login = json.dumps(
        {"msg": "method", "method": "login", "id": "1", "params": [{"resume": "R3sum3"}]}
    )
    result = json.dumps({"msg": "result", "id": "1", "result": {"id": "u", "token": 'T"0k'}})
    digest = json.dumps({"password": {"digest": "d1g3st", "algorithm": "sha-256"}})
    for text in (login, result, digest, sockjs_client_encode([login, result, digest])):
        masked = redact(text)
        assert "R3sum3" not in masked and "0k" not in masked and "d1g3st" not in masked
        assert "***" in masked
    assert redact(login[:-10]).count("R3sum3") == 0  # cut short for the log: still masked
    plain = '{"msg":"method","method":"echo","params":["token"],"id":"2"}'
    assert redact(plain) == plain  # a value "token" is not a field named token


def test_the_types_users_annotate_with_are_exported() -> None:
    import ddp
    from ddp.auth import LoginResult as AuthLoginResult
    from ddp.stats import ClientStats as StatsClientStats

    assert ddp.ClientStats is StatsClientStats and ddp.LoginResult is AuthLoginResult
    for name in ("TokenStore", "MemoryTokenStore", "Backoff", "IOStats", "LatencyStats"):
        assert name in ddp.__all__ and getattr(ddp, name) is not None
