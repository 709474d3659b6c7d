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
