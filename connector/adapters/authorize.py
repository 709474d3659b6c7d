"""`connector auth`: the OAuth 2.0 authorisation-code flow with a loopback redirect.

Prints the consent URL (and opens a browser unless told not to), waits on `127.0.0.1:PORT/callback` for
the host's redirect, checks `state`, exchanges the code, and stores the tokens.  The QuickBooks company
(realm) comes with the redirect; the Xero organisation (tenant) from the connections endpoint when the
config names none.  Either is written into the client's config file if it is not there yet.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import requests

from connector.adapters.http import QBO_LIMITS, XERO_LIMITS, HostPolicy, RateLimiter, session_with
from connector.adapters.tokens import Tokens, TokenStore
from connector.config import ClientConfig, Workspace
from connector.errors import AuthError, ConfigError, UsageError

QBO_DISCOVERY = "https://developer.api.intuit.com/.well-known/openid_configuration"
XERO_AUTHORIZE = "https://login.xero.com/identity/connect/authorize"
XERO_TOKEN = "https://identity.xero.com/connect/token"
XERO_CONNECTIONS = "https://api.xero.com/connections"
SCOPES = {"quickbooks": "com.intuit.quickbooks.accounting",
          "xero": "offline_access accounting.transactions accounting.contacts accounting.reports.read"}


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    connections: str | None


def credentials(config: ClientConfig) -> tuple[str, str]:
    """The app's client id and secret, from the environment variables the config names."""
    found = []
    for key in ("client_id_env", "client_secret_env"):
        name = getattr(config.credentials, key)
        if not name:
            raise ConfigError(str(config.file), f"credentials.{key}", "name the environment variable that holds it")
        value = os.environ.get(name)
        if not value:
            raise ConfigError(str(config.file), f"credentials.{key}", f"environment variable {name} is not set")
        found.append(value)
    return found[0], found[1]


def endpoints(config: ClientConfig, session: requests.Session) -> Endpoints:
    if config.host == "quickbooks":
        discovery = session.get(config.endpoints.discovery_url or QBO_DISCOVERY, timeout=30).json()
        return Endpoints(discovery["authorization_endpoint"], discovery["token_endpoint"], None)
    if config.host == "xero":
        return Endpoints(config.endpoints.authorize_url or XERO_AUTHORIZE, config.endpoints.token_url or XERO_TOKEN,
                         config.endpoints.connections_url or XERO_CONNECTIONS)
    raise UsageError(f"client '{config.key}' is a csv client: it needs no authorisation")


class _Callback(BaseHTTPRequestHandler):
    result: dict[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        type(self).result = query
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"connector: authorised. You can close this window.\n")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _listen(port: int) -> tuple[HTTPServer, type[_Callback]]:
    """The loopback listener for the consent redirect, bound at once.

    It is bound before the consent URL is shown: a browser (or the demo, which plays one) can follow the
    redirect home faster than a thread starts, and would find nothing listening.
    """
    handler = type("Callback", (_Callback,), {"result": {}})
    try:
        server = HTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise AuthError(f"cannot listen for the consent redirect on 127.0.0.1:{port} ({exc.strerror}); "
                        "pass another --port") from None
    server.timeout = 0.5
    return server, handler


def _wait_for_redirect(server: HTTPServer, handler: type[_Callback], timeout: float) -> dict[str, str]:
    """The redirect's query, or {} when none came within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    try:
        while not handler.result and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    return handler.result


def authorize(workspace: Workspace, key: str, *, port: int = 8765, open_browser: bool = True,
              show: Callable[[str], None] = print, timeout: float = 300) -> Tokens:
    """Run the flow for client `key`; returns the stored tokens."""
    config = workspace.load_client(key)
    if config.host == "csv":
        raise UsageError(f"client '{key}' is a csv client: it needs no authorisation")
    client_id, secret = credentials(config)
    # (the host policy: a timeout, retries, and a clear error rather than a traceback when the network fails)
    session = session_with(HostPolicy(RateLimiter(QBO_LIMITS if config.host == "quickbooks" else XERO_LIMITS)))
    where = endpoints(config, session)
    redirect_uri, state = f"http://127.0.0.1:{port}/callback", secrets.token_urlsafe(16)
    url = f"{where.authorize}?" + urlencode({"client_id": client_id, "response_type": "code", "state": state,
                                             "scope": SCOPES[config.host], "redirect_uri": redirect_uri})
    answer: dict[str, str] = {}
    server, handler = _listen(port)
    waiter = threading.Thread(target=lambda: answer.update(_wait_for_redirect(server, handler, timeout)), daemon=True)
    waiter.start()
    show(url)
    if open_browser:
        webbrowser.open(url)
    waiter.join(timeout + 5)
    if not answer:
        raise AuthError(f"no answer from the consent page within {timeout:.0f} s; run `connector auth` again")
    if answer.get("state") != state:
        raise AuthError("the consent answer's state does not match this request; run `connector auth` again")
    if "code" not in answer:
        raise AuthError(f"consent was not given ({answer.get('error', 'no code in the answer')})")
    body = _exchange(session, where.token, client_id, secret, answer["code"], redirect_uri)
    tokens = Tokens.from_response(body, config.host, time.time())
    tenant = answer.get("realmId") or config.realm_id or config.tenant_id or _tenant(session, where, body, config)
    tokens = Tokens(**{**tokens.__dict__, "tenant": tenant})
    TokenStore(workspace.client_data_dir(key), key, config.host).save(tokens)
    _remember_tenant(config, tenant)
    return tokens


def _exchange(session: requests.Session, url: str, client_id: str, secret: str, code: str,
              redirect_uri: str) -> dict[str, Any]:
    answer = session.post(url, auth=(client_id, secret), timeout=30, headers={"Accept": "application/json"},
                          data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
    if answer.status_code != 200:
        raise AuthError(f"the host refused the authorisation code (HTTP {answer.status_code}); "
                        "run `connector auth` again")
    return answer.json()  # type: ignore[no-any-return]


def _tenant(session: requests.Session, where: Endpoints, body: dict[str, Any], config: ClientConfig) -> str:
    """Xero: the organisation the consent connected; several need `tenant_id` in the config."""
    assert where.connections is not None
    found = session.get(where.connections, timeout=30,
                        headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    tenants = [c for c in found if c.get("tenantType") == "ORGANISATION"]
    if len(tenants) != 1:
        names = ", ".join(f"{c.get('tenantName')} ({c.get('tenantId')})" for c in tenants) or "none"
        raise UsageError(f"the consent connected {len(tenants)} organisations ({names}); write the one for "
                         f"'{config.key}' as tenant_id in {config.file} and run `connector auth` again")
    return str(tenants[0]["tenantId"])


def _remember_tenant(config: ClientConfig, tenant: str) -> None:
    """Write realm_id / tenant_id into the client's config when it has none (keeping the file's comments)."""
    key = "realm_id" if config.host == "quickbooks" else "tenant_id"
    if getattr(config, key):
        return
    text = config.file.read_text(encoding="utf-8")
    line = f'{key} = "{tenant}"'
    updated, done = re.subn(r'^(host = "[a-z]+".*)$', lambda m: f"{m.group(1)}\n{line}", text, count=1, flags=re.M)
    config.file.write_text(updated if done else f"{line}\n{text}", encoding="utf-8")
