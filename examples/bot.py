"""A chat bot on ``ddp`` (asyncio), Rocket.Chat style: it follows a room's message stream and
answers ``!echo <text>`` with a method call. It survives dropped connections and server
restarts (the client reconnects, logs in again with its token and re-subscribes by itself).

Run it against any server that publishes Rocket.Chat's ``stream-room-messages`` and has a
``sendMessage`` method; ``ddp serve`` (the demo server) has both, with a ``bot`` user::

    ddp serve --port 3000 &
    BOT_PASSWORD=secret python examples/bot.py ws://127.0.0.1:3000/websocket GENERAL

Environment: ``BOT_USER`` (default ``bot``), ``BOT_PASSWORD``, and ``BOT_TOKEN_FILE``: when
set, the resume token is kept in that file (:class:`ddp.token_file.FileTokenStore`), so a bot
that restarts logs in with its token and needs its password only the first time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any

import ddp
from ddp.auth import MemoryTokenStore, TokenStore
from ddp.token_file import FileTokenStore

logger = logging.getLogger("bot")

STREAM = "stream-room-messages"
"""Rocket.Chat's stream of new messages, one event name per room id."""


def reply_to(message: Any, me: str) -> str | None:
    """The bot's answer to one chat message, or ``None`` (not a command, or its own)."""
    if not isinstance(message, dict):
        return None
    author = message.get("u")
    if isinstance(author, dict) and author.get("username") == me:
        return None  # never answer ourselves
    text = message.get("msg")
    if isinstance(text, str) and text.startswith("!echo "):
        return text.removeprefix("!echo ")
    return None


async def run_bot(
    url: str,
    room: str,
    *,
    user: str,
    password: str | None,
    token_file: str | None = None,
    max_replies: int | None = None,
    ready: asyncio.Event | None = None,
) -> int:
    """Follow ``room`` and answer commands until cancelled (or after ``max_replies``).

    Returns how many replies were sent. ``ready`` is set once the stream is followed.
    """
    store: TokenStore = FileTokenStore(token_file) if token_file else MemoryTokenStore()
    replies = 0
    async with ddp.AsyncClient(url, token_store=store) as client:
        if client.user_id is None:  # no usable stored token: log in with the password
            if password is None:
                raise SystemExit("no stored token: set BOT_PASSWORD")
            await client.login(user=user, password=password)
        logger.info("logged in as %s (%s)", user, client.user_id)
        async with client.stream(STREAM, room) as messages:
            if ready is not None:
                ready.set()
            async for _, args in messages:
                answer = reply_to(args[0] if args else None, user)
                if answer is None:
                    continue
                try:
                    await client.call("sendMessage", {"rid": room, "msg": answer}, timeout=30)
                except ddp.DDPError as exc:  # a refusal or a timeout: log it, keep going
                    logger.warning("could not answer: %s", exc)
                    continue
                replies += 1
                if max_replies is not None and replies >= max_replies:
                    break
    return replies


def main() -> None:
    """The command line: ``python examples/bot.py URL ROOM``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("room")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(
        run_bot(
            args.url,
            args.room,
            user=os.environ.get("BOT_USER", "bot"),
            password=os.environ.get("BOT_PASSWORD"),
            token_file=os.environ.get("BOT_TOKEN_FILE"),
        )
    )


if __name__ == "__main__":
    main()
