"""``ddp.token_file.FileTokenStore``: permissions, atomic replacement, bad files, and a real
client that logs in with its saved token after a restart."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ddp
from ddp._options import parse_url
from ddp.auth import LoginResult, TokenStore
from ddp.server import MethodContext, Server, ServerThread
from ddp.token_file import FileTokenStore

KEY = "ws://chat.example.com/websocket"
SECRET = "s3cr3t-resume-token-do-not-log"
LOGIN = LoginResult("user-1", SECRET, datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC), type="password")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_is_a_token_store(tmp_path: Path) -> None:
    assert isinstance(FileTokenStore(tmp_path / "t.json"), TokenStore)


def test_round_trip_several_servers_and_delete(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    assert store.load(KEY) is None
    assert not path.exists()
    other = LoginResult("user-2", "other-token")
    store.save(KEY, LOGIN)
    store.save("ws://other/websocket", other)
    # A new store on the same file (a restarted program) reads both back exactly.
    again = FileTokenStore(path)
    assert again.load(KEY) == LOGIN
    assert again.load("ws://other/websocket") == other
    again.delete(KEY)
    assert FileTokenStore(path).load(KEY) is None
    assert FileTokenStore(path).load("ws://other/websocket") == other
    again.delete("ws://nothing-here/websocket")  # no error
    again.delete("ws://other/websocket")
    assert not path.exists()  # the last login gone, the file is removed
    again.delete(KEY)  # and deleting from no file is fine


def test_created_owner_only_even_with_a_permissive_umask(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    old = os.umask(0)
    try:
        FileTokenStore(path).save(KEY, LOGIN)
    finally:
        os.umask(old)
    assert mode(path) == 0o600


def test_a_world_readable_file_is_replaced_by_an_owner_only_one(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    path.chmod(0o644)
    FileTokenStore(path).save(KEY, LOGIN)
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.json"]  # no temporary left


def test_home_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = FileTokenStore("~/tokens.json")
    store.save(KEY, LOGIN)
    assert (tmp_path / "tokens.json").exists()
    assert "~" not in repr(store)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json " + SECRET.encode(),
        b"\xff\xfe" + SECRET.encode(),
        json.dumps([SECRET]).encode(),
        json.dumps({"format": 99, "logins": {KEY: {"id": "u", "token": SECRET}}}).encode(),
        json.dumps({"format": 1, "logins": SECRET}).encode(),
    ],
    ids=["empty", "not-json", "not-utf8", "a-list", "other-format", "logins-not-object"],
)
def test_corrupt_file_is_no_token_and_logs_without_its_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    store = FileTokenStore(path)
    with caplog.at_level(logging.DEBUG, logger="ddp"):
        assert store.load(KEY) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage()
    assert SECRET not in caplog.text
    # The next login replaces the bad file.
    store.save(KEY, LOGIN)
    assert FileTokenStore(path).load(KEY) == LOGIN


@pytest.mark.parametrize(
    "entry",
    [
        SECRET,
        {"id": "u"},
        {"id": "u", "token": ""},
        {"id": 5, "token": SECRET},
        {"id": "u", "token": SECRET, "token_expires": "not a date " + SECRET},
        {"id": "u", "token": SECRET, "token_expires": "2030-01-01T00:00:00"},
        {"id": "u", "token": SECRET, "token_expires": 1234},
    ],
)
def test_malformed_login_is_no_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, entry: object
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"format": 1, "logins": {KEY: entry}}))
    with caplog.at_level(logging.DEBUG, logger="ddp"):
        assert FileTokenStore(path).load(KEY) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert SECRET not in caplog.text


def test_missing_file_is_no_token_and_silent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="ddp"):
        assert FileTokenStore(tmp_path / "absent.json").load(KEY) is None
    assert caplog.records == []


def test_unwritable_folder_raises_and_keeps_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        FileTokenStore(tmp_path / "no-such-folder" / "tokens.json").save(KEY, LOGIN)


# A program killed while writing: the file-size limit stops the write of the new token half
# way through (SIGXFSZ kills the process, as a crash or a power cut would stop it).
CRASH_MID_WRITE = """
import resource, signal, sys
from ddp.auth import LoginResult
from ddp.token_file import FileTokenStore
mode = sys.argv[2]
# Python ignores SIGXFSZ (the write fails with EFBIG); "killed" restores the default: death.
if mode == "killed":
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))
store = FileTokenStore(sys.argv[1])
try:
    store.save("ws://chat.example.com/websocket", LoginResult("user-1", "N" * 5000))
