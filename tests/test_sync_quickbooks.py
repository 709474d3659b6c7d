"""Syncing a QuickBooks company from the sandbox: full, then incremental by CDC, balances to the cent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connector.config import Workspace
from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from connector.sync.runner import sync_client
from tests.conftest import assert_aging_matches_host, connect_host


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=21, invoices=2_000, home_currency="GBP")) as server:
        yield server


@pytest.fixture
def client(workspace: Workspace, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    connect_host(workspace, sandbox, "quickbooks", monkeypatch)
    return workspace


def test_full_then_incremental_sync_matches_the_hosts_own_aging(client: Workspace, sandbox: SandboxServer) -> None:
    first = sync_client(client, "qbo")
    assert first.outcome == "succeeded", first.error
    assert first.counts["invoices"].new == 2_000
    assert_aging_matches_host(client, "qbo", sandbox)

    moved = requests.post(f"{sandbox.url}/_sandbox/clock", json={"advance_days": 7}, timeout=60).json()["made"]
    second = sync_client(client, "qbo")
    assert second.outcome == "succeeded", second.error
    assert second.counts["invoices"].new == moved["invoices"]
    assert second.counts["payments"].deleted == moved["deletions"]
    assert second.counts["payments"].new >= moved["payments"]
    assert_aging_matches_host(client, "qbo", sandbox)

    quiet = sync_client(client, "qbo")  # nothing changed since: nothing new, nothing deleted, one CDC call
    assert (quiet.total("new"), quiet.total("deleted"), quiet.api_calls) == (0, 0, 1)


def test_a_full_sync_reads_each_entity_in_pages_of_1000(client: Workspace, sandbox: SandboxServer) -> None:
    import math

    report = sync_client(client, "qbo", full=True)
    assert report.outcome == "succeeded", report.error
    # each entity takes ceil(n / 1000) pages, plus one empty page when n is a multiple of 1000 (a full page
    # cannot tell that it is the last one)
    staged = {name: c.new + c.updated + c.unchanged for name, c in report.counts.items()}
    allowed = sum(math.floor(n / 1000) + 1 for n in staged.values()) + 1  # + the credit applications' share
    assert report.api_calls <= allowed


def test_intuits_discovery_document_goes_through_the_host_policy(client: Workspace, sandbox: SandboxServer) -> None:
    """intuit-oauth fetches the discovery document on a session of its own: without the policy a 503 or a
    dropped connection there stopped the sync with a raw traceback (and a hung server would hang it)."""
    for kind in ("503", "reset"):
        requests.post(f"{sandbox.url}/_sandbox/faults", json={"path": "/.well-known/", "kind": kind, "count": 1},
                      timeout=10)
    report = sync_client(client, "qbo")
    assert report.outcome == "succeeded", report.error
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=10).json() == []  # both were met, and retried
    quiet = sync_client(client, "qbo")
    assert quiet.api_calls == 1  # (the discovery document is not an accounting API call)
