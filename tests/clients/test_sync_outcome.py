"""``ddp.sync._calls.Outcome`` behaves as the part of ``concurrent.futures.Future`` it replaces.

Every check runs on both types, so a difference shows as one of the two failing.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import pytest

from ddp.sync._calls import Outcome
from ddp.sync._flag import Flag

KINDS = [concurrent.futures.Future, Outcome]


@pytest.mark.parametrize("kind", KINDS)
def test_result_then_state(kind: Any) -> None:
    f = kind()
    assert not f.done() and not f.cancelled()
    with pytest.raises(TimeoutError):
        f.result(0)
    f.set_result(7)
    assert f.done() and not f.cancelled()
    assert f.result() == 7 and f.result(0) == 7 and f.exception() is None
    assert f.cancel() is False
    with pytest.raises(concurrent.futures.InvalidStateError):
        f.set_result(8)
    with pytest.raises(concurrent.futures.InvalidStateError):
        f.set_exception(ValueError())


@pytest.mark.parametrize("kind", KINDS)
def test_exception(kind: Any) -> None:
    f = kind()
    error = ValueError("no")
    f.set_exception(error)
    assert f.exception() is error
    with pytest.raises(ValueError, match="no"):
        f.result()


@pytest.mark.parametrize("kind", KINDS)
def test_cancel(kind: Any) -> None:
    f = kind()
    assert f.cancel() is True
    assert f.cancel() is True  # cancelled before: still True
    assert f.done() and f.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        f.result()
    with pytest.raises(concurrent.futures.CancelledError):
        f.exception()
    with pytest.raises(concurrent.futures.InvalidStateError):
        f.set_result(1)


@pytest.mark.parametrize("kind", KINDS)
def test_callbacks_run_once_when_set_or_at_once_when_done(kind: Any) -> None:
    f = kind()
    seen: list[Any] = []
    f.add_done_callback(seen.append)
    f.add_done_callback(lambda _: 1 / 0)  # logged, not raised; later callbacks still run
    f.add_done_callback(seen.append)
    f.set_result(1)
    assert seen == [f, f]
    f.add_done_callback(seen.append)
    assert seen == [f, f, f]


@pytest.mark.parametrize("kind", KINDS)
def test_every_waiter_wakes(kind: Any) -> None:
    f = kind()
    started = threading.Barrier(9)
    results: list[Any] = []

    def wait() -> None:
        started.wait(10)
        results.append(f.result(10))

    threads = [threading.Thread(target=wait) for _ in range(8)]
    for t in threads:
        t.start()
    started.wait(10)
    f.set_result("x")
    for t in threads:
        t.join(10)
    assert results == ["x"] * 8


def _race(kind: Any) -> None:
    f = kind()
    go = threading.Barrier(2)
    outcomes: list[str] = []

    def settle() -> None:
        go.wait(10)
        try:
            f.set_result(1)
            outcomes.append("set")
        except concurrent.futures.InvalidStateError:
            outcomes.append("late")

    def cancel() -> None:
        go.wait(10)
        outcomes.append("cancelled" if f.cancel() else "not cancelled")

    threads = [threading.Thread(target=settle), threading.Thread(target=cancel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) in (["not cancelled", "set"], ["cancelled", "late"])
    assert f.cancelled() == ("cancelled" in outcomes)


@pytest.mark.parametrize("kind", KINDS)
def test_one_of_racing_settlers_wins(kind: Any) -> None:
    for _ in range(200):
        _race(kind)


@pytest.mark.parametrize("kind", [threading.Event, Flag])
def test_flag_behaves_as_an_event(kind: Any) -> None:
    flag = kind()
    assert not flag.is_set()
    assert flag.wait(0) is False
    flag.set()
    flag.set()  # twice: no error
    assert flag.is_set()
    assert flag.wait(0) is True and flag.wait(None) is True
    assert flag.is_set()  # waiting does not clear it
    flag.clear()
    flag.clear()
    assert not flag.is_set() and flag.wait(0) is False
    waiting = threading.Thread(target=lambda: flag.wait(10))
    waiting.start()
    flag.set()
    waiting.join(10)
    assert not waiting.is_alive() and flag.is_set()
