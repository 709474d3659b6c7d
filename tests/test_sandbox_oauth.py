"""Sandbox OAuth: rotating refresh tokens with a grace period, then invalid_grant; expired access tokens."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.sandbox_auth import CLIENT_ID, REDIRECT, SECRET, code_flow

HOSTS = {"qbo": ("/connect/oauth2", "/oauth2/v1/tokens/bearer", 24 * 3600),
         "xero": ("/identity/connect/authorize", "/connect/token", 1800)}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=9, invoices=100)) as server:
        yield server


def tokens(sandbox: SandboxServer, host: str) -> dict:
    return code_flow(sandbox, host)


def refresh(sandbox: SandboxServer, host: str, token: str) -> requests.Response:
    return requests.post(f"{sandbox.url}{HOSTS[host][1]}", auth=(CLIENT_ID, SECRET), timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": token})


@pytest.mark.parametrize("host", ["qbo", "xero"])
def test_rotated_refresh_token_works_during_the_grace_period_then_never(sandbox: SandboxServer, host: str) -> None:
    first = tokens(sandbox, host)
    second = refresh(sandbox, host, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    # a crash between the token response and saving it: the old token still works within the grace period
    assert refresh(sandbox, host, first["refresh_token"]).status_code == 200
    grace = HOSTS[host][2]
    requests.post(f"{sandbox.url}/_sandbox/oauth", json={"advance_seconds": grace + 1}, timeout=10)
    late = refresh(sandbox, host, first["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert refresh(sandbox, host, second["refresh_token"]).status_code == 200  # the newest one still works


def test_an_authorisation_code_is_good_once(sandbox: SandboxServer) -> None:
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": "t", "response_type": "code"})
    code = parse_qs(urlparse(requests.get(f"{sandbox.url}/connect/oauth2?{query}", allow_redirects=False,
                                          timeout=10).headers["Location"]).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert requests.post(f"{sandbox.url}/oauth2/v1/tokens/bearer", auth=(CLIENT_ID, SECRET), data=data,
                         timeout=10).status_code == 200
    again = requests.post(f"{sandbox.url}/oauth2/v1/tokens/bearer", auth=(CLIENT_ID, SECRET), data=data, timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    wrong = requests.post(f"{sandbox.url}/oauth2/v1/tokens/bearer", auth=(CLIENT_ID, "nope"), data=data, timeout=10)
    assert wrong.status_code == 401


def test_expired_access_tokens_get_401_until_refreshed(sandbox: SandboxServer) -> None:
    issued = tokens(sandbox, "qbo")
    url = f"{sandbox.url}/v3/company/9130357766900456/query"
    ask = lambda bearer: requests.get(url, params={"query": "SELECT COUNT(*) FROM Invoice"}, timeout=10,  # noqa: E731
                                      headers={"Authorization": f"Bearer {bearer}"})
    assert ask(issued["access_token"]).status_code == 200
    requests.post(f"{sandbox.url}/_sandbox/oauth", json={"expire_access_tokens": True}, timeout=10)
    assert ask(issued["access_token"]).status_code == 401
    fresh = refresh(sandbox, "qbo", issued["refresh_token"]).json()
    assert ask(fresh["access_token"]).status_code == 200
