"""The README's Python examples, run as written against a real ``ddp.server``.

Each ```` ```python ```` block of README.md is run in a fresh namespace. Blocks that talk to
``http://localhost:3000`` (where the README tells readers to run ``ddp serve``) are pointed
at a server on a free port, started in a thread with what ``ddp serve`` offers.
A block that defines ``async def test_...`` is a test for the reader to copy: it is run too.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ddp.demo import build_demo_server
from ddp.server import Server, ServerThread, server_in_thread

README = Path(__file__).resolve().parent.parent / "README.md"
README_URL = "http://localhost:3000"

_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _blocks() -> list[str]:
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo() -> Iterator[ServerThread]:
    server = Server(heartbeat_interval=0)
    build_demo_server(server)  # what `ddp serve` runs
    with server_in_thread(server) as thread:
        yield thread


def _run(source: str, url: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(source.replace(README_URL, url), str(README), "exec"), namespace)
    return namespace


def test_readme_has_the_examples_this_file_runs() -> None:
    blocks = _blocks()
    assert len(blocks) >= 4
    assert sum(README_URL in block for block in blocks) >= 3
    assert "`ddp serve`" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_example_runs(
    index: int, demo: ServerThread, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _blocks()[index]
    namespace = _run(source, demo.url)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)]
    for test in tests:
        asyncio.run(test())
    out = capsys.readouterr().out
    # The printed results the README's comments promise.
    lines = out.splitlines()
    if 'print(client.call("add", 2, 40))' in source:
        assert lines[0] == "42"
        assert sum(line.startswith("added ") for line in lines) == 4  # 3 tasks, then "hi"
    if "client.stream(" in source:
        assert "GENERAL hello" in lines
        assert "update stream-room-messages changed id" in lines
    if "asyncio.run(main())" in source:
        assert lines[0] == "hi"
        assert lines[-1].startswith("SubscriptionReady(")
