"""Host syncs at the issue's scale and under trouble: 20,000 invoices per host equal to the host's own
aging to the cent, through injected 503s, 429s, stalls, cut-short pages and an access token that expires
mid-run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connector.config import Workspace
from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from connector.sync.runner import sync_client
from tests.conftest import assert_aging_matches_host, connect_host

HOSTS = {"quickbooks": ("qbo", "/v3/company/"), "xero": ("xero", "/api.xro/2.0/")}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=31, invoices=20_000, home_currency="GBP"), rate_limits="off") as server:
        yield server


@pytest.mark.parametrize("host", ["quickbooks", "xero"])
def test_twenty_thousand_invoices_through_faults_equal_the_hosts_aging(
        workspace: Workspace, sandbox: SandboxServer, host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = connect_host(workspace, sandbox, host, monkeypatch)
    path = HOSTS[host][1]
    requests.post(f"{sandbox.url}/_sandbox/oauth", json={"expire_access_tokens": True}, timeout=10)
    # five failures in a row on the first calls (the policy's sixth attempt succeeds), then clean calls
    for kind, count in (("503", 1), ("429", 1), ("truncated", 1), ("malformed", 1), ("reset", 1)):
        requests.post(f"{sandbox.url}/_sandbox/faults", timeout=10,
                      json={"path": path, "kind": kind, "count": count})
    report = sync_client(workspace, key)
    assert report.outcome == "succeeded", report.error
    assert report.counts["invoices"].new == 20_000
    assert_aging_matches_host(workspace, key, sandbox)
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=10).json() == []  # every fault was met
