"""Keep resume tokens in a file, so that a program that restarts logs in without a password.

::

    from ddp.token_file import FileTokenStore

    store = FileTokenStore("~/.config/mybot/ddp-token.json")
    with ddp.Client("wss://chat.example.com", token_store=store) as client:
        if client.user_id is None:  # no usable token yet: log in once with the password
            client.login(user="bot", password=os.environ["BOT_PASSWORD"])

The first run logs in with the password and the token is saved; later runs connect with the
saved token and are logged in as soon as ``connect`` returns (a token that expired or that the
server refuses is dropped, and ``user_id`` stays ``None``).

The file is JSON holding one login per server URL. It is created readable and writable by its
owner only (mode ``0600``, set as the file is created: the token is never readable by others,
not even for a moment), and replaced whole on every change: written to a temporary file in the
same folder, flushed to disk, then renamed over the old one, so a crash mid-write leaves the
previous token intact, never a half-written file. A missing file is no token; an unreadable
or corrupt one is logged as a WARNING (its path and what is wrong, never its content) and
treated as no token; the next login replaces it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from ddp.auth import LoginResult

__all__ = ["FileTokenStore"]

logger = logging.getLogger("ddp.token_file")

_FORMAT = 1
"""The file's format version, written as ``"format"`` so a later layout can be told apart."""

_FILE_MODE = 0o600


class FileTokenStore:
    """A :class:`ddp.auth.TokenStore` that keeps resume tokens in a JSON file.

    Pass it as ``token_store=`` to :class:`ddp.Client` or :class:`ddp.AsyncClient`. One
    file holds the logins of several servers (keyed by URL). A store is thread-safe, so
    clients of one process may share it; two processes writing the same file at once each
    replace it whole (the last write wins), so give each program its own file.

    The file is small and written synchronously: an ``AsyncClient`` does that on its event
    loop at each login, which takes about as long as one ``fsync``.

    Args:
        path: The file (``~`` is expanded). Its folder must exist; the file is created at
            the first login.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()

    def load(self, key: str) -> LoginResult | None:
        """Return the login stored for ``key``, or ``None`` (also for a missing, unreadable
        or corrupt file)."""
        with self._lock:
            entry = self._read().get(key)
        if entry is None:
            return None
        try:
            return _decode(entry)
        except (TypeError, ValueError, KeyError) as exc:
            logger.warning(
                "ignoring the malformed login for %s in token file %s (%s)",
                key,
                self.path,
                type(exc).__name__,
            )
            return None

    def save(self, key: str, result: LoginResult) -> None:
        """Store ``result`` for ``key``, replacing the file atomically.

        Raises:
            OSError: The file could not be written (the old one is left as it was).
        """
        with self._lock:
            logins = self._read()
            logins[key] = _encode(result)
            self._write(logins)

    def delete(self, key: str) -> None:
        """Forget the login stored for ``key``; the file is removed when no login is left.

        Raises:
            OSError: The file could not be rewritten or removed.
        """
        with self._lock:
            logins = self._read()
            if key not in logins and logins:
                return
            logins.pop(key, None)
            if logins:
                self._write(logins)
            else:
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass

    def _read(self) -> dict[str, Any]:
        """The file's logins; empty when it is missing, unreadable or corrupt."""
        try:
            with self.path.open("rb") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # The exception's text, not the file's: a JSON error says where it failed,
            # never what it read, so no token can leak into the log.
            reason = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
            logger.warning("ignoring unreadable token file %s (%s)", self.path, reason)
            return {}
        logins = data.get("logins") if isinstance(data, dict) else None
        if not isinstance(logins, dict) or data.get("format") != _FORMAT:
            logger.warning("ignoring token file %s: not a token file of this format", self.path)
            return {}
        return logins

    def _write(self, logins: dict[str, Any]) -> None:
        data = json.dumps({"format": _FORMAT, "logins": logins}, indent=2).encode("utf-8")
        folder = self.path.parent
        tmp = folder / f".{self.path.name}.{secrets.token_hex(8)}.tmp"
        # O_EXCL: a fresh file that nobody else holds; the mode applies as it is created.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, _FILE_MODE)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise
        _fsync_folder(folder)

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode(result: LoginResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "token": result.token,
        "token_expires": (
            None if result.token_expires is None else result.token_expires.isoformat()
        ),
        "type": result.type,
    }


def _decode(entry: Any) -> LoginResult:
    if not isinstance(entry, dict):
        raise TypeError("a login is an object")
    user_id, token = entry["id"], entry["token"]
    if not isinstance(user_id, str) or not isinstance(token, str) or not token:
        raise TypeError("a login needs a string id and token")
    expires = entry.get("token_expires")
    token_expires = None
    if expires is not None:
        if not isinstance(expires, str):
            raise TypeError("token_expires is an ISO 8601 string")
        token_expires = datetime.fromisoformat(expires)
        if token_expires.tzinfo is None:
            raise ValueError("token_expires must carry its time zone")
    kind = entry.get("type")
    return LoginResult(
        id=user_id,
        token=token,
        token_expires=token_expires,
        type=kind if isinstance(kind, str) else None,
    )
