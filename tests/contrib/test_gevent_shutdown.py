"""The blocking client under gevent (as Locust runs it) survives dropping a connection whose
reader is paused by flow control (issue 10's shutdown crash), in a subprocess: gevent's
monkey-patching must not reach the test process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("gevent") is None:
    pytest.skip(
        "gevent is not installed (pip install 'ddp-client[locust]')", allow_module_level=True
    )

REPRO = Path(__file__).resolve().parents[2] / "scripts" / "locust_shutdown_repro"


def test_dropping_a_paused_connection_under_gevent() -> None:
    proc = subprocess.run([sys.executable, str(REPRO)], capture_output=True, text=True, timeout=120)
    if proc.returncode == 2:
        pytest.fail(f"the scene could not be set (the client changed):\n{proc.stdout}")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_same_with_os_threads() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPRO), "--threads"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
