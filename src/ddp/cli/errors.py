"""Exit statuses of the ``ddp`` command and the one-line message for each failure.

=====  =====================================================================
Code   Meaning
=====  =====================================================================
0      success
1      the server answered with an error (method or subscription): error,
       reason and details are shown
2      usage: a bad option, argument, URL or EJSON value
3      connection: the server could not be reached, or the connection was lost
4      login refused (password, token)
5      timeout: a call, subscription, ping or ``--count`` did not finish in time
70     internal error (a bug: please report it with ``-v`` output)
130    interrupted (Ctrl-C)
141    stdout was closed early (e.g. ``ddp ping URL | head -1``); nothing is printed
=====  =====================================================================
"""

from __future__ import annotations

import enum

from ddp import ejson
from ddp.exceptions import (
    ConnectionClosedError,
    DDPError,
    DDPTimeoutError,
    EJSONError,
    LoginError,
    MethodError,
    ProtocolError,
    RemoteError,
)

__all__ = ["CLIError", "ExitCode", "describe"]


class ExitCode(enum.IntEnum):
    """The documented exit statuses of the ``ddp`` command."""

    OK = 0
    REMOTE_ERROR = 1
    USAGE = 2
    CONNECTION = 3
    LOGIN = 4
    TIMEOUT = 5
    INTERNAL = 70
    INTERRUPTED = 130
    CLOSED_PIPE = 141


class CLIError(Exception):
    """A failure the command reports as one line on stderr, with its exit status."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _remote(exc: RemoteError) -> str:
    # Error, reason AND details: details often carry what a user needs to fix the call
    # (Meteor's validation errors list the offending fields there).
    text = f"{exc.reason} [{exc.error}]" if exc.reason else f"[{exc.error}]"
    if exc.details is not None:
        try:
            details = ejson.dumps(exc.details)
        except EJSONError:
            details = repr(exc.details)
        text += f" details: {details}"
    return text


def describe(exc: DDPError) -> CLIError:
    """Map an exception of the client to the command's message and exit status."""
    if isinstance(exc, LoginError):
        return CLIError(f"login refused: {_remote(exc)}", ExitCode.LOGIN)
    if isinstance(exc, RemoteError):
        # RateLimitedError is both kinds; the method reading is the common one.
        what = "method" if isinstance(exc, MethodError) else "subscription"
        return CLIError(f"{what} error: {_remote(exc)}", ExitCode.REMOTE_ERROR)
    if isinstance(exc, DDPTimeoutError):
        return CLIError(f"timed out: {exc}", ExitCode.TIMEOUT)
    if isinstance(exc, ConnectionClosedError | ProtocolError):
        return CLIError(f"connection failed: {exc}", ExitCode.CONNECTION)
    if isinstance(exc, EJSONError):
        return CLIError(f"bad EJSON: {exc}", ExitCode.USAGE)
    return CLIError(f"{type(exc).__name__}: {exc}", ExitCode.INTERNAL)
