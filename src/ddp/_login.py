"""Login arguments and results, resume-token freshness, and the failure a client ends with.

Pure functions: what both clients send as ``login``'s argument, how they read its result,
whether a stored token may still be used, which error a refused login raises, and the error
of a client that gave up for good.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict

from ddp.auth import LoginResult, password_login_params, resume_login_params
from ddp.exceptions import (
    ConnectionFailedError,
    DDPError,
    InvocationFailedError,
    LoginError,
    MethodError,
    ProtocolError,
    RateLimitedError,
    RemoteError,
)

__all__ = [
    "TOKEN_EXPIRY_MARGIN",
    "LoginWays",
    "as_login_error",
    "login_params",
    "parse_login_result",
    "permanent_failure",
    "token_is_usable",
]

TOKEN_EXPIRY_MARGIN = 60.0
"""A resume token expiring within this many seconds is not used: the login would race the
expiry and fail with "Your session has expired" anyway."""


class LoginWays(TypedDict, total=False):
    """The keyword ways of logging in that ``login()`` takes besides ``user``/``password``
    (see :func:`login_params`)."""

    email: str | None
    token: str | None
    code: str | None
    params: Mapping[str, Any] | None


def permanent_failure(failure: DDPError | None, url: str) -> DDPError:
    """Return the error a client raises for good once its core has given up (status FAILED).

    Args:
        failure: The core's :attr:`ddp.protocol.ClientProtocol.failure`: a
            :class:`ddp.VersionNegotiationError` or a :class:`ddp.ConnectionFailedError`.
        url: The server, named in the message.
    """
    if failure is None:  # the core reports FAILED only with a failure; stay typed regardless
        return ConnectionFailedError(f"cannot connect to {url}: the client gave up")
    error = type(failure)(f"cannot connect to {url}: {failure}")
    error.__cause__ = failure
    return error


def login_params(
    *,
    user: str | None = None,
    password: str | bytes | dict[str, Any] | None = None,
    email: str | None = None,
    token: str | None = None,
    code: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the argument of Meteor's ``login`` method for ``client.login(...)``.

    Exactly one way of logging in must be given: ``user=`` (a username, or an email when it
    contains ``@``) or ``email=`` with ``password=``, or ``token=`` (a resume token), or
    ``params=``: the whole argument, as a custom login handler on the server expects it
    (sent as given, EJSON-encoded).

    Raises:
        TypeError: The combination of arguments is not one of the above.
    """
    if params is not None:
        if any(x is not None for x in (user, email, password, token, code)):
            raise TypeError("login(params=...) takes no user, email, password, token or code")
        if not isinstance(params, Mapping):
            raise TypeError(f"login params must be a mapping, not {type(params).__name__}")
        return dict(params)
    if token is not None:
        if any(x is not None for x in (user, email, password, code)):
            raise TypeError("login(token=...) takes no user, email, password or code")
        return resume_login_params(token)
    if password is None:
        raise TypeError("login() needs password= with user= or email=, or token=")
    if (user is None) == (email is None):
        raise TypeError("login() needs exactly one of user= or email= with password=")
    return password_login_params(user=user, email=email, password=password, code=code)


def parse_login_result(result: Any) -> LoginResult:
    """Turn the result of a successful ``login`` into a :class:`ddp.auth.LoginResult`.

    ``tokenExpires`` may be an aware ``datetime`` (EJSON-decoded), ``{"$date": ms}``, a
    number of milliseconds since the epoch, or missing.

    Raises:
        ProtocolError: The result lacks a string ``id`` or ``token``.
    """
    if not isinstance(result, dict):
        raise ProtocolError(f"login result is not an object: {type(result).__name__}")
    user_id = result.get("id")
    token = result.get("token")
    if not isinstance(user_id, str) or not isinstance(token, str) or not token:
        raise ProtocolError("login result lacks a string 'id' and 'token'")
    expires = _as_datetime(result.get("tokenExpires"))
    kind = result.get("type")
    return LoginResult(
        id=user_id,
        token=token,
        token_expires=expires,
        type=kind if isinstance(kind, str) else None,
    )


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, dict) and set(value) == {"$date"}:
        value = value["$date"]
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def token_is_usable(
    result: LoginResult, now: datetime, margin: float = TOKEN_EXPIRY_MARGIN
) -> bool:
    """Whether ``result.token`` may be used to resume at wall-clock time ``now``.

    A token without a known expiry is usable; one expiring within ``margin`` seconds is not.
    """
    if result.token_expires is None:
        return True
    return (result.token_expires - now).total_seconds() > margin


def as_login_error(error: BaseException) -> BaseException:
    """Return ``error`` as a :class:`ddp.LoginError` when the server refused a login.

    Connection-level errors (closed, failed, timeout) pass through unchanged.
    """
    # A rate limit or an invocation-failed keeps its own, more useful type.
    if isinstance(error, LoginError | RateLimitedError | InvocationFailedError):
        return error
    if isinstance(error, MethodError) or type(error) is RemoteError:
        converted = LoginError(error.error, error.reason, error.details)
        converted.__cause__ = error
        return converted
    return error
