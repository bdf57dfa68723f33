"""The ``ddp`` command line, run in-process against a real server on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ddp import ejson
from ddp.cli import main
from ddp.demo import run_demo
from ddp.server import MethodContext, Server, ServerThread, server_in_thread


@pytest.fixture
def served() -> Iterator[ServerThread]:
    server = Server(heartbeat_interval=0)

    @server.method("echo")
    def echo(ctx: MethodContext, *args: Any) -> Any:
        return list(args)

    @server.method("whoami")
    def whoami(ctx: MethodContext) -> str | None:
        return ctx.user_id

    server.accounts.add_user("alice", "secret")
    with server_in_thread(server) as st:
        yield st


def test_call_prints_the_result_as_ejson(served: ServerThread, capsys: Any) -> None:
    assert main(["call", served.url, "echo", "1", '{"$date": 0}', "word"]) == 0
    printed = ejson.loads(capsys.readouterr().out)
    assert printed[0] == 1 and printed[2] == "word"
    assert printed[1].year == 1970


def test_call_logs_in_first(served: ServerThread, capsys: Any) -> None:
    assert main(["call", served.url, "whoami", "--user", "alice", "--password", "secret"]) == 0
    assert ejson.loads(capsys.readouterr().out) is not None


def test_a_method_error_is_reported_with_exit_status_1(served: ServerThread, capsys: Any) -> None:
    assert main(["call", served.url, "no.such.method"]) == 1
    assert "MethodError" in capsys.readouterr().err


def test_ping_prints_round_trips(served: ServerThread, capsys: Any) -> None:
    assert main(["ping", served.url, "-c", "2"]) == 0
    assert capsys.readouterr().out.count("pong from") == 2


def test_an_unreachable_server_fails_fast_with_a_clear_message(capsys: Any) -> None:
    # Port 1 on loopback refuses connections: reconnect=False turns that into one error.
    assert main(["call", "ws://127.0.0.1:1/websocket", "echo", "--timeout", "5"]) == 1
    assert "ddp:" in capsys.readouterr().err


def test_the_demo_runs_end_to_end() -> None:
    lines: list[str] = []
    run_demo(lines.append)
    text = "\n".join(lines)
    assert "add(2, 40) = 42" in text
    assert "live query: task" in text
    assert "session resumed" in text
    assert "new session, logged in again" in text
    assert lines[-1] == "done."


def test_python_dash_m_ddp_shows_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ddp", "--help"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0
    assert "demo" in out.stdout
