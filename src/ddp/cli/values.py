"""Command-line arguments as EJSON values, and EJSON values as output.

An argument is EJSON text when it *starts like* JSON: ``[``, ``{``, ``"``, a digit or ``-``,
or is exactly ``true``, ``false`` or ``null``. Such text must parse, so a truncated
``'[1,2'`` is an error and not silently sent as a string. Any other word is a string, so
``ddp call URL greet alice`` sends ``"alice"``; to send the string ``"42"``, quote it as
JSON: ``'"42"'``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from ddp import ejson
from ddp.cli.errors import CLIError, ExitCode
from ddp.exceptions import EJSONError

__all__ = ["dump_value", "looks_like_json", "parse_arg", "parse_args", "write_line"]

_JSON_STARTS = frozenset('[{"-0123456789')
_JSON_WORDS = frozenset({"true", "false", "null"})


def looks_like_json(text: str) -> bool:
    """Whether ``text`` is meant as JSON (and so must parse) rather than a bare word."""
    stripped = text.strip()
    return bool(stripped) and (stripped[0] in _JSON_STARTS or stripped in _JSON_WORDS)


def parse_arg(text: str) -> Any:
    """Return the EJSON value of one argument (a bare word is a string).

    Raises:
        CLIError: text that starts like JSON does not parse (exit status 2).
    """
    if not looks_like_json(text):
        return text
    try:
        return ejson.loads(text)
    except EJSONError as exc:
        hint = " (an unknown option?)" if text.startswith("--") else ""
        raise CLIError(
            f"argument {_shorten(text)!r} is not valid EJSON{hint}: {exc}", ExitCode.USAGE
        ) from None


def parse_args(texts: Iterable[str]) -> list[Any]:
    """Return the EJSON values of several arguments (see :func:`parse_arg`)."""
    return [parse_arg(text) for text in texts]


def dump_value(value: Any, *, pretty: bool) -> str:
    """Return ``value`` as EJSON text: indented when ``pretty``, else one compact line."""
    return ejson.dumps(value, indent=2 if pretty else None)


def write_line(text: str, stream: TextIO | None = None) -> None:
    """Write one line and flush, so that a pipe sees each event as it happens."""
    out = sys.stdout if stream is None else stream
    out.write(text + "\n")
    out.flush()


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
