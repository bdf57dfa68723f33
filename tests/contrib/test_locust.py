"""``ddp.contrib.locust`` under real Locust runs, headless and distributed, against ddp.server.

Locust monkey-patches the standard library with gevent as it is imported, so every Locust
run is a subprocess; the server runs on a thread of the test process.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Not importorskip: importing locust would monkey-patch this very process with gevent.
if importlib.util.find_spec("locust") is None:
    pytest.skip(
        "locust is not installed (pip install 'ddp-client[locust]')", allow_module_level=True
    )

from ddp.demo import build_demo_server
from ddp.exceptions import MethodError
from ddp.server import MethodContext, Server, ServerThread

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "locustfile.py"
FAILING = Path(__file__).with_name("failing_locustfile.py")
UNREACHABLE = Path(__file__).with_name("unreachable_locustfile.py")
LOCUST_TIMEOUT = 60  # a bound on a wedged run, not a measurement


@pytest.fixture
def server_url() -> Iterator[str]:
    server = Server(heartbeat_interval=0)
    build_demo_server(server)

    @server.method("boom")
    def boom(ctx: MethodContext) -> None:
        raise MethodError("boom-error", "it broke on purpose")

    with ServerThread(server) as st:
        yield st.url


def _env() -> dict[str, str]:
    # No proxy from the developer's environment for loopback runs (see tests/conftest.py).
    return {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith("LOCUST_")
    }


def _locust(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "locust", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    try:
        out, _ = proc.communicate(timeout=LOCUST_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"locust did not finish:\n{out}")
    assert proc.returncode == 0, out
    # A client that outlived its user, or a crash at shutdown, would show here.
    assert "Traceback" not in out, out
    assert "Assertion" not in out, out
    return out


def test_this_process_is_not_monkey_patched() -> None:
    # Locust patches whatever process imports it; these tests must leave that to their
    # subprocesses, or every later test would run on gevent.
    import threading

    assert socket.socket.__module__ == "socket"
    assert threading.Lock.__module__ in ("_thread", "threading")


def _stats(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    entries = json.loads(path.read_text())
    return {(e["method"], e["name"]): e for e in entries}


def _check_demo_run(stats: dict[tuple[str, str], dict[str, Any]], url: str) -> None:
    for key in (
        ("ddp:connect", url),
        ("ddp:login", "password"),
        ("ddp:sub", "items"),
        ("ddp:call", "add"),
    ):
        assert key in stats, sorted(stats)
        assert stats[key]["num_requests"] > 0, key
    assert sum(e["num_failures"] for e in stats.values()) == 0, stats
    # Each connected user logged in and subscribed once.
    assert (
        stats[("ddp:login", "password")]["num_requests"]
        == stats[("ddp:connect", url)]["num_requests"]
    )


HEADLESS = ("--headless", "--skip-log-setup", "-t", "2s", "--stop-timeout", "5")


def test_headless_run_counts_every_request(server_url: str, tmp_path: Path) -> None:
    out = _finish(
        _locust(
            "-f", str(EXAMPLE), *HEADLESS, "-u", "4", "-r", "4", "--host", server_url,
            "--json-file", "stats",
            cwd=tmp_path,
        )
    )  # fmt: skip
    stats = _stats(tmp_path / "stats.json")
    _check_demo_run(stats, server_url)
    assert stats[("ddp:connect", server_url)]["num_requests"] == 4, out


def test_failures_carry_the_servers_error(server_url: str, tmp_path: Path) -> None:
    _finish(
        _locust(
            "-f", str(FAILING), *HEADLESS, "-u", "2", "-r", "2", "--host", server_url,
            "--json-file", "stats", "--csv", "run", "--exit-code-on-error", "0",
            cwd=tmp_path,
        )
    )  # fmt: skip
    stats = _stats(tmp_path / "stats.json")
    assert (
        stats[("ddp:call", "boom")]["num_failures"] == stats[("ddp:call", "boom")]["num_requests"]
    )
    assert stats[("ddp:call", "boom")]["num_failures"] > 0
    assert stats[("ddp:sub", "no-such-publication")]["num_failures"] > 0
    assert stats[("ddp:call", "add")]["num_failures"] == 0
    assert stats[("ddp:call", "add")]["num_requests"] > 0
    with (tmp_path / "run_failures.csv").open() as f:
        errors = {(row["Method"], row["Name"]): row["Error"] for row in csv.DictReader(f)}
    assert "boom-error" in errors[("ddp:call", "boom")]
    assert "it broke on purpose" in errors[("ddp:call", "boom")]
    assert ("ddp:sub", "no-such-publication") in errors


def test_a_user_that_cannot_connect_is_a_failed_connect(tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{_free_port()}/websocket"  # nobody listens there
    out = _finish(
        _locust(
            "-f", str(UNREACHABLE), *HEADLESS, "-u", "2", "-r", "2", "--host", url,
            "--json-file", "stats", "--csv", "run", "--exit-code-on-error", "0",
            cwd=tmp_path,
        )
    )  # fmt: skip
    stats = _stats(tmp_path / "stats.json")
    assert stats[("ddp:connect", url)]["num_requests"] == 2, out
    assert stats[("ddp:connect", url)]["num_failures"] == 2, out
    assert ("ddp:call", "add") not in stats  # the task never ran
    assert "UnreachableUser could not connect" in out
    with (tmp_path / "run_failures.csv").open() as f:
        errors = {(row["Method"], row["Name"]): row["Error"] for row in csv.DictReader(f)}
    assert "ConnectionFailedError" in errors[("ddp:connect", url)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_master_with_two_workers(server_url: str, tmp_path: Path) -> None:
    port = str(_free_port())
    master = _locust(
        "-f", str(EXAMPLE), *HEADLESS, "-u", "4", "-r", "4", "--host", server_url,
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
        "--expect-workers", "2", "--expect-workers-max-wait", "30",
        "--json-file", "stats",
        cwd=tmp_path,
    )  # fmt: skip
    worker_args = ("-f", str(EXAMPLE), "--worker", "--skip-log-setup")
    master_address = ("--master-host", "127.0.0.1", "--master-port", port)
    workers = [_locust(*worker_args, *master_address, cwd=tmp_path) for _ in range(2)]
    try:
        master_out = _finish(master)
        for worker in workers:
            _finish(worker)
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    stats = _stats(tmp_path / "stats.json")
    _check_demo_run(stats, server_url)
    assert stats[("ddp:connect", server_url)]["num_requests"] == 4, master_out
