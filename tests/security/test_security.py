"""Security: TLS verified by default, no password in clear, bounded message size, and no
process-wide side effects. Every case with a client runs on both clients."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trustme
from either_client import UnderTest
from raw_server import TIMEOUT, Conn, RawServer

import ddp

Make = Callable[..., UnderTest]

PASSWORD = "correct horse battery staple"


def tls_pair() -> tuple[Any, Any]:
    """A server context with a certificate from a fresh private CA, and a client context
    that trusts that CA."""
    import ssl

    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(client)
    return server, client


def test_tls_is_verified_by_default(make_client: Make) -> None:
    """A server whose certificate no system CA signed is refused; the user's own context
    (trusting that CA) is what makes it acceptable."""
    server_ctx, client_ctx = tls_pair()
    with RawServer(ssl=server_ctx) as raw:
        refused = make_client(raw.url, reconnect=False)
        with pytest.raises(ddp.DDPError) as info:
            refused.connect()
        assert "certif" in str(info.value).lower(), info.value
        assert raw.dials == 0  # no websocket was ever opened
        trusted = make_client(raw.url, ssl=client_ctx)
        trusted.connect()
        assert trusted.call("echo", "over tls") == "over tls"


def _login_server(raw: RawServer) -> None:
    expires = {"$date": int((time.time() + 86400) * 1000)}
    raw.methods["login"] = lambda params: {"id": "u1", "token": "t0k", "tokenExpires": expires}


@pytest.mark.parametrize("how", ["user", "email"])
def test_passwords_never_go_out_in_clear(make_client: Make, how: str) -> None:
    """Password logins send SHA-256 digests only, and a reconnect logs in again with the
    resume token, not the password: no frame ever holds the password."""
    with RawServer() as raw:
        _login_server(raw)
        client = make_client(raw.url)
        client.connect()
        who = {"user": "alice"} if how == "user" else {"email": "alice@example.com"}
        client.login(**who, password=PASSWORD)
        raw.run(_abort(raw.conns[-1]))
        raw.wait_for(lambda s: len(s.received("method")) >= 2)
        client.connect(timeout=TIMEOUT)
        assert client.call("echo", 1) == 1
        frames = raw.frames()
        assert not any(PASSWORD in str(f) for f in frames)
        logins = [m for m in raw.received("method") if m.get("method") == "login"]
        assert logins[0]["params"][0]["password"] == {
            "digest": hashlib.sha256(PASSWORD.encode()).hexdigest(),
            "algorithm": "sha-256",
        }
        assert logins[1]["params"] == [{"resume": "t0k"}]


async def _abort(conn: Conn) -> None:
    conn.ws.transport.abort()


def test_a_frame_over_max_size_ends_the_connection_with_a_reason_and_a_reconnect(
    make_client: Make,
) -> None:
    """The client's ``max_size`` bounds its memory: a bigger message is never buffered
    whole, the connection ends (the status change says 1009, message too big), and the
    client reconnects and goes on."""
    with RawServer() as raw:
        client = make_client(raw.url, max_size=64 * 1024)
        client.connect()
        raw.push({"msg": "added", "collection": "c", "id": "x", "fields": {"b": "x" * 200_000}})
        raw.wait_for(lambda s: s.dials == 2)
        client.connect(timeout=TIMEOUT)
        assert client.call("echo", 1) == 1
        reasons = client.log.reasons()
        assert any("1009" in r or "too big" in r.lower() for r in reasons), reasons


SNAPSHOT = textwrap.dedent(
    """
    import asyncio, json, logging, signal, socket, sys, threading, warnings

    def snapshot():
        loggers = {
            name: (type(lg).__name__, lg.level, [type(h).__name__ for h in lg.handlers],
                   lg.propagate, lg.disabled)
            for name, lg in logging.root.manager.loggerDict.items()
            if isinstance(lg, logging.Logger) and name.startswith("ddp")
        }
        return {
            "root_handlers": [repr(h) for h in logging.root.handlers],
            "root_level": logging.root.level,
            "disable": logging.root.manager.disable,
            "logger_class": repr(logging.getLoggerClass()),
            "ddp_handlers": sorted(
                (n, h) for n, v in loggers.items() for h in v[2] if h != "NullHandler"
            ),
            "ddp_levels": sorted((n, v[1]) for n, v in loggers.items() if v[1]),
            "policy": type(asyncio.get_event_loop_policy()).__name__,
            "signals": {
                s.name: repr(signal.getsignal(s))
                for s in signal.valid_signals() if isinstance(s, signal.Signals)
            },
            "recursion": sys.getrecursionlimit(),
            "warnings": repr(warnings.filters),
            "socket_timeout": socket.getdefaulttimeout(),
            "excepthook": repr(sys.excepthook),
            "threading_excepthook": repr(threading.excepthook),
            "switch_interval": sys.getswitchinterval(),
        }
    """
)

USE_BOTH = textwrap.dedent(
    """
    before = snapshot()
    import ddp, ddp.sync, ddp.asyncio
    from ddp.server import Server, server_in_thread
    after_import = snapshot()

    server = Server(port=0, heartbeat_interval=0)
    server.method("echo")(lambda ctx, x: x)
    with server_in_thread(server) as st:
        with ddp.Client(server.url, proxy=None) as client:
            assert client.call("echo", 1) == 1
        async def main():
            async with ddp.AsyncClient(server.url, proxy=None) as client:
                assert await client.call("echo", 2) == 2
        asyncio.run(main())
    after_use = snapshot()
    print(json.dumps([before, after_import, after_use]))
    """
)


def _run(code: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_and_using_both_clients_changes_nothing_process_wide() -> None:
    """Logging (root handlers and level, handlers on our loggers), the event loop policy,
    signal handlers, the recursion limit, warnings filters, the socket default timeout and
    the exception hooks are the same before ``import ddp``, after it, and after a blocking
    and an asyncio client have each connected, called and closed."""
    before, after_import, after_use = _run(SNAPSHOT + USE_BOTH)
    assert after_import == before
    assert after_use == before


def test_the_blocking_client_does_not_import_asyncio() -> None:
    """``import ddp.sync`` (and the top-level package's ``Client``) pulls in no asyncio: the
    blocking client runs under gevent and in processes that have their own loop policy."""
    code = (
        "import sys, json; import ddp.sync; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'asyncio')))"
    )
    assert _run(code) == []
