"""Redaction of secrets in DDP message texts, for every log line that shows a frame.

Frame tracing (``ddp.client.frames`` at DEBUG) and the command line's traces show what goes
over the wire; a login carries a password digest or a resume token, and a login result carries
a new token. :func:`redact` masks the values of those fields in the JSON text itself, without
parsing it, so it also works on a frame cut short for the log and on SockJS frames, whose
messages are JSON strings inside a JSON array (their quotes are escaped).
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "SECRET_FIELDS", "redact"]

REDACTED = "***"
"""What a secret value is replaced with."""

SECRET_FIELDS: tuple[str, ...] = (
    "digest",
    "hashedToken",
    "newPassword",
    "oldPassword",
    "password",
    "resume",
    "token",
)
"""Field names whose string values are secrets wherever they appear in a message."""

_NAMES = "|".join(SECRET_FIELDS)
# A field of a plain message: "name": "value" (the value may be cut short at the end).
_PLAIN = re.compile(r'("(?:' + _NAMES + r')"\s*:\s*)"(?:[^"\\]|\\.)*"?')
# The same field inside a SockJS frame, where the message is itself a JSON string:
# \"name\":\"value\" (the value's own quotes are escaped as \\\").
_ESCAPED = re.compile(
    r'(\\"(?:' + _NAMES + r')\\"\s*:\s*)\\"'
    # inner text: a plain character, an outer escape other than \" and \\, or an inner
    # escape (an escaped backslash, then the escaped character)
    r'(?:[^"\\]|\\[^"\\]|\\\\(?:\\.|[^\\]))*'
    r'(?:\\"|$)'
)


def redact(text: str) -> str:
    """Return ``text`` (a DDP message or a SockJS frame) with every secret value masked.

    The values of :data:`SECRET_FIELDS` become ``"***"``. Text without any of them is
    returned as is.

    >>> redact('{"msg":"method","method":"login","params":[{"resume":"abc"}],"id":"1"}')
    '{"msg":"method","method":"login","params":[{"resume":"***"}],"id":"1"}'
    """
    if '"' not in text:
        return text
    text = _PLAIN.sub(r'\1"' + REDACTED + '"', text)
    if '\\"' in text:
        text = _ESCAPED.sub(r'\1\\"' + REDACTED + r'\\"', text)
    return text
