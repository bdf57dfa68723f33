"""``ddp serve`` and ``python -m ddp.server``: the demo server or a user's, its URL first."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ddp.cli.errors import CLIError, ExitCode
from ddp.cli.serve import load_server

from .conftest import subprocess_env


@pytest.fixture
def targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``ddp_test_servers`` (a copy of servers.py) importable here and in subprocesses,
    wherever pytest was started from."""
    shutil.copy(Path(__file__).with_name("servers.py"), tmp_path / "ddp_test_servers.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _serve(*args: str, path: Path | None = None) -> subprocess.Popen[str]:
    env = subprocess_env() if path is None else subprocess_env(PYTHONPATH=str(path))
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_python_dash_m_ddp_server_serves_the_demo_until_sigterm(ddp: Any) -> None:
    with _serve("-m", "ddp.server", "--port", "0") as proc:
        assert proc.stdout is not None and proc.stderr is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/websocket")
        result = ddp("call", url, "add", "2", "40")
        assert (result.code, result.out) == (0, "42\n")
        assert ddp("call", url, "items.insert", "x", "-u", "alice", "-p", "secret").code == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in proc.stderr.read()


def test_ddp_serve_a_users_factory(ddp: Any, targets: Path) -> None:
    command = ("-m", "ddp", "serve", "ddp_test_servers:factory", "--port", "0")
    with _serve(*command, path=targets) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert ddp("call", url, "where").out == '"factory"\n'
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 0


def test_load_server_takes_a_server_or_a_factory(targets: Path) -> None:
    import ddp_test_servers as servers  # type: ignore[import-not-found]

    assert load_server("ddp_test_servers:built", None, None) is servers.built
    made = load_server("ddp_test_servers:factory", "127.0.0.2", 0)
    assert made.host == "127.0.0.2"
    assert load_server("ddp_test_servers:bare_factory", None, None).host == "127.0.0.1"


@pytest.mark.parametrize(
    ("target", "port", "message"),
    [
        ("ddp_test_servers:built", 3000, "give a factory"),
        ("ddp_test_servers:bare_factory", 3000, "takes no 'port'"),
        ("ddp_test_servers:not_a_server", None, "not a ddp.server.Server"),
        ("ddp_test_servers:number", None, "neither a Server nor a factory"),
        ("ddp_test_servers:missing", None, "has no 'missing'"),
        ("ddp_no_such_module:x", None, "cannot import"),
        ("no_colon", None, "not module:name"),
    ],
)
def test_bad_targets_are_usage_errors(
    targets: Path, target: str, port: int | None, message: str
) -> None:
    with pytest.raises(CLIError) as caught:
        load_server(target, None, port)
    assert caught.value.code == ExitCode.USAGE and message in caught.value.message


def test_a_port_in_use_exits_3(ddp: Any) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = ddp("serve", "--port", str(port))
    assert result.code == ExitCode.CONNECTION
    assert result.err.startswith("ddp: cannot listen on 127.0.0.1")


def test_a_factory_that_raises_exits_70(ddp: Any, targets: Path) -> None:
    result = ddp("serve", "ddp_test_servers:broken_factory")
    assert result.code == ExitCode.INTERNAL
    assert result.err == "ddp: ddp_test_servers:broken_factory() raised RuntimeError: boom\n"
