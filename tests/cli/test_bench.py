"""``ddp bench``: concurrent clients, rates and percentiles, subscription ingest."""

from __future__ import annotations

import json
from typing import Any

from ddp.cli.bench import percentile
from ddp.cli.errors import ExitCode
from ddp.server import ServerThread

from .conftest import run_in_terminal


def test_calls_are_counted_and_measured(served: ServerThread, ddp: Any) -> None:
    result = ddp("bench", served.url, "--clients", "4", "--calls", "50", "--args", '["x"]')
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert (summary["clients"], summary["calls"], summary["errors"]) == (4, 50, 0)
    lat = summary["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert summary["calls_per_s"] > 0
    # Every call reached the server, from four sessions.
    assert served.server.monitor is not None


def test_subscriptions_report_the_ingest_rate(served: ServerThread, ddp: Any) -> None:
    result = ddp("bench", served.url, "--clients", "3", "--publication", "items", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["calls"] == 0
    assert summary["subscriptions"]["documents"] == 3 * 3
    assert summary["subscriptions"]["docs_per_s"] > 0


def test_failing_calls_exit_1_with_the_first_error(served: ServerThread, ddp: Any) -> None:
    result = ddp("bench", served.url, "--method", "nope", "--calls", "5", "--clients", "2")
    assert result.code == ExitCode.REMOTE_ERROR
    assert json.loads(result.out)["errors"] == 5
    assert "5 of 5 calls failed (first: Method 'nope' not found [404])" in result.err


def test_args_must_be_an_ejson_array(served: ServerThread, ddp: Any) -> None:
    assert ddp("bench", served.url, "--args", "[1,").code == ExitCode.USAGE
    assert ddp("bench", served.url, "--args", '{"a": 1}').code == ExitCode.USAGE


def test_a_server_that_is_not_there_exits_3(ddp: Any) -> None:
    result = ddp("bench", "ws://127.0.0.1:1/websocket", "--clients", "2", "--timeout", "5")
    assert result.code == ExitCode.CONNECTION


def test_percentiles_are_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert [percentile(values, q) for q in (0.5, 0.9, 0.99, 1.0)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([], 0.5) == 0.0


def test_the_progress_bar_and_table_on_a_terminal(served: ServerThread) -> None:
    code, drawn = run_in_terminal("bench", served.url, "--clients", "2", "--calls", "20")
    assert code == 0, drawn
    assert "calls/s" in drawn and "latency p99" in drawn
