"""Syncing a Xero organisation from the sandbox: pages with If-Modified-Since, statuses as deletions,
bills and suppliers left out, balances equal to the books' own aging to the cent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import requests

from connector import reports
from connector.config import Workspace
from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from connector.sync.runner import sync_client
from tests.conftest import assert_aging_matches_host, connect_host


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=22, invoices=1_500, home_currency="GBP")) as server:
        yield server


@pytest.fixture
def client(workspace: Workspace, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    connect_host(workspace, sandbox, "xero", monkeypatch)
    return workspace


def test_full_then_incremental_xero_sync(client: Workspace, sandbox: SandboxServer) -> None:
    first = sync_client(client, "xero")
    assert first.outcome == "succeeded", first.error
    assert first.counts["invoices"].new == 1_500  # the 60 ACCPAY bills are left out
    assert first.counts["customers"].new == len(sandbox.world.live("customers"))  # suppliers left out
    assert_aging_matches_host(client, "xero", sandbox)
    credit = reports.aging(client, "xero", as_of=sandbox.world.today).unapplied_credit
    assert credit > 0  # overpayments came through as unapplied credit
    ahead = {h.record.id: h for h in sandbox.world.records["payments"].values() if h.record.kind.value == "prepayment"}
    conn = sqlite3.connect(client.store_path("xero"))
    stored = conn.execute("SELECT id, amount, unapplied FROM payments WHERE kind = 'prepayment'").fetchall()
    assert sorted(stored) == sorted((h.xero_id, int(h.record.amount * 100), int(h.record.amount * 100))
                                    for h in ahead.values())  # each prepayment, whole, as unapplied credit

    moved = requests.post(f"{sandbox.url}/_sandbox/clock", json={"advance_days": 6}, timeout=60).json()["made"]
    second = sync_client(client, "xero")
    assert second.outcome == "succeeded", second.error
    assert second.counts["invoices"].new == moved["invoices"]
    assert second.counts["payments"].deleted >= moved["deletions"]
    assert_aging_matches_host(client, "xero", sandbox)
    quiet = sync_client(client, "xero")
    assert (quiet.total("new"), quiet.total("deleted")) == (0, 0)
    assert quiet.api_calls <= 6  # one page per entity


def test_a_day_limit_ends_the_run_with_its_calls_counted_then_the_next_run_completes(
        client: Workspace, sandbox: SandboxServer) -> None:
    guard = sandbox.app.config["GUARD"]
    limits = f"{sandbox.url}/_sandbox/ratelimits"
    before = guard.day_calls["xero"]
    requests.post(limits, json={"mode": "custom", "xero_per_day": before + 4}, timeout=10)
    try:
        stopped = sync_client(client, "xero")
    finally:
        requests.post(limits, json={"mode": "real"}, timeout=10)
    assert stopped.outcome == "failed" and "daily call limit" in (stopped.error or "")
    # every call counts, the refused one too, though the worker that made them is gone
    assert stopped.api_calls == guard.day_calls["xero"] - before + 1 == 5
    resumed = sync_client(client, "xero")
    assert resumed.outcome == "succeeded", resumed.error
    assert_aging_matches_host(client, "xero", sandbox)  # the store is whole again, to the cent
