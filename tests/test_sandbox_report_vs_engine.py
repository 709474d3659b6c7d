"""The same company, read two ways: the sandbox's own AgedReceivables report equals the engine's aging of
the same books synced from csv, bucket by bucket and customer by customer, to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from connector import reports
from connector.config import Workspace
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.csv_export import write_csv_company
from connector.sandbox.qbo_reports import aged_receivables
from connector.sandbox.world import World
from connector.sync.runner import sync_client

SPEC = CompanySpec(seed=11, invoices=3_000, today=dt.date(2026, 6, 30), home_currency="GBP")
# the company's today, a year-end, and every 37th day back over two years (month-ends, mid-months, weekends)
DAYS = ["2026-06-30", "2025-12-31", *(str(SPEC.today - dt.timedelta(days=37 * n)) for n in range(1, 20))]


@pytest.mark.parametrize("seed", [11, 29])
def test_sandbox_report_equals_the_engines_aging(workspace: Workspace, tmp_path: Path, seed: int) -> None:
    """The sandbox's report walks every invoice and its payments and credits in Python, one by one: an oracle
    for the engine's sums of the open-invoice index and the allocations after the day, on any day."""
    spec = CompanySpec(seed=seed, invoices=3_000, today=SPEC.today, home_currency="GBP")
    write_csv_company(generate(spec), tmp_path / "ledger")
    workspace.create_client("co", "csv", path=str(tmp_path / "ledger"), currency="GBP")
    assert sync_client(workspace, "co").outcome == "succeeded"
    world = World.generate(spec)
    for day in DAYS:
        report = aged_receivables(world, {"report_date": day})
        ours = reports.aging(workspace, "co", as_of=dt.date.fromisoformat(day))
        by_name = {line.name: line for line in ours.lines if line.total}
        *rows, grand = report["Rows"]["Row"]
        assert len(rows) == len(by_name)
        for row in rows:
            name, *cells, total = [c["value"] for c in row["ColData"]]
            line = by_name[name]
            assert [Decimal(c or "0") for c in cells] == [line.amounts[b] for b in ours.buckets], name
            assert Decimal(total) == line.total
        assert Decimal(grand["Summary"]["ColData"][-1]["value"]) == ours.total


def test_detail_report_lists_the_engines_open_invoices(workspace: Workspace, tmp_path: Path) -> None:
    from connector.sandbox.qbo_reports import aged_receivable_detail

    write_csv_company(generate(SPEC), tmp_path / "ledger")
    workspace.create_client("co", "csv", path=str(tmp_path / "ledger"), currency="GBP")
    assert sync_client(workspace, "co").outcome == "succeeded"
    report = aged_receivable_detail(World.generate(SPEC), {"report_date": "2026-06-30"})
    ours = reports.aging(workspace, "co", as_of=dt.date(2026, 6, 30), by="invoice")
    *sections, grand = report["Rows"]["Row"]
    titles = [s["Header"]["ColData"][0]["value"] for s in sections]
    assert titles == ["Current", "1 - 30 days past due", "31 - 60 days past due", "61 - 90 days past due",
                      "91 or more days past due"]
    numbers = {row["ColData"][2]["value"]: Decimal(row["ColData"][6]["value"])
               for s in sections for row in s["Rows"]["Row"]}
    assert numbers == {line.number: line.total for line in ours.lines}
    assert Decimal(grand["Summary"]["ColData"][-1]["value"]) == ours.total