except OSError as exc:
    print("OSError", exc.errno)
"""


@pytest.mark.parametrize("how", ["killed", "error"])
def test_a_crash_mid_write_leaves_the_old_token(tmp_path: Path, how: str) -> None:
    path = tmp_path / "tokens.json"
    FileTokenStore(path).save(KEY, LOGIN)
    before = path.read_bytes()
    assert len(before) < 300  # the old file is within the limit; the new one is not
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_MID_WRITE, str(path), how],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if how == "killed":
        assert proc.returncode == -signal.SIGXFSZ, proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("OSError"), proc.stdout
    assert path.read_bytes() == before
    assert FileTokenStore(path).load(KEY) == LOGIN
    leftovers = [p for p in tmp_path.iterdir() if p != path]
    if how == "error":
        assert leftovers == []  # the temporary file is removed on a failed write
    else:
        # A killed writer leaves its partial temporary file (hidden, owner-only); it is
        # never read, and the next save works.
        assert all(p.name.startswith(".tokens.json.") and mode(p) == 0o600 for p in leftovers)
        FileTokenStore(path).save(KEY, LoginResult("user-1", "fresh"))
        assert FileTokenStore(path).load(KEY) == LoginResult("user-1", "fresh")


@pytest.fixture
def server_thread() -> Iterator[ServerThread]:
    server = Server(heartbeat_interval=0)
    server.accounts.add_user("alice", "secret")

    @server.method("whoami")
    def whoami(ctx: MethodContext) -> str | None:
        return ctx.user_id

    with ServerThread(server) as st:
        yield st


def test_a_restarted_client_logs_in_with_its_saved_token(
    server_thread: ServerThread, tmp_path: Path
) -> None:
    st = server_thread
    path = tmp_path / "bot-token.json"
    with ddp.Client(st.url, token_store=FileTokenStore(path)) as client:
        assert client.user_id is None
        login = client.login(user="alice", password="secret")
    assert mode(path) == 0o600
    # The "restarted program": a new store and a new client, no password.
    with ddp.Client(st.url, token_store=FileTokenStore(path)) as client:
        assert client.call("whoami") == login.id
        assert client.user_id == login.id
        resumes = st.server.monitor.find_messages(
            "method", session_id=client.session, predicate=lambda m: m["method"] == "login"
        )
        assert [r.msg["params"] for r in resumes] == [[{"resume": login.token}]]
    # A token the server no longer accepts is dropped from the file.
    st.call(lambda: st.server.accounts.revoke_tokens())
    with ddp.Client(st.url, token_store=FileTokenStore(path)) as client:
        assert client.call("whoami") is None  # the refused token was sent, then dropped
    assert not path.exists()  # its only login was dropped


def test_expired_token_in_the_file_is_not_sent(server_thread: ServerThread, tmp_path: Path) -> None:
    st = server_thread
    path = tmp_path / "bot-token.json"
    with ddp.Client(st.url, token_store=FileTokenStore(path)) as client:
        good = client.login(user="alice", password="secret")
    expired = LoginResult(good.id, good.token, datetime.now(UTC) - timedelta(days=1))
    FileTokenStore(path).save(parse_url(st.url).key, expired)
    with ddp.Client(st.url, token_store=FileTokenStore(path)) as client:
        assert client.call("whoami") is None
        logins = st.server.monitor.find_messages(
            "method", session_id=client.session, predicate=lambda m: m["method"] == "login"
        )
        assert logins == []
