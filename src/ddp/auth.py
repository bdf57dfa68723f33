"""Login helpers shared by the clients and the test server: Meteor's password digest.

Meteor's client never sends a password in clear: it sends the lowercase hex SHA-256 of the
UTF-8 bytes of the password, as ``{"digest": ..., "algorithm": "sha-256"}``.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["hash_password", "password_login_params", "resume_login_params"]


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
