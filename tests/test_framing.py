"""SockJS framing and URL helpers."""

from __future__ import annotations

import random
import re

import orjson
import pytest

from ddp.exceptions import ProtocolError
from ddp.framing import (
    SOCKJS_HEARTBEAT,
    SOCKJS_OPEN,
    SockJSFrame,
    SockJSFrameKind,
    sockjs_client_encode,
    sockjs_decode,
    sockjs_encode_close,
    sockjs_encode_messages,
    sockjs_server_decode,
    sockjs_url,
    sockjs_websocket_url,
    websocket_url,
)

DDP_MSGS = ['{"msg":"ping"}', '{"msg":"added","fields":{"q":"say \\"hi\\"\\n"}}']


def test_open_and_heartbeat():
    assert sockjs_decode(SOCKJS_OPEN) == SockJSFrame(SockJSFrameKind.OPEN)
    assert sockjs_decode(SOCKJS_HEARTBEAT) == SockJSFrame(SockJSFrameKind.HEARTBEAT)
    assert sockjs_decode(b"o").kind is SockJSFrameKind.OPEN


def test_messages_frame_round_trip():
    frame = sockjs_encode_messages(DDP_MSGS)
    assert frame.startswith("a[")
    assert sockjs_decode(frame) == SockJSFrame(SockJSFrameKind.MESSAGES, DDP_MSGS)
    assert [orjson.loads(m)["msg"] for m in sockjs_decode(frame).messages] == ["ping", "added"]


def test_single_message_frame():
    decoded = sockjs_decode('m"{\\"msg\\":\\"ping\\"}"')
    assert decoded == SockJSFrame(SockJSFrameKind.MESSAGES, ['{"msg":"ping"}'])


def test_close_frame_round_trip():
    frame = sockjs_encode_close(3000, "Go away!")
    assert frame == 'c[3000,"Go away!"]'
    decoded = sockjs_decode(frame)
    assert (decoded.kind, decoded.close_code, decoded.close_reason) == (
        SockJSFrameKind.CLOSE,
        3000,
        "Go away!",
    )
    assert decoded.messages == []


@pytest.mark.parametrize(
    "frame",
    ["", "x", "oo", "hh", "a", "a{}", "a[1]", 'a["x",2]', "m1", "c[3000]", 'c["x","y"]', "c"],
)
def test_bad_server_frames(frame):
    with pytest.raises(ProtocolError):
        sockjs_decode(frame)


def test_bad_utf8_server_frame():
    with pytest.raises(ProtocolError, match="UTF-8"):
        sockjs_decode(b'a["\xff"]')


def test_client_frames():
    frame = sockjs_client_encode(DDP_MSGS)
    assert orjson.loads(frame) == DDP_MSGS
    assert sockjs_server_decode(frame) == DDP_MSGS
    assert sockjs_server_decode('"{\\"msg\\":\\"ping\\"}"') == ['{"msg":"ping"}']
    assert sockjs_server_decode("") == []
    assert sockjs_server_decode(frame.encode()) == DDP_MSGS


@pytest.mark.parametrize("frame", ["[", "1", "[1]", '{"a":"b"}', "null"])
def test_bad_client_frames(frame):
    with pytest.raises(ProtocolError):
        sockjs_server_decode(frame)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://localhost:3000", "ws://localhost:3000/websocket"),
        ("https://chat.example.com/", "wss://chat.example.com/websocket"),
        ("localhost:3000", "ws://localhost:3000/websocket"),
        ("ws://h:1/x", "ws://h:1/x/websocket"),
        ("wss://h", "wss://h/websocket"),
        ("ddp+sockjs://h.example.com/p", "wss://h.example.com/p/websocket"),
        ("ddpi+sockjs://h.example.com", "ws://h.example.com/websocket"),
    ],
)
def test_websocket_url(base, expected):
    assert websocket_url(base) == expected


def test_star_in_ddp_sockjs_host_becomes_random_digits():
    url = websocket_url("ddp+sockjs://ddp--****-foo.meteor.com/sockjs", rng=random.Random(1))
    assert re.fullmatch(r"wss://ddp--\d{4}-foo\.meteor\.com/sockjs/websocket", url)


def test_sockjs_urls():
    assert sockjs_url("http://h:3000", "123", "abcdefgh") == (
        "ws://h:3000/sockjs/123/abcdefgh/websocket"
    )
    url = sockjs_websocket_url("https://h/", rng=random.Random(7))
    assert re.fullmatch(r"wss://h/sockjs/\d{3}/[a-z0-5]{8}/websocket", url)
    assert url == sockjs_websocket_url("https://h/", rng=random.Random(7))
    ids = {sockjs_websocket_url("h") for _ in range(20)}
    assert len(ids) > 1


@pytest.mark.parametrize("base", ["", "/relative"])
def test_relative_urls_are_refused(base):
    with pytest.raises(ValueError, match="absolute"):
        websocket_url(base)
