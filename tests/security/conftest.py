"""Fixtures for the security tests: the hostile suite's raw server and client faces."""

from __future__ import annotations

import sys
from pathlib import Path

# The raw server and the two-client face live with the hostile suite; pytest puts each test
# directory on sys.path the same way (rootdir "prepend" import mode).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hostile"))

from either_client import _collect_garbage_after_each_test, make_client

__all__ = ["_collect_garbage_after_each_test", "make_client"]
