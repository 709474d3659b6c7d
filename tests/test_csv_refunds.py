"""A csv ledger's refunds (`refunds.csv`): cash paid back out of a payment's unapplied amount or a credit
note's credit leaves the customer's credit on the day it is dated, as the hosts' refunds do."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from connector import planning, reports
from connector.adapters import csv as csv_host
from connector.config import Workspace
from connector.sync.runner import sync_client
from tests.test_csv_columns import staged
from tests.test_csv_validation import write_ledger

LEDGER = {
    "customers.csv": "id,name\nC1,Ngata Marine\n",
    "invoices.csv": "id,customer_id,issue_date,due_date,total\n"
                    "I1,C1,2026-01-01,2026-01-31,500.00\n"
                    "I2,C1,2026-03-01,2026-03-31,200.00\n",
    # 800.00 received for a 500.00 invoice: 300.00 left on account; and a credit note of 100.00 unapplied
    "payments.csv": "id,customer_id,date,amount,invoice_id\n"
                    "P1,C1,2026-02-10,500.00,I1\n"
                    "P1,C1,2026-02-10,300.00,\n",
    "credit_notes.csv": "id,customer_id,date,amount,invoice_id\nN1,C1,2026-02-15,100.00,\n",
    "refunds.csv": "payment_id,credit_note_id,date,amount\n"
                   "P1,,2026-04-10,300.00\n"
                   ",N1,2026-04-20,60.00\n",
}


@pytest.fixture
def client(workspace: Workspace, tmp_path: Path) -> Workspace:
    write_ledger(tmp_path / "ledger", LEDGER)
    workspace.create_client("co", "csv", path=str(tmp_path / "ledger"), currency="GBP", timezone="UTC")
    assert sync_client(workspace, "co").outcome == "succeeded"
    return workspace


def credit(workspace: Workspace, day: str) -> Decimal:
    return reports.aging(workspace, "co", as_of=dt.date.fromisoformat(day)).unapplied_credit


def test_refunded_credit_is_held_until_the_refund_and_gone_after(client: Workspace) -> None:
    assert credit(client, "2026-04-05") == Decimal("400.00")
    assert credit(client, "2026-04-15") == Decimal("100.00")
    assert credit(client, "2026-04-25") == Decimal("40.00")


def test_a_refunded_customer_is_chased_again(client: Workspace) -> None:
    """Before the refunds its credit covered the overdue 200.00; without `refunds.csv` it would have been held
    for ever by credit it no longer had."""
    before = planning.plan(client, "co", as_of=dt.date(2026, 4, 6))
    assert before.actions == [] and [h.reason for h in before.holds] == [
        "unapplied credit 400.00 covers the overdue balance 200.00"]
    after = planning.plan(client, "co", as_of=dt.date(2026, 4, 27))
    assert [a.invoice_ids for a in after.actions] == [("I2",)] and after.holds == []


def test_cash_collected_is_net_of_the_refund(client: Workspace) -> None:
    # AR on 31 January 500.00, sales 200.00; 800.00 received and 300.00 of it paid back
    _, metrics = reports.metrics(client, "co", start=dt.date(2026, 2, 1), end=dt.date(2026, 4, 30))
    assert metrics.collection_rate is not None
    assert metrics.collection_rate.quantize(Decimal("0.01")) == Decimal("71.43")  # 500 ÷ 700


def test_a_corrected_refund_is_synced_as_a_change(client: Workspace, tmp_path: Path) -> None:
    (tmp_path / "ledger" / "refunds.csv").write_text(LEDGER["refunds.csv"].replace("2026-04-10", "2026-04-12"))
    report = sync_client(client, "co")
    assert report.outcome == "succeeded" and report.total("updated") == 1
    assert credit(client, "2026-04-11") == Decimal("400.00")


def test_records_with_refunds_are_read_row_by_row_with_the_same_result(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The column-wise reader has no refunds: a chunk holding a refunded record goes row by row."""
    monkeypatch.setattr(csv_host, "CHUNK_ROWS", 2)
    payments = LEDGER["payments.csv"] + "".join(f"P{n},C1,2026-02-1{n},10.00,\n" for n in range(2, 8))
    write_ledger(tmp_path / "ledger", {**LEDGER, "payments.csv": payments,
                                       "refunds.csv": LEDGER["refunds.csv"] + "P5,,2026-04-01,4.00\n"})
    fast, prepared = staged(tmp_path / "ledger", columnwise=True)
    slow, _ = staged(tmp_path / "ledger", columnwise=False)
    assert prepared and fast == slow
    refunded = {row[0]: row for row in fast["payments"] if row[0] in ("P1", "P5")}
    assert len(refunded) == 2 and all("2026-04" in str(row) for row in refunded.values())
