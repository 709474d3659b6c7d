"""The same books kept three ways (QuickBooks Online, Xero, a csv ledger) give the same aging, the same
unapplied credit and the same plan: what an accountant sees must not depend on the host.

Each host represents credit differently (QuickBooks applies a credit memo through a payment of total 0 and
keeps a prepayment as a payment with nothing linked; Xero keeps overpayments and prepayments as records of
their own; the csv has a row with no invoice), so the comparison is made by what the accountant reads:
customer names, invoice numbers and amounts, never host ids.  One thing differs by design: the csv carries
each customer's timezone, QuickBooks and Xero keep none, so there the plan's contact hours are the client's
(unless its config names the customer's); the actions are compared without their time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from connector import planning, reports
from connector.config import Workspace
from connector.sandbox.company import CompanySpec
from connector.sandbox.csv_export import write_csv_company
from connector.sandbox.server import SandboxServer
from connector.sync.runner import sync_client
from tests.conftest import connect_host

SPEC = CompanySpec(seed=7, invoices=2_000, home_currency="GBP")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SPEC) as server:
        yield server


@pytest.fixture
def three_ways(workspace: Workspace, sandbox: SandboxServer, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Workspace:
    write_csv_company(sandbox.world.ledger_records(), tmp_path / "ledger")
    workspace.create_client("csv", "csv", path=str(tmp_path / "ledger"), currency="GBP")
    connect_host(workspace, sandbox, "quickbooks", monkeypatch)
    connect_host(workspace, sandbox, "xero", monkeypatch)
    for key in ("csv", "qbo", "xero"):
        report = sync_client(workspace, key)
        assert report.outcome == "succeeded", (key, report.error)
    return workspace


def _aging(workspace: Workspace, key: str, sandbox: SandboxServer,
           days_back: int = 0) -> dict[str, tuple[Decimal, ...]]:
    report = reports.aging(workspace, key, as_of=sandbox.world.today - dt.timedelta(days=days_back))
    return {line.name: (*line.amounts.values(), line.total, line.unapplied_credit or Decimal(0))
            for line in report.lines}


def test_aging_and_unapplied_credit_agree_across_hosts(three_ways: Workspace, sandbox: SandboxServer) -> None:
    csv, qbo, xero = (_aging(three_ways, key, sandbox) for key in ("csv", "qbo", "xero"))
    assert any(line[-1] for line in csv.values()), "the company should hold some unapplied credit"
    assert {name: line for name, line in qbo.items() if line != csv.get(name)} == {}
    assert {name: line for name, line in xero.items() if line != csv.get(name)} == {}
    assert qbo.keys() == xero.keys() == csv.keys()
    for back in (45, 180, 400):  # rebuilt as they stood: today's credit plus what was used after the day
        csv, qbo, xero = (_aging(three_ways, key, sandbox, back) for key in ("csv", "qbo", "xero"))
        assert qbo == csv and xero == csv, back


Rows = list[tuple[object, ...]]


def _plan(workspace: Workspace, key: str, sandbox: SandboxServer) -> tuple[Rows, Rows]:
    from connector.sync.store import Store

    with Store(workspace.store_path(key), read_only=True) as store:
        names = dict(store.conn.execute("SELECT id, name FROM customers"))
        numbers = dict(store.conn.execute("SELECT id, number FROM invoices"))
    plan = planning.plan(workspace, key, as_of=sandbox.world.today)
    actions = sorted((names[a.customer_id], a.step, a.kind, a.amount, a.repeat,
                      tuple(numbers[i] for i in a.invoice_ids)) for a in plan.actions)  # (listed alike, too)
    holds = sorted((names[h.customer_id], numbers.get(h.invoice_id or ""), h.reason) for h in plan.holds)
    return actions, holds


def test_the_plan_agrees_across_hosts(three_ways: Workspace, sandbox: SandboxServer) -> None:
    csv, qbo, xero = (_plan(three_ways, key, sandbox) for key in ("csv", "qbo", "xero"))
    assert csv[0], "the company should have actions due"
    assert any("unapplied credit" in reason for _, _, reason in csv[1]), "a prepayment should hold a customer"
    assert qbo == csv
    assert xero == csv


def test_metrics_segments_and_forecast_agree_across_hosts(three_ways: Workspace, sandbox: SandboxServer) -> None:
    """Write-offs included: csv says so in a column, QuickBooks and Xero by the bad-debt item on the credit
    note's line (the client's `[write_offs]`)."""
    day = sandbox.world.today
    metrics = [reports.metrics(three_ways, key, as_of=day)[1].as_json(day) for key in ("csv", "qbo", "xero")]
    assert metrics[0]["bad_debt_ratio"], "the company should write some debt off in the period"
    assert metrics[1] == metrics[0] and metrics[2] == metrics[0]

    def segments(key: str) -> dict[str, tuple[object, ...]]:
        return {line.name: (line.segment, line.risk, line.avg_days_late, line.open_balance, line.reasons)
                for line in reports.segments(three_ways, key, as_of=day)[1]}

    def forecast(key: str) -> list[object]:
        found = reports.forecast(three_ways, key, as_of=day)
        return [*found.weeks, found.later, found.doubtful]

    assert segments("qbo") == segments("csv") == segments("xero")
    assert forecast("qbo") == forecast("csv") == forecast("xero")


def test_they_still_agree_after_a_week_of_changes_read_incrementally(three_ways: Workspace, sandbox: SandboxServer,
                                                                      tmp_path: Path) -> None:
    """New invoices and payments, edits, voids and deleted payments, read by QuickBooks' CDC, Xero's
    If-Modified-Since and the csv's snapshot."""
    made = requests.post(f"{sandbox.url}/_sandbox/clock", json={"advance_days": 10}, timeout=60).json()["made"]
    assert made["payments"] and made["voids"] and made["deletions"]
    write_csv_company(sandbox.world.ledger_records(), tmp_path / "ledger")
    for key in ("csv", "qbo", "xero"):
        report = sync_client(three_ways, key)
        assert report.outcome == "succeeded", (key, report.error)
        assert report.total("new") and report.total("deleted"), (key, report.counts)
    csv, qbo, xero = (_aging(three_ways, key, sandbox) for key in ("csv", "qbo", "xero"))
    assert qbo == csv
    assert xero == csv
    assert _plan(three_ways, "qbo", sandbox) == _plan(three_ways, "csv", sandbox) == _plan(three_ways, "xero", sandbox)
