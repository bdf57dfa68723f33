"""examples/bot.py against ddp.server (the demo app): it answers, survives a dropped
connection and a server restart, and a restarted bot logs in with its token file."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from sync_support import FAST

import ddp
from ddp.asyncio import Stream
from ddp.demo import DEMO_PASSWORD, build_demo_server
from ddp.server import Server

TIMEOUT = 10.0
BOT = Path(__file__).resolve().parents[2] / "examples" / "bot.py"


def _load_bot() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ddp_example_bot", BOT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def _next_from(stream: Stream, username: str) -> Any:
    """The next chat message of ``username`` on ``stream``."""
    while True:
        _, args = await stream.get(TIMEOUT)
        if args[0]["u"]["username"] == username:
            return args[0]


async def test_the_bot_answers_survives_drops_and_logs_in_with_its_token(
    tmp_path: Path,
) -> None:
    bot = _load_bot()
    server = Server(port=0, heartbeat_interval=0)
    build_demo_server(server)
    joined: list[str | None] = []
    changed = asyncio.Event()

    def allow_read(sub: Any, event_name: str, args: list[Any]) -> bool:
        # Called as each subscription registers: deterministic, unlike polling a count.
        joined.append(sub.user_id)
        changed.set()
        return True

    server.stream("room-messages", allow_read=allow_read)
    token_file = str(tmp_path / "bot-token.json")

    async def followed_by(*user_ids: str | None) -> None:
        async with asyncio.timeout(TIMEOUT):
            while not set(user_ids) <= set(joined):
                changed.clear()
                await changed.wait()

    async with server, ddp.AsyncClient(server.url, reconnect=FAST) as alice:
        await alice.login(user="alice", password=DEMO_PASSWORD)
        room = alice.stream(bot.STREAM, "GENERAL")
        await room.ready(TIMEOUT)

        async def start_bot(password: str | None, replies: int) -> asyncio.Task[int]:
            ready = asyncio.Event()
            task = asyncio.create_task(
                bot.run_bot(
                    server.url,
                    "GENERAL",
                    user="bot",
                    password=password,
                    token_file=token_file,
                    max_replies=replies,
                    ready=ready,
                )
            )
            await asyncio.wait_for(ready.wait(), TIMEOUT)
            return task

        task = await start_bot(DEMO_PASSWORD, 3)

        async def ask(text: str) -> None:
            await alice.call("sendMessage", {"rid": "GENERAL", "msg": "!echo " + text})
            assert (await _next_from(room, "bot"))["msg"] == text

        await alice.call("sendMessage", {"rid": "GENERAL", "msg": "no command"})
        await ask("one")
        server.faults.drop_all()  # both clients resume their sessions
        await ask("two")
        bot_id = server.accounts.find_user(username="bot").id  # type: ignore[union-attr]
        joined.clear()
        server.faults.restart()  # new sessions: log in again (token), re-subscribe
        await followed_by(alice.user_id, bot_id)
        await ask("three")
        assert await asyncio.wait_for(task, TIMEOUT) == 3
        assert Path(token_file).stat().st_size > 0  # noqa: ASYNC240

        # Restarted without a password, the bot logs in with the token it saved.
        again = await start_bot(None, 1)
        await ask("four")
        assert await asyncio.wait_for(again, TIMEOUT) == 1


def test_reply_to_ignores_its_own_messages_and_non_commands() -> None:
    bot = _load_bot()
    assert bot.reply_to({"msg": "!echo hi", "u": {"username": "alice"}}, "bot") == "hi"
    assert bot.reply_to({"msg": "!echo hi", "u": {"username": "bot"}}, "bot") is None
    assert bot.reply_to({"msg": "hello"}, "bot") is None
    assert bot.reply_to("garbage", "bot") is None
