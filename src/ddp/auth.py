"""Login helpers shared by the clients and the test server: Meteor's password digest,
login results and resume-token storage.

Meteor's client never sends a password in clear: it sends the lowercase hex SHA-256 of the
UTF-8 bytes of the password, as ``{"digest": ..., "algorithm": "sha-256"}``.

A successful login yields a :class:`LoginResult`; the clients keep it in a
:class:`TokenStore` (by default a :class:`MemoryTokenStore` per client) under the server's
URL, and log in again with its token after every new session. A persistent store (a file, a
keyring) only has to implement the three methods of :class:`TokenStore`.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "LoginResult",
    "MemoryTokenStore",
    "TokenStore",
    "hash_password",
    "password_login_params",
    "resume_login_params",
]


@dataclass(frozen=True, slots=True)
class LoginResult:
    """What a successful ``login`` returned.

    Attributes:
        id: The user's id.
        token: The resume token (log in again with ``login(token=...)``).
        token_expires: When the token expires (an aware UTC ``datetime``), if the server said.
        type: The login type the server reported (``"password"``, ``"resume"``...), if any.
    """

    id: str
    token: str
    token_expires: datetime | None = None
    type: str | None = None


@runtime_checkable
class TokenStore(Protocol):
    """Where a client keeps its resume token, keyed by the server's URL.

    Methods are called from the client's own loop or thread; a store shared by several
    clients must be thread-safe (:class:`MemoryTokenStore` is).
    """

    def load(self, key: str) -> LoginResult | None:
        """Return the stored login for ``key``, or ``None``."""
        ...

    def save(self, key: str, result: LoginResult) -> None:
        """Store ``result`` for ``key``, replacing any earlier one."""
        ...

    def delete(self, key: str) -> None:
        """Forget the login stored for ``key`` (no error when there is none)."""
        ...


class MemoryTokenStore:
    """A :class:`TokenStore` in memory (the default): tokens live as long as the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, LoginResult] = {}

    def load(self, key: str) -> LoginResult | None:
        """Return the stored login for ``key``, or ``None``."""
        with self._lock:
            return self._tokens.get(key)

    def save(self, key: str, result: LoginResult) -> None:
        """Store ``result`` for ``key``."""
        with self._lock:
            self._tokens[key] = result

    def delete(self, key: str) -> None:
        """Forget the login stored for ``key``."""
        with self._lock:
            self._tokens.pop(key, None)


def hash_password(password: str | bytes | dict[str, Any]) -> dict[str, str]:
    """Return Meteor's password object for ``password``.

    Args:
        password: The password as text (encoded as UTF-8) or bytes, or an already hashed
            ``{"digest": ..., "algorithm": "sha-256"}`` object, which is returned as is.

    Raises:
        TypeError: ``password`` is of another type, or a dict without a SHA-256 digest.
    """
    if isinstance(password, dict):
        digest = password.get("digest")
        if password.get("algorithm") != "sha-256" or not isinstance(digest, str):
            raise TypeError("a pre-hashed password needs 'digest' and algorithm 'sha-256'")
        return {"digest": digest.lower(), "algorithm": "sha-256"}
    if isinstance(password, str):
        password = password.encode("utf-8")
    if not isinstance(password, bytes):
        raise TypeError(f"password must be str, bytes or a digest dict, not {type(password)}")
    return {"digest": hashlib.sha256(password).hexdigest(), "algorithm": "sha-256"}


def password_login_params(
    *,
    user: str | None = None,
    email: str | None = None,
    user_id: str | None = None,
    password: str | bytes | dict[str, Any],
    code: str | None = None,
) -> dict[str, Any]:
    """Build the argument of Meteor's ``login`` method for a password login.

    A ``user`` that contains ``@`` is taken as an email, as Meteor's client does.
    """
    if sum(x is not None for x in (user, email, user_id)) != 1:
        raise TypeError("give exactly one of user=, email= or user_id=")
    selector: dict[str, str]
    if user_id is not None:
        selector = {"id": user_id}
    elif email is not None:
        selector = {"email": email}
    else:
        assert user is not None
        selector = {"email": user} if "@" in user else {"username": user}
    params: dict[str, Any] = {"user": selector, "password": hash_password(password)}
    if code is not None:
        params["code"] = code
    return params


def resume_login_params(token: str) -> dict[str, str]:
    """Build the argument of Meteor's ``login`` method for a resume token."""
    if not isinstance(token, str) or not token:
        raise TypeError("a resume token must be a non-empty string")
    return {"resume": token}
