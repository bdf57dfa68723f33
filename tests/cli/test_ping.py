"""``ddp ping``: per-ping lines, ping(8)'s summary, lost pongs, and a closed pipe."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from ddp.cli.errors import ExitCode
from ddp.cli.ping import PingSummary
from ddp.server import ServerThread

from .conftest import subprocess_env


def test_pings_and_the_summary(served: ServerThread, ddp: Any) -> None:
    result = ddp("ping", served.url, "-c", "3", "-i", "0")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"PING {served.url}: DDP 1, session ")
    assert [line.split("seq=")[1].split()[0] for line in lines[1:4]] == ["1", "2", "3"]
    assert lines[4] == f"--- {served.url} ddp ping statistics ---"
    assert lines[5].startswith("3 pings sent, 3 pongs received, 0% loss, time ")
    assert re.fullmatch(r"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", lines[6])


def test_no_pong_counts_as_loss_and_exits_5(served: ServerThread, ddp: Any) -> None:
    def stall() -> None:
        served.server.faults.stall_heartbeats = True

    served.call(stall)
    result = ddp("ping", served.url, "-c", "2", "-i", "0", "-W", "0.2")
    assert result.code == ExitCode.TIMEOUT
    assert result.out.count("no pong from") == 2
    assert "2 pings sent, 0 pongs received, 100% loss" in result.out
    assert "rtt" not in result.out


def test_mdev_is_ping8s() -> None:
    summary = PingSummary.of(4, [0.001, 0.003])
    assert (summary.minimum, summary.average, summary.maximum) == (0.001, 0.002, 0.003)
    assert summary.mdev == pytest.approx(0.001)
    assert "4 pings sent, 2 pongs received, 50% loss" in summary.lines("u", 1.0)[1]


def test_a_closed_pipe_is_quiet(served: ServerThread) -> None:
    # `ddp ping URL | head -1`: the reader goes away after the first line.
    with subprocess.Popen(
        [sys.executable, "-m", "ddp", "ping", served.url, "-i", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"PING ")
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=30)
    assert err == b""
    assert code == 141
