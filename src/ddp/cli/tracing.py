"""``-v``: the client's frames and log lines on stderr, with secrets blanked out.

Frames carry secrets: a password's digest, resume tokens in ``login`` and in its result.
Every record passes through :func:`redact` before it is written; the secrets the user gave
on the command line (password, token, header values) are also blanked wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

__all__ = ["REDACTED", "redact", "tracing"]

from ddp._redact import REDACTED
from ddp._redact import redact as redact_frame

# Besides the fields the client itself redacts in every trace (ddp._redact: the password
# digest, resume tokens), the values of common custom login handlers' fields.
_SECRET_KEYS = (
    "authToken",
    "ldapPass",
    "secret",
    "apiKey",
    "code",
)
_SECRET_VALUE = re.compile(
    r'("(?:' + "|".join(_SECRET_KEYS) + r')"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE
)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Return ``text`` with secret JSON values and the given literal ``secrets`` blanked."""
    text = redact_frame(text)
    text = _SECRET_VALUE.sub(r'\1"' + REDACTED + '"', text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class _RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__("%(relativeCreated)8.1f ms %(name)s %(levelname)s %(message)s")
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


@contextmanager
def tracing(verbose: bool, secrets: Sequence[str] = ()) -> Iterator[None]:
    """While inside, log ``ddp``'s records at DEBUG (frames included) to stderr, redacted.

    The logger's level and handlers are restored afterwards, so running the command
    in-process (tests, ``CliRunner``) leaves the process's logging as it found it.
    """
    if not verbose:
        yield
        return
    logger = logging.getLogger("ddp")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(secrets))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
