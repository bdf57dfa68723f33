"""Fixtures for the ``ddp`` command's tests: the demo server in a thread, and ways to run
the real command, in-process (fast) or as a subprocess (the real entry points)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ddp.cli import main
from ddp.demo import demo_server
from ddp.server import MethodContext, ServerThread, server_in_thread


@dataclass
class Outcome:
    """What one run of the command did."""

    code: int
    out: str
    err: str


@pytest.fixture
def served() -> Iterator[ServerThread]:
    """The demo server (``ddp serve``'s), plus a method that reports the request headers."""
    server = demo_server()
    server.heartbeat_interval = 0

    @server.method("headers")
    def headers(ctx: MethodContext) -> dict[str, str]:
        return dict(ctx.connection.http_headers)

    @server.method("whoami")
    def whoami(ctx: MethodContext) -> str | None:
        return ctx.user_id

    with server_in_thread(server) as st:
        yield st


@pytest.fixture
def ddp(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``ddp ARGS...`` in-process; return its :class:`Outcome`."""

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess run: this interpreter's, without terminal hints."""
    env = {k: v for k, v in os.environ.items() if k not in ("DDP_PASSWORD", "DDP_TOKEN")}
    env.update(extra)
    return env


def run_ddp(*args: str, timeout: float = 30, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ddp ARGS...`` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "ddp", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=subprocess_env(),
        **popen,
    )


def run_in_terminal(*args: str, timeout: float = 30) -> tuple[int, str]:
    """Run ``python -m ddp ARGS...`` with a pseudo-terminal as stdin, stdout and stderr (the
    live views); return its exit status and everything it drew."""
    import pty
    import select

    master, slave = pty.openpty()
    env = subprocess_env(COLUMNS="120", LINES="40", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ddp", *args], stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                raise TimeoutError(f"ddp {' '.join(args)} drew nothing for {timeout} s")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")
