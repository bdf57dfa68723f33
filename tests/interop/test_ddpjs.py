"""Interop: ``ddp.server`` driven by a third-party JavaScript client (ddp.js from npm).

Needs ``node`` and ``npm`` (and the npm registry, or npm's cache, to install ddp.js and ws
into a temporary folder): without them the test is skipped, unless ``DDP_INTEROP_REQUIRED=1``
makes that a failure (for CI machines that must run it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ddp.server import Server

PACKAGES = ("ddp.js@2.2.1", "ws@8")
BOT = Path(__file__).with_name("ddpjs_bot.js")
EVENTS = 400


def _unavailable(reason: str) -> None:
    if os.environ.get("DDP_INTEROP_REQUIRED") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary ``node_modules`` with ddp.js and ws installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are needed for the interop tests")
    prefix = tmp_path_factory.mktemp("npm")
    command = [npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(prefix)]
    try:
        done = subprocess.run(
            [*command, *PACKAGES], capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        _unavailable("npm install timed out")
    if done.returncode != 0:
        _unavailable(f"npm install failed: {done.stderr.strip()[-500:]}")
    return prefix / "node_modules"


async def test_ddpjs_bot_sees_its_user_and_every_stream_event(node_modules: Path):
    async with Server(heartbeat_interval=0) as server:
        alice = server.accounts.add_user("alice", "secret", profile={"name": "Alice"})
        server.collection("items").insert({"_id": "i1", "text": "hello"})
        server.add_publication("items", lambda sub: server.collection("items").find())
        stream = server.stream("room-messages")
        sent = [{"msg": f"m{i // 4}", "rid": "GENERAL"} for i in range(EVENTS)]

        @server.method("emit")
        def emit(ctx, n):
            for payload in sent[:n]:
                stream.emit("GENERAL", payload)

        proc = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node",
            str(BOT),
            server.url,
            "alice",
            "secret",
            str(EVENTS),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_PATH": str(node_modules)},
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()
        seen = json.loads(out.decode().strip().splitlines()[-1])

    assert seen["errors"] == []
    # The user's document arrives before the login's result, with only its public fields.
    assert seen["order"][:3] == ["connected", "added:users", "login-result"]
    assert seen["users"] == [
        {
            "msg": "added",
            "collection": "users",
            "id": alice,
            "fields": {"username": "alice", "emails": [], "profile": {"name": "Alice"}},
        }
    ]
    assert seen["items"] == [{"text": "hello"}]
    assert seen["events"] == [{"eventName": "GENERAL", "args": [p]} for p in sent]
