"""``ddp demo``: the README's first command, on a terminal and off one."""

from __future__ import annotations

from ddp.demo import run_demo

from .conftest import run_ddp, run_in_terminal


def test_the_story_runs_end_to_end() -> None:
    lines: list[str] = []
    changes: list[str] = []
    run_demo(lines.append, on_changes=lambda batch: changes.extend(c.op for c in batch))
    text = "\n".join(lines)
    assert "add(2, 40) = 42" in text
    assert "live query: item" in text
    assert "session resumed" in text
    assert "new session, logged in again" in text
    assert "stream-room-messages GENERAL: ['hello', 'hello', 'bye']" in text
    assert lines[-1] == "done."
    assert {"added", "changed", "removed"} <= set(changes)


def test_ddp_demo_without_a_terminal_prints_plain_lines() -> None:
    done = run_ddp("demo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "done."
    assert "  ~ items " in done.stdout and "  - items " in done.stdout
    assert "\x1b[" not in done.stdout  # no terminal codes in a pipe


def test_ddp_demo_on_a_terminal_draws_the_live_view() -> None:
    code, drawn = run_in_terminal("demo", "--fast")
    assert code == 0, drawn
    assert "ddp demo" in drawn and "done." in drawn and "subscription 'items'" in drawn
