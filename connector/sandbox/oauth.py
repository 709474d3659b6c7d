"""OAuth 2.0 as Intuit and Xero run it: authorisation codes, short-lived access tokens, rotating refresh
tokens with a grace period for the previous one, and `invalid_grant` after that.

The clock is injectable so that tests can expire tokens without waiting.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lifetimes:
    access: int  # seconds
    refresh: int  # seconds a refresh token lives unused
    grace: int  # seconds a rotated-away refresh token is still accepted


QBO = Lifetimes(access=3600, refresh=100 * 86400, grace=24 * 3600)
XERO = Lifetimes(access=1800, refresh=60 * 86400, grace=1800)


class OAuthError(Exception):
    """An OAuth error response: `error` is the RFC 6749 code, sent with HTTP 400 (401 for a bad client)."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error, self.status = error, status


@dataclass
class _Refresh:
    client_id: str
    tenant: str
    expires: float
    superseded_at: float | None = None
    successor: str | None = None


@dataclass
class TokenService:
    lifetimes: Lifetimes
    clients: dict[str, str]  # client id → secret
    clock: Callable[[], float] = time.time
    offset: float = 0.0  # seconds the control API has moved this service's clock ahead
    codes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # code → (client, redirect, tenant)
    access: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → (tenant, expiry)
    refresh_tokens: dict[str, _Refresh] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authorize(self, client_id: str, redirect_uri: str, tenant: str) -> str:
        if client_id not in self.clients:
            raise OAuthError("invalid_client", 401)
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = (client_id, redirect_uri, tenant)
        return code

    def check_client(self, client_id: str, secret: str) -> None:
        if self.clients.get(client_id) != secret:
            raise OAuthError("invalid_client", 401)

    def exchange(self, client_id: str, code: str, redirect_uri: str) -> dict[str, object]:
        with self.lock:
            found = self.codes.pop(code, None)
        if found is None or found[0] != client_id or found[1] != redirect_uri:
            raise OAuthError("invalid_grant")
        return self._issue(client_id, found[2])

    def refresh(self, client_id: str, token: str) -> dict[str, object]:
        """Rotate: a new refresh token each time; the old one works for the grace period, then never."""
        now = self.now()
        with self.lock:
            held = self.refresh_tokens.get(token)
            if held is None or held.client_id != client_id or held.expires < now:
                raise OAuthError("invalid_grant")
            if held.superseded_at is not None and now > held.superseded_at + self.lifetimes.grace:
                raise OAuthError("invalid_grant")
            if held.superseded_at is None:
                held.superseded_at = now
        return self._issue(client_id, held.tenant)

    def _issue(self, client_id: str, tenant: str) -> dict[str, object]:
        now = self.now()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.lock:
            self.access[access] = (tenant, now + self.lifetimes.access)
            self.refresh_tokens[refresh] = _Refresh(client_id, tenant, now + self.lifetimes.refresh)
        return {"access_token": access, "refresh_token": refresh, "token_type": "bearer",
                "expires_in": self.lifetimes.access, "x_refresh_token_expires_in": self.lifetimes.refresh}

    def now(self) -> float:
        return self.clock() + self.offset

    def expire_access_tokens(self) -> int:
        """Make every access token issued so far expired (to test a 401 and a refresh mid-run)."""
        with self.lock:
            for token, (tenant, _) in self.access.items():
                self.access[token] = (tenant, 0.0)
            return len(self.access)

    def tenant_of(self, header: str | None) -> str | None:
        """The tenant an `Authorization: Bearer …` header is good for, or None if missing or expired."""
        if not header or not header.startswith("Bearer "):
            return None
        found = self.access.get(header.removeprefix("Bearer ").strip())
        if found is None or found[1] < self.now():
            return None
        return found[0]
