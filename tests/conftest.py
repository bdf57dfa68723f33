"""Fixtures for every test."""

from __future__ import annotations

import pytest

PROXY_VARIABLES = ("ws", "wss", "socks", "https", "http", "all", "no")
"""The ``<scheme>_proxy`` environment variables websockets (and urllib) consult."""


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clear the environment's proxy settings: both clients (like websockets) honour them by
    default, and a developer's ``HTTPS_PROXY`` must not route loopback tests elsewhere. The
    proxy tests set their own."""
    for scheme in PROXY_VARIABLES:
        for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
            monkeypatch.delenv(name, raising=False)
