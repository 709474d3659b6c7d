"""Host syncs at the issue's scale and under trouble: 20,000 invoices per host equal to the host's own
aging to the cent, through injected 503s, 429s, stalls, cut-short pages and an access token that expires
mid-run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from connector import reports
from connector.adapters.tokens import Tokens, TokenStore
from connector.config import Workspace
from connector.sandbox.company import CompanySpec
from connector.sandbox.qbo_reports import aged_receivables
from connector.sandbox.server import SandboxServer
from connector.sync.runner import sync_client
from tests.sandbox_auth import CLIENT_ID, SECRET, code_flow

HOSTS = {"quickbooks": ("qbo", "/v3/company/"), "xero": ("xero", "/api.xro/2.0/")}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=31, invoices=20_000, home_currency="GBP"), rate_limits="off") as server:
        yield server


def connect(workspace: Workspace, sandbox: SandboxServer, host: str, monkeypatch: pytest.MonkeyPatch) -> str:
    key, _ = HOSTS[host]
    prefix = "QBO" if host == "quickbooks" else "XERO"
    monkeypatch.setenv(f"{prefix}_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv(f"{prefix}_CLIENT_SECRET", SECRET)
    workspace.create_client(key, host, currency="GBP")  # type: ignore[arg-type]
    file = workspace.client_file(key)
    company = sandbox.app.config["REALM" if host == "quickbooks" else "TENANT"]
    field = "realm_id" if host == "quickbooks" else "tenant_id"
    endpoints = (f'api_base = "{sandbox.url}/v3"\ndiscovery_url = "{sandbox.url}/.well-known/openid_sandbox_configuration"\n'
                 if host == "quickbooks" else
                 f'api_base = "{sandbox.url}/api.xro/2.0"\ntoken_url = "{sandbox.url}/connect/token"\n')
    file.write_text(file.read_text().replace(f'host = "{host}"', f'host = "{host}"\n{field} = "{company}"')
                    .replace("# [endpoints]", "# e") + "\n[endpoints]\n" + endpoints)
    TokenStore(workspace.client_data_dir(key), key, host).save(
        Tokens.from_response(code_flow(sandbox, "qbo" if host == "quickbooks" else "xero"), host, time.time()))
    return key


def expected(sandbox: SandboxServer) -> dict[str, Decimal]:
    *rows, _ = aged_receivables(sandbox.world, {"report_date": sandbox.world.today.isoformat()})["Rows"]["Row"]
    return {r["ColData"][0]["value"]: Decimal(r["ColData"][-1]["value"]) for r in rows}


@pytest.mark.parametrize("host", ["quickbooks", "xero"])
def test_twenty_thousand_invoices_through_faults_equal_the_hosts_aging(
        workspace: Workspace, sandbox: SandboxServer, host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = connect(workspace, sandbox, host, monkeypatch)
    path = HOSTS[host][1]
    requests.post(f"{sandbox.url}/_sandbox/oauth", json={"expire_access_tokens": True}, timeout=10)
    # five failures in a row on the first calls (the policy's sixth attempt succeeds), then clean calls
    for kind, count in (("503", 1), ("429", 1), ("truncated", 1), ("malformed", 1), ("reset", 1)):
        requests.post(f"{sandbox.url}/_sandbox/faults", timeout=10,
                      json={"path": path, "kind": kind, "count": count})
    report = sync_client(workspace, key)
    assert report.outcome == "succeeded", report.error
    assert report.counts["invoices"].new == 20_000
    ours = reports.aging(workspace, key, as_of=sandbox.world.today)
    assert {line.name: line.total for line in ours.lines if line.total} == expected(sandbox)
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=10).json() == []  # every fault was met
