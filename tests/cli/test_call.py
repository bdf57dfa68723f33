"""``ddp call`` against the demo server: arguments, output, and every failure's exit code."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
import trustme

from ddp import ejson
from ddp.cli.errors import ExitCode
from ddp.demo import build_demo_server
from ddp.server import Server, ServerThread, server_in_thread

from .conftest import run_in_terminal


def _alice_id(st: ServerThread) -> str:
    user = st.server.accounts.find_user(username="alice")
    assert user is not None
    return user.id


def _alice_id_on(st: ServerThread) -> str:
    return st.call(_alice_id, st)


def test_the_result_is_printed_as_ejson(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "echo", "1", '{"$date": 0}', "word", "-2.5", "trueish")
    assert result.code == 0, result.err
    printed = ejson.loads(result.out)
    assert printed[0] == 1 and printed[1].year == 1970
    assert printed[2:] == ["word", -2.5, "trueish"]


def test_the_result_is_indented_on_a_terminal(served: ServerThread) -> None:
    code, drawn = run_in_terminal("call", served.url, "echo", "[1]", "2")
    assert code == 0
    assert drawn.replace("\r\n", "\n") == "[\n  [\n    1\n  ],\n  2\n]\n"


def test_json_output_is_one_compact_line(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "echo", '{"a": [1, 2]}', "--json")
    assert result.out == '{"a":[1,2]}\n'


@pytest.mark.parametrize("text", ["[1,2", "{", '"open', "12abc", "-x"])
def test_text_that_starts_like_json_must_parse(served: ServerThread, ddp: Any, text: str) -> None:
    result = ddp("call", served.url, "echo", text)
    assert result.code == ExitCode.USAGE
    assert result.out == ""
    assert len(result.err.splitlines()) == 1 and "not valid EJSON" in result.err


def test_a_method_error_shows_error_reason_and_details(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "items.insert", "hi")
    assert result.code == 1
    assert (
        result.err == 'ddp: method error: Log in first [403] details: {"method":"items.insert"}\n'
    )


def test_user_and_password_log_in_first(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "whoami", "--user", "alice", "--password", "secret")
    assert result.code == 0, result.err
    assert isinstance(ejson.loads(result.out), str)


def test_the_password_comes_from_the_environment(
    served: ServerThread, ddp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDP_PASSWORD", "secret")
    assert ddp("call", served.url, "whoami", "-u", "alice").code == 0


def test_user_without_password_and_no_terminal_is_a_usage_error(
    served: ServerThread, ddp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DDP_PASSWORD", raising=False)
    result = ddp("call", served.url, "whoami", "--user", "alice")
    assert result.code == ExitCode.USAGE
    assert "needs a password" in result.err
    # Nothing was sent: the server never saw a connection.
    assert served.call(lambda: len(served.server.sessions)) == 0


def test_an_empty_password_is_never_sent(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "whoami", "--user", "alice", "--password", "")
    assert result.code == ExitCode.USAGE and "empty" in result.err


def test_a_refused_login_exits_4(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "whoami", "--user", "alice", "--password", "wrong")
    assert result.code == 4
    assert result.err.startswith("ddp: login refused: ")


def test_a_token_logs_in(served: ServerThread, ddp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = _alice_id_on(served)
    token, _ = served.call(served.server.accounts.issue_token, user_id)
    result = ddp("call", served.url, "whoami", "--token", token)
    assert result.code == 0, result.err
    assert ejson.loads(result.out) == user_id
    monkeypatch.setenv("DDP_TOKEN", token)
    assert ejson.loads(ddp("call", served.url, "whoami").out) == user_id
    monkeypatch.setenv("DDP_TOKEN", "not-a-token")
    assert ddp("call", served.url, "whoami").code == ExitCode.LOGIN


def test_headers_are_sent(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "headers", "-H", "X-Team: blue", "--json")
    assert ejson.loads(result.out)["x-team"] == "blue"
    assert ddp("call", served.url, "headers", "-H", "nocolon").code == ExitCode.USAGE


def test_sockjs_framing(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.server.base_url, "add", "2", "40", "--sockjs")
    assert (result.code, result.out) == (0, "42\n")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "ws://127.0.0.1:99999/websocket", "http://", "mailto:x"]
)
def test_a_bad_url_is_a_usage_error(ddp: Any, url: str) -> None:
    result = ddp("call", url, "add")
    assert result.code == ExitCode.USAGE, result.err
    assert len(result.err.splitlines()) == 1


def test_an_unreachable_server_exits_3(ddp: Any) -> None:
    # Port 1 on loopback refuses connections.
    result = ddp("call", "ws://127.0.0.1:1/websocket", "add", "--timeout", "5")
    assert result.code == 3
    assert result.err.startswith("ddp: connection failed") and "Traceback" not in result.err


def test_a_slow_method_times_out_with_exit_5(served: ServerThread, ddp: Any) -> None:
    result = ddp("call", served.url, "sleep", "30", "--timeout", "0.2")
    assert result.code == 5
    assert "timed out" in result.err


def test_verbose_traces_frames_without_secrets(served: ServerThread, ddp: Any) -> None:
    user_id = _alice_id_on(served)
    token, _ = served.call(served.server.accounts.issue_token, user_id)
    result = ddp("call", served.url, "whoami", "-u", "alice", "-p", "secret", "-v")
    assert result.code == 0
    assert '"method":"login"' in result.err and '"token":"***"' in result.err
    assert '"digest":"***"' in result.err
    login_result = ddp("call", served.url, "whoami", "--token", token, "-v")
    assert '"resume":"***"' in login_result.err
    for secret in ("secret", token):
        assert secret not in result.err + login_result.err
    # -v leaves the process's logging as it found it.
    assert "login" not in ddp("call", served.url, "whoami").err


def test_insecure_skips_certificate_verification(ddp: Any) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = Server(ssl=context, heartbeat_interval=0)
    build_demo_server(server)
    with server_in_thread(server) as st:
        assert st.url.startswith("wss://")
        refused = ddp("call", st.url, "add", "1", "2")
        assert refused.code == ExitCode.CONNECTION, refused.err
        accepted = ddp("call", st.url, "add", "1", "2", "--insecure")
        assert (accepted.code, accepted.out) == (0, "3\n")
