"""Shared fixtures: a workspace in a temp folder, generated csv companies, the CLI, store dumps."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import Workspace
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.consent import CLIENT_ID, SECRET, connect_client
from connector.sandbox.csv_export import write_csv_company
from connector.sandbox.server import SandboxServer

TODAY = dt.date(2026, 6, 30)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ar_late_payments.csv"
DATA_TABLES = ("customers", "invoices", "payments", "credit_notes", "allocations")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "config", tmp_path / "data")


def make_company(folder: Path, invoices: int, seed: int = 3) -> Path:
    write_csv_company(generate(CompanySpec(seed=seed, invoices=invoices, today=TODAY)), folder)
    return folder


def cli(workspace: Workspace, *args: str):
    """Run the `connector` command in-process against the workspace's folders."""
    return CliRunner().invoke(app, ["--config-dir", str(workspace.config_dir),
                                    "--data-dir", str(workspace.data_dir), *args])


def dump_store(path: Path, *, deleted_as_flag: bool = False) -> dict[str, list[tuple]]:
    """Every data row of a store, in a stable order: what "identical stores" compares.

    With `deleted_as_flag`, `deleted_at` becomes 0/1, for comparing stores that learnt of the same
    deletions at different times.
    """
    conn = sqlite3.connect(path)
    try:
        dump = {}
        for table in DATA_TABLES:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            if deleted_as_flag:
                columns = ["deleted_at IS NOT NULL" if c == "deleted_at" else c for c in columns]
            dump[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2, 3").fetchall()
        return dump
    finally:
        conn.close()


def read_rows(file: Path) -> tuple[list[str], list[list[str]]]:
    with file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write_rows(file: Path, header: list[str], rows: list[list[str]]) -> None:
    with file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


# -- the IBM accounts-receivable sample (unstated licence: read from ../shared, never copied) --------------

def us_date(text: str) -> dt.date:
    month, day, year = (int(part) for part in text.split("/"))
    return dt.date(year, month, day)


@pytest.fixture(scope="module")
def ar_rows() -> list[dict[str, str]]:
    if not SHARED.exists():
        pytest.skip("../shared/data/ar_late_payments.csv is absent: the IBM sample's licence is unstated, "
                    "so it is read from there and never copied into the project")
    with SHARED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def ibm_csv_company(rows: list[dict[str, str]], folder: Path) -> None:
    folder.mkdir()
    customers = sorted({r["customerID"] for r in rows})
    with (folder / "customers.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["id", "name"], *([c, f"Customer {c}"] for c in customers)])
    with (folder / "invoices.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["id", "customer_id", "issue_date", "due_date", "total"],
                                 *([r["invoiceNumber"], r["customerID"], us_date(r["InvoiceDate"]),
                                    us_date(r["DueDate"]), r["InvoiceAmount"]] for r in rows)])
    with (folder / "payments.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["id", "customer_id", "date", "amount", "invoice_id"],
                                 *([f"PAY-{r['invoiceNumber']}", r["customerID"], us_date(r["SettledDate"]),
                                    r["InvoiceAmount"], r["invoiceNumber"]] for r in rows)])


def connect_host(workspace: Workspace, sandbox: SandboxServer, host: str, monkeypatch: pytest.MonkeyPatch) -> str:
    prefix = "QBO" if host == "quickbooks" else "XERO"
    monkeypatch.setenv(f"{prefix}_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv(f"{prefix}_CLIENT_SECRET", SECRET)
    return connect_client(workspace, sandbox, host)


def host_aging(sandbox: SandboxServer) -> tuple[dict[str, Decimal], Decimal]:
    """The sandbox company's own aged-receivables totals today: by customer name, and the grand total."""
    from connector.sandbox.qbo_reports import aged_receivables

    *rows, grand = aged_receivables(sandbox.world, {"report_date": sandbox.world.today.isoformat()})["Rows"]["Row"]
    return ({r["ColData"][0]["value"]: Decimal(r["ColData"][-1]["value"]) for r in rows},
            Decimal(grand["Summary"]["ColData"][-1]["value"]))


def assert_aging_matches_host(workspace: Workspace, key: str, sandbox: SandboxServer) -> None:
    """The client's store, aged as of the company's today, equals the host's own figures to the cent."""
    from connector import reports

    by_customer, total = host_aging(sandbox)
    ours = reports.aging(workspace, key, as_of=sandbox.world.today)
    assert {line.name: line.total for line in ours.lines if line.total} == by_customer
    assert ours.total == total
