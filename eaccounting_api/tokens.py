"""Durable OAuth token storage shared by every process of one tenant: the ``TokenStore`` interface and
its embedded default, ``FileTokenStore`` (``pg_token_store.PostgresTokenStore`` shares one store across
machines).

Visma rotates the refresh token on every token request and a refresh token works once, so the
newest pair must be on disk before anyone uses it, and two processes (a tap and a target of the
same tenant) must never refresh from the same refresh token. ``FileTokenStore`` gives:

- ``lock()``: an exclusive ``fcntl.flock`` on ``<path>.lock``, held by the caller across
  read -> refresh -> write (``authenticator.EAccountingAuthenticator`` does this);
- ``write()``: temp file in the same directory, ``fsync``, ``os.replace``, then ``fsync`` of the
  directory, mode 0600; a crash leaves either the old or the new file, never a torn one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eaccounting_api.errors import TokenStoreError

FILE_MODE = 0o600
DIR_MODE = 0o700
DEFAULT_EXPIRES_IN = 3600.0  # the documented access-token lifetime, if a response omits expires_in


@dataclass(frozen=True)
class TokenSet:
    """One token response. ``repr`` never shows the tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # epoch seconds
    refreshed_at: float = field(default_factory=time.time)
    refresh_count: int = 0

    def expires_in(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)

    def needs_refresh(self, margin: float, now: float | None = None) -> bool:
        return self.expires_in(now) <= margin

    @classmethod
    def from_token_response(cls, body: dict[str, Any], *, previous: TokenSet | None = None) -> TokenSet:
        now = time.time()
        raw = body.get("expires_in")
        expires_in = float(raw) if raw is not None else DEFAULT_EXPIRES_IN
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=now + expires_in,
            refreshed_at=now,
            refresh_count=(previous.refresh_count + 1) if previous else 0,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "refreshed_at": self.refreshed_at,
            "refresh_count": self.refresh_count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenSet:
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_at=float(data["expires_at"]),
            refreshed_at=float(data.get("refreshed_at") or 0.0),
            refresh_count=int(data.get("refresh_count") or 0),
        )


class TokenStore(Protocol):
    """Where one grant's rotating tokens live, and the lock that serialises its refreshes.

    ``lock()`` is exclusive across threads and processes (for a shared store: across machines) and
    re-entrant for the holding thread; the authenticator holds it across read -> refresh -> write.
    ``write()`` is durable on return. No method puts a token in an exception or a log line."""

    @property
    def key(self) -> str:
        """Identifies the store (one authenticator per process and key)."""
        ...

    @property
    def location(self) -> str:
        """Where the tokens are, for messages (no secret: a DSN's password is never in it)."""
        ...

    def lock(self) -> AbstractContextManager[None]: ...

    def exists(self) -> bool: ...

    def read(self) -> TokenSet | None: ...

    def write(self, tokens: TokenSet) -> None: ...

    def describe(self) -> dict[str, Any]:
        """Status fields (``auth status``) about the store itself, without secrets."""
        ...


class FileTokenStore:
    """A JSON token file at ``path`` with an inter-process lock file beside it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # flock excludes other processes; this excludes other threads of this process holding
        # the same store object (flock on one fd is re-entrant within the process).
        self._thread_lock = threading.RLock()
        self._depth = 0

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    @property
    def key(self) -> str:
        return str(self.path)

    @property
    def location(self) -> str:
        return str(self.path)

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"token_store_path": str(self.path)}
        if self.path.exists():
            info["store_mode"] = oct(self.path.stat().st_mode & 0o777)
        return info

    def _ensure_dir(self) -> None:
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive across processes and threads; blocks until acquired."""
        with self._thread_lock:
            if self._depth:  # re-entered by the holding thread: the flock is already ours
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._ensure_dir()
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> TokenSet | None:
        """The stored tokens, or None when the store was never written."""
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(f"cannot read token store {self.path}: {exc.strerror}") from None
        if not text.strip():
            return None
        try:
            return TokenSet.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            # Never echo the content: it holds tokens.
            raise TokenStoreError(
                f"token store {self.path} is corrupt ({type(exc).__name__}); re-authorize with "
                "`tap-eaccounting auth exchange` or restore the file"
            ) from None

    def write(self, tokens: TokenSet) -> None:
        """Atomically replace the store with ``tokens`` (durable on return)."""
        self._ensure_dir()
        data = json.dumps(tokens.to_dict(), indent=2).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
