"""``ddp sub`` / ``ddp watch``: the JSON event stream, --count/--timeout, errors, the live
table, and the view's rendering."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from typing import Any

import pytest
from rich.console import Console

from ddp.cli.errors import ExitCode
from ddp.cli.view import HIGHLIGHT_SECONDS, DocumentTable
from ddp.collection import MISSING, CollectionChange
from ddp.server import ServerThread

from .conftest import run_in_terminal, subprocess_env


def _items(served: ServerThread) -> Any:
    return served.server.collection("items")


def test_json_streams_added_changed_removed_and_ready(served: ServerThread) -> None:
    # A real subprocess that follows the publication while the server changes it.
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ddp",
            "watch",
            served.url,
            "items",
            "--json",
            "-n",
            "6",
            "-t",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    ) as proc:
        assert proc.stdout is not None
        events = [json.loads(proc.stdout.readline()) for _ in range(4)]
        assert [e["msg"] for e in events] == ["added", "added", "added", "ready"]
        assert events[3] == {"msg": "ready", "publication": "items"}
        doc_id = served.call(_items(served).insert, {"text": "new", "due": 1})
        assert json.loads(proc.stdout.readline()) == {
            "msg": "added",
            "collection": "items",
            "id": doc_id,
            "fields": {"text": "new", "due": 1},
        }
        served.call(_items(served).update, doc_id, {"$set": {"done": True}, "$unset": {"due": 1}})
        assert json.loads(proc.stdout.readline()) == {
            "msg": "changed",
            "collection": "items",
            "id": doc_id,
            "fields": {"done": True},
            "cleared": ["due"],
        }
        served.call(_items(served).remove, doc_id)
        assert json.loads(proc.stdout.readline()) == {
            "msg": "removed",
            "collection": "items",
            "id": doc_id,
        }
        assert proc.wait(timeout=30) == 0
        assert proc.stdout.read() == ""


def test_a_dropped_connection_is_reported_and_ctrl_c_ends_it(served: ServerThread) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "ddp", "sub", served.url, "items"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        while json.loads(proc.stdout.readline())["msg"] != "ready":
            pass
        served.call(served.server.faults.drop_all)
        statuses: list[str] = []
        while not statuses or statuses[-1] != "CONNECTED":
            event = json.loads(proc.stdout.readline())
            assert event["msg"] == "status"  # the same documents: nothing to report
            statuses.append(event["status"])
        assert statuses[0] == "RECONNECTING"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert proc.stderr.read() == "ddp: interrupted\n"


def test_count_ends_it(served: ServerThread, ddp: Any) -> None:
    result = ddp("sub", served.url, "items", "--count", "2")
    assert result.code == 0, result.err
    assert [json.loads(line)["msg"] for line in result.out.splitlines()] == ["added", "added"]


def test_timeout_alone_ends_it_successfully(served: ServerThread, ddp: Any) -> None:
    result = ddp("sub", served.url, "items", "--timeout", "0.3")
    assert result.code == 0, result.err
    assert json.loads(result.out.splitlines()[-1])["msg"] == "ready"


def test_count_not_reached_in_time_exits_5(served: ServerThread, ddp: Any) -> None:
    result = ddp("sub", served.url, "items", "--count", "99", "--timeout", "0.3")
    assert result.code == ExitCode.TIMEOUT
    assert result.err == "ddp: 3 of 99 changes within 0.3 s\n"


def test_an_unknown_publication_exits_1(served: ServerThread, ddp: Any) -> None:
    result = ddp("sub", served.url, "nope", "--timeout", "10")
    assert result.code == ExitCode.REMOTE_ERROR
    assert result.err == "ddp: subscription error: Subscription 'nope' not found [404]\n"


def test_malformed_arguments_are_a_usage_error(served: ServerThread, ddp: Any) -> None:
    assert ddp("sub", served.url, "items", "{oops").code == ExitCode.USAGE


def test_the_live_table_on_a_terminal(served: ServerThread) -> None:
    code, drawn = run_in_terminal("watch", served.url, "items", "--count", "3")
    assert code == 0, drawn
    assert "ship it" in drawn and "3 documents" in drawn and "Ctrl-C" in drawn


def _change(op: str, doc_id: str, fields: dict[str, Any] | None = None) -> CollectionChange:
    return CollectionChange("items", op, doc_id, fields)  # type: ignore[arg-type]


def _text(table: DocumentTable, height: int) -> str:
    console = Console(file=io.StringIO(), width=100, height=height)
    console.print(table.render(height))
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_the_view_draws_only_the_rows_that_fit() -> None:
    now = [0.0]
    table = DocumentTable("items", clock=lambda: now[0])
    table.apply([_change("added", f"d{i:04}", {"n": i}) for i in range(1000)])
    text = _text(table, 16)
    assert "showing 10 of 1000" in text and "1000 documents" in text
    assert "d0999" in text and "d0000" not in text  # the newest change first


def test_the_view_highlights_then_forgets_removed_rows() -> None:
    now = [0.0]
    table = DocumentTable("items", clock=lambda: now[0])
    table.apply([_change("added", "a", {"n": 1, "x": 2}), _change("added", "b", {"n": 2})])
    table.apply([_change("changed", "a", {"n": 5, "x": MISSING}), _change("removed", "b")])
    text = _text(table, 20)
    assert '{"n":5}' in text and "b" in text and len(table) == 1
    assert "+2 ~1 -1" in text
    now[0] += HIGHLIGHT_SECONDS + 1
    text = _text(table, 20)
    assert " b " not in text and '{"n":5}' in text


@pytest.mark.parametrize("command", ["sub", "watch"])
def test_help(ddp: Any, command: str) -> None:
    assert "PUBLICATION" in ddp(command, "--help").out
