"""The authorisation-code flow against the sandbox as an app runs it, for tests and benchmarks that need
tokens without a browser (the sandbox consents at once)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import requests

from connector.sandbox.server import DEMO_CLIENTS, SandboxServer

(CLIENT_ID, SECRET), = DEMO_CLIENTS.items()
REDIRECT = "http://127.0.0.1:8765/callback"
ENDPOINTS = {"qbo": ("/connect/oauth2", "/oauth2/v1/tokens/bearer"),
             "xero": ("/identity/connect/authorize", "/connect/token")}


def code_flow(sandbox: SandboxServer, host: str, state: str = "s-42") -> dict:
    """Consent, check `state`, exchange the code: the token endpoint's answer."""
    consent, token = ENDPOINTS[host]
    query = urlencode({"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
                       "scope": "offline_access accounting.transactions", "state": state})
    answer = requests.get(f"{sandbox.url}{consent}?{query}", allow_redirects=False, timeout=10)
    back = parse_qs(urlparse(answer.headers["Location"]).query)
    if back.get("state") != [state]:
        raise AssertionError("the sandbox's consent redirect lost the state")
    return requests.post(f"{sandbox.url}{token}", auth=(CLIENT_ID, SECRET), timeout=10, data={
        "grant_type": "authorization_code", "code": back["code"][0], "redirect_uri": REDIRECT}).json()


def connect_client(workspace: object, sandbox: SandboxServer, host: str, key: str | None = None,
                   currency: str = "GBP") -> str:
    """A QuickBooks or Xero client of the sandbox, configured and connected (tokens stored), for tests and
    benchmarks; the app credentials must be in the environment variables its config names."""
    import time

    from connector.adapters.tokens import Tokens, TokenStore

    key = key or {"quickbooks": "qbo", "xero": "xero"}[host]
    workspace.create_client(key, host, currency=currency)  # type: ignore[attr-defined]
    file = workspace.client_file(key)  # type: ignore[attr-defined]
    company = sandbox.app.config["REALM" if host == "quickbooks" else "TENANT"]
    field = "realm_id" if host == "quickbooks" else "tenant_id"
    endpoints = (f'api_base = "{sandbox.url}/v3"\ndiscovery_url = "{sandbox.url}/.well-known/openid_sandbox_configuration"\n'
                 if host == "quickbooks" else
                 f'api_base = "{sandbox.url}/api.xro/2.0"\ntoken_url = "{sandbox.url}/connect/token"\n'
                 f'connections_url = "{sandbox.url}/connections"\n')
    file.write_text(file.read_text().replace(f'host = "{host}"', f'host = "{host}"\n{field} = "{company}"')
                    .replace("# [endpoints]", "# (sandbox endpoints below)") + "\n[endpoints]\n" + endpoints)
    body = code_flow(sandbox, "qbo" if host == "quickbooks" else "xero")
    TokenStore(workspace.client_data_dir(key), key, host).save(  # type: ignore[attr-defined]
        Tokens.from_response(body, host, time.time()))
    return key
