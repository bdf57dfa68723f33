"""Meteor-style accounts for the test server: users in code, ``login``/``logout``, resume tokens.

``login`` accepts ``{user: {username|email|id}, password: {digest, algorithm: "sha-256"}}``
(or a plain-text password string), ``{resume: token}``, and whatever a custom login handler
accepts. The result is Meteor's ``{id, token, tokenExpires, type}``; errors are Meteor's
(ambiguous 403 for wrong credentials, as Meteor's default ``ambiguousErrorMessages``).

Every user also has a document in the server's ``users`` collection (``username``,
``emails`` as ``[{address, verified}]``, ``profile``, ``createdAt``; the password digest and
tokens live only here, never in a document). As Meteor's accounts do, a publication without
a name publishes the logged-in user's ``username``, ``emails`` and ``profile`` to every
connection, so that a client's ``users`` collection holds its user after ``login`` and loses
it on ``logout``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ddp.auth import hash_password
from ddp.exceptions import InvalidStateError, MethodError
from ddp.server._util import call_maybe_async, random_id

if TYPE_CHECKING:
    from ddp.server.collection import Cursor, ServerCollection
    from ddp.server.method import MethodContext
    from ddp.server.publication import Subscription

__all__ = ["PUBLISHED_USER_FIELDS", "Accounts", "LoginHandler", "User"]

LoginHandler = Callable[["MethodContext", dict[str, Any]], Any]
"""``handler(ctx, params) -> user_id | None`` (plain or async): ``None`` means "not mine";
raise :class:`ddp.MethodError` to refuse."""

BAD_CREDENTIALS = "Something went wrong. Please check your credentials."
LOGGED_OUT = "You've been logged out by the server. Please log in again."
EXPIRED = "Your session has expired. Please log in again."

DEFAULT_TOKEN_LIFETIME = 90 * 24 * 3600.0

PUBLISHED_USER_FIELDS = ("username", "emails", "profile")
"""The fields of its own user document that a logged-in connection receives (Meteor's)."""


@dataclass
class User:
    """A user added with :meth:`Accounts.add_user`.

    Attributes:
        id: The user id.
        username: The username, or ``None``.
        emails: The email addresses.
        digest: Lowercase hex SHA-256 of the password (what Meteor's client sends), or ``None``.
        profile: The user's profile (any JSON object), published to the user.
    """

    id: str
    username: str | None
    emails: list[str] = field(default_factory=list)
    digest: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Token:
    user_id: str
    expires: float


def _hash_token(token: str) -> str:
    # Meteor stores only the SHA-256 (base64) of a login token, never the token itself.
    return base64.b64encode(hashlib.sha256(token.encode()).digest()).decode()


def _match_failed() -> MethodError:
    return MethodError(400, "Match failed")


class Accounts:
    """Users, login handlers and resume tokens of one server (``server.accounts``).

    Args:
        token_lifetime: Seconds a login token stays valid (Meteor: 90 days).
        clock: Wall-clock seconds since the epoch; replace it in tests to expire tokens.
        collection: The collection that holds the users' documents (the server passes its
            ``users`` collection); ``None`` keeps users only here.
    """

    def __init__(
        self,
        *,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        clock: Callable[[], float] = time.time,
        collection: ServerCollection | None = None,
    ) -> None:
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.collection = collection
        self.users: dict[str, User] = {}
        self._tokens: dict[str, _Token] = {}
        self._handlers: list[tuple[str, LoginHandler]] = []

    # -- users ---------------------------------------------------------------------------

    def add_user(
        self,
        username: str | None = None,
        password: str | bytes | dict[str, Any] | None = None,
        email: str | None = None,
        *,
        user_id: str | None = None,
        profile: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a user and return its id.

        The user's document (without any secret) goes into the ``users`` collection; change
        it there (``server.collection("users").update(...)``) and a logged-in connection
        sees the change.

        Raises:
            InvalidStateError: no username nor email, or one of them is already taken.
        """
        if username is None and email is None:
            raise InvalidStateError("a user needs a username or an email")
        for user in self.users.values():
            if username is not None and user.username == username:
                raise InvalidStateError(f"username {username!r} is taken")
            if email is not None and email.lower() in (e.lower() for e in user.emails):
                raise InvalidStateError(f"email {email!r} is taken")
        uid = user_id or random_id()
        if uid in self.users:
            raise InvalidStateError(f"user id {uid!r} is taken")
        digest = hash_password(password)["digest"] if password is not None else None
        self._create(User(uid, username, [email] if email else [], digest, dict(profile or {})))
        return uid

    def _create(self, user: User) -> None:
        self.users[user.id] = user
        if self.collection is not None and self.collection.find_one(user.id) is None:
            doc: dict[str, Any] = {
                "_id": user.id,
                "createdAt": _to_datetime(self.clock()),
                "emails": [{"address": e, "verified": False} for e in user.emails],
                "profile": dict(user.profile),
            }
            if user.username is not None:
                doc["username"] = user.username
            self.collection.insert(doc)

    def publish_user(self, sub: Subscription) -> Cursor | None:
        """The publication without a name that sends a connection its own user document
        (only :data:`PUBLISHED_USER_FIELDS`), re-run whenever the connection logs in or out.
        """
        if sub.user_id is None or self.collection is None:
            return None
        return self.collection.find(sub.user_id, fields=dict.fromkeys(PUBLISHED_USER_FIELDS, 1))

    def find_user(
        self, *, username: str | None = None, email: str | None = None, user_id: str | None = None
    ) -> User | None:
        """Return the user with that username, email (case-insensitive) or id, or ``None``."""
        if user_id is not None:
            return self.users.get(user_id)
        for user in self.users.values():
            if username is not None and user.username == username:
                return user
            if email is not None and email.lower() in (e.lower() for e in user.emails):
                return user
        return None

    # -- tokens ----------------------------------------------------------------------------

    def issue_token(self, user_id: str) -> tuple[str, datetime]:
        """Create a login token for ``user_id``; return it with its expiry (aware UTC).

        Raises:
            InvalidStateError: no such user.
        """
        if user_id not in self.users:
            raise InvalidStateError(f"no user {user_id!r}")
        token = secrets.token_urlsafe(32)
        expires = self.clock() + self.token_lifetime
        self._tokens[_hash_token(token)] = _Token(user_id, expires)
        return token, _to_datetime(expires)

    def revoke_tokens(self, user_id: str | None = None) -> None:
        """Forget the tokens of ``user_id`` (all tokens with ``None``): their next resume
        gets "You've been logged out by the server"."""
        if user_id is None:
            self._tokens.clear()
            return
        for key in [k for k, t in self._tokens.items() if t.user_id == user_id]:
            del self._tokens[key]

    # -- login -----------------------------------------------------------------------------

    def add_login_handler(self, handler: LoginHandler, name: str = "custom") -> None:
        """Add a login handler, tried before the built-in ones.

        ``handler(ctx, params)`` returns a user id to log in, ``None`` when the params are
        not its kind, or raises :class:`ddp.MethodError`. ``name`` becomes the result's
        ``type``.
        """
        self._handlers.append((name, handler))

    async def login(self, ctx: MethodContext, params: Any) -> dict[str, Any]:
        """The ``login`` method."""
        if not isinstance(params, Mapping):
            raise _match_failed()
        params = dict(params)
        for name, handler in self._handlers:
            user_id = await call_maybe_async(handler, ctx, params)
            if user_id is not None:
                if user_id not in self.users:
                    self._create(User(user_id, None))
                return self._log_in(ctx, user_id, name)
        if "resume" in params:
            return self._resume(ctx, params["resume"])
        if "password" in params:
            return self._password(ctx, params)
        raise MethodError(400, "Unrecognized options for login request")

    def logout(self, ctx: MethodContext) -> None:
        """The ``logout`` method: forget the connection's token and log it out."""
        token = ctx._session.login_token
        if token is not None:
            self._tokens.pop(_hash_token(token), None)
            ctx._session.login_token = None
        ctx.set_user_id(None)

    def _password(self, ctx: MethodContext, params: dict[str, Any]) -> dict[str, Any]:
        selector, password = params.get("user"), params["password"]
        if not isinstance(selector, Mapping) or len(selector) != 1:
            raise _match_failed()
        ((key, value),) = selector.items()
        if key not in ("username", "email", "id") or not isinstance(value, str):
            raise _match_failed()
        try:
            digest = hash_password(password)["digest"]
        except TypeError:
            raise _match_failed() from None
        kwargs = {"user_id" if key == "id" else key: value}
        user = self.find_user(**kwargs)
        if user is None or user.digest is None or not hmac.compare_digest(user.digest, digest):
            raise MethodError(403, BAD_CREDENTIALS)
        return self._log_in(ctx, user.id, "password")

    def _resume(self, ctx: MethodContext, token: Any) -> dict[str, Any]:
        if not isinstance(token, str):
            raise _match_failed()
        stored = self._tokens.get(_hash_token(token))
        if stored is None or stored.user_id not in self.users:
            raise MethodError(403, LOGGED_OUT)
        if self.clock() >= stored.expires:
            raise MethodError(403, EXPIRED)
        return self._result(ctx, stored.user_id, token, stored.expires, "resume")

    def _log_in(self, ctx: MethodContext, user_id: str, kind: str) -> dict[str, Any]:
        token, _ = self.issue_token(user_id)
        return self._result(ctx, user_id, token, self._tokens[_hash_token(token)].expires, kind)

    def _result(
        self, ctx: MethodContext, user_id: str, token: str, expires: float, kind: str
    ) -> dict[str, Any]:
        ctx._session.login_token = token
        ctx.set_user_id(user_id)
        return {"id": user_id, "token": token, "tokenExpires": _to_datetime(expires), "type": kind}


def _to_datetime(seconds: float) -> datetime:
    # EJSON dates carry milliseconds: truncate so that the value round-trips exactly.
    return datetime.fromtimestamp(int(seconds * 1000) / 1000, tz=UTC)
