"""OAuth tokens per client: kept in the client's data folder, written atomically, refreshed one at a time.

A refresh token that rotates is the one thing a connector must never lose: losing it forces the client to
reconnect.  So: the token file is replaced atomically (temporary file, fsync, rename, fsync of the folder)
with mode 0600; a refresh runs under an exclusive lock on the client's `tokens.lock`, re-reading the file
once it holds the lock (another process may have refreshed meanwhile); and the rotated tokens are saved
before the new access token is handed to anyone.  If a process dies between the host's answer and the
save, the previous refresh token is still on disk and the hosts accept it again within their grace period.
Tokens never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connector.errors import AuthError

DAY = 86400.0
# How long a refresh token lives when the host does not say: QBO 100 days rolling (and at most 5 years from
# the first consent), Xero 60 days unused.
REFRESH_LIFETIME = {"quickbooks": 100 * DAY, "xero": 60 * DAY}
QBO_HARD_CAP = 5 * 365 * DAY


@dataclass(frozen=True)
class Tokens:
    """A client's tokens and when they expire (seconds since the epoch)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: float
    refresh_expires_at: float
    first_issued_at: float
    tenant: str | None = None  # QBO realm id or Xero tenant id
    scope: str | None = None

    @classmethod
    def from_response(cls, body: dict[str, Any], host: str, now: float, previous: Tokens | None = None) -> Tokens:
        """Tokens from a token endpoint's JSON answer (a first grant, or a refresh of `previous`)."""
        lifetime = float(body.get("x_refresh_token_expires_in") or REFRESH_LIFETIME[host])  # ok: seconds
        return cls(access_token=body["access_token"], refresh_token=body.get("refresh_token") or
                   (previous.refresh_token if previous else ""),
                   access_expires_at=now + float(body.get("expires_in", 1800)),  # ok: seconds, not money
                   refresh_expires_at=now + lifetime,
                   first_issued_at=previous.first_issued_at if previous else now,
                   tenant=previous.tenant if previous else body.get("realmId"),
                   scope=body.get("scope") or (previous.scope if previous else None))


class TokenStore:
    """`DATA_DIR/CLIENT/tokens.json` and its lock."""

    def __init__(self, folder: Path, client: str, host: str, *, clock: Callable[[], float] = time.time) -> None:
        self.path, self.lock_path = folder / "tokens.json", folder / "tokens.lock"
        self.client, self.host, self.clock = client, host, clock

    def load(self) -> Tokens | None:
        try:
            return Tokens(**json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            raise AuthError(f"the token file of client '{self.client}' is unreadable; reconnect with "
                            f"`connector auth {self.client}`") from None

    def save(self, tokens: Tokens) -> None:
        """Replace the token file atomically: a crash leaves the old file or the new one, never half of one."""
        staged = self.path.with_suffix(".json.tmp")
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(asdict(tokens)).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(staged, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the client's refresh lock (waiting for another process's refresh to finish)."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def fresh(self, refresh: Callable[[str], dict[str, Any]], margin: float = 60) -> Tokens:
        """Tokens whose access token is good for `margin` seconds more, refreshing (once, for everyone) if not.

        `refresh(refresh_token)` calls the host's token endpoint and returns its JSON; it raises `AuthError`
        on `invalid_grant`.
        """
        current = self._required()
        if current.access_expires_at - margin > self.clock():
            return current
        with self.exclusive():
            current = self._required()  # someone may have refreshed while we waited for the lock
            if current.access_expires_at - margin > self.clock():
                return current
            rotated = Tokens.from_response(refresh(current.refresh_token), self.host, self.clock(), current)
            self.save(rotated)  # saved before the new access token is used by anyone
            return rotated

    def _required(self) -> Tokens:
        tokens = self.load()
        if tokens is None:
            raise AuthError(f"client '{self.client}' is not connected: run `connector auth {self.client}`")
        return tokens

    def expiry_warning(self, within_days: float = 14) -> str | None:
        """A warning when the refresh token (or QBO's 5-year consent) expires within `within_days`."""
        tokens = self.load()
        if tokens is None:
            return None
        ends = tokens.refresh_expires_at
        if self.host == "quickbooks":
            ends = min(ends, tokens.first_issued_at + QBO_HARD_CAP)
        left = (ends - self.clock()) / DAY
        if left <= within_days:
            return (f"client '{self.client}': the connection expires in {max(left, 0):.0f} day(s); "
                    f"sync it (or run `connector auth {self.client}`) before then")
        return None


def refresher(session: Any, token_url: str, client_id: str, secret: str, host: str,
              client: str) -> Callable[[str], dict[str, Any]]:
    """A `refresh(refresh_token)` for `TokenStore.fresh`: the host's refresh grant over `session`.

    QuickBooks takes the app's credentials by Basic auth, Xero in the form (as xero-python sends them).
    `invalid_grant` means the refresh token is dead: the client must reconnect, and the error says so.
    """
    def refresh(refresh_token: str) -> dict[str, Any]:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        auth = (client_id, secret) if host == "quickbooks" else None
        if host == "xero":
            data.update(client_id=client_id, client_secret=secret)
        answer = session.post(token_url, data=data, auth=auth, headers={"Accept": "application/json"})
        if answer.status_code == 401:
            raise AuthError(f"the host refused the app credentials of client '{client}': check the environment "
                            "variables named in its [credentials]")
        if answer.status_code == 400 and answer.json().get("error") == "invalid_grant":
            raise AuthError(f"the host no longer accepts client '{client}''s refresh token (expired or already "
                            f"rotated away): reconnect with `connector auth {client}`")
        if answer.status_code != 200:
            raise AuthError(f"token refresh for client '{client}' failed with HTTP {answer.status_code}")
        return answer.json()  # type: ignore[no-any-return]
    return refresh
