"""Syncing a csv ledger: a full load, no-op re-runs, and exactly the differences after edits."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from connector import reports
from connector.config import Workspace
from connector.sync.store import Store
from tests.conftest import cli, dump_store, make_company, read_rows, write_rows


@pytest.fixture(scope="module")
def company_10k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_company(tmp_path_factory.mktemp("ledger"), invoices=10_000)


@pytest.fixture
def ledger(company_10k: Path, tmp_path: Path) -> Path:
    """A private copy of the 10,000-invoice company, free to edit."""
    folder = tmp_path / "ledger"
    folder.mkdir()
    for file in company_10k.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    return folder


def sync_json(workspace: Workspace, *extra: str) -> dict:
    result = cli(workspace, "sync", "acme", "--json", *extra)
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["clients"]
    return report


@pytest.fixture
def synced(workspace: Workspace, ledger: Path) -> Workspace:
    assert cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger), "--currency", "GBP").exit_code == 0
    report = sync_json(workspace)
    assert report["entities"]["invoices"]["new"] == 10_000
    return workspace


def db(workspace: Workspace) -> sqlite3.Connection:
    return sqlite3.connect(workspace.data_dir / "acme" / "store.sqlite")


def test_first_sync_loads_every_row_with_balances(synced: Workspace, ledger: Path) -> None:
    _, invoice_rows = read_rows(ledger / "invoices.csv")
    _, customer_rows = read_rows(ledger / "customers.csv")
    with db(synced) as conn:
        assert conn.execute("SELECT COUNT(*) FROM invoices").fetchone()[0] == len(invoice_rows) == 10_000
        assert conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == len(customer_rows)
        # every balance is the total less what payments and credit notes applied to it
        wrong = conn.execute("""
            SELECT COUNT(*) FROM invoices i WHERE balance <> CASE WHEN status = 'void' THEN 0 ELSE
              total - COALESCE((SELECT SUM(amount) FROM allocations a WHERE a.invoice_id = i.id), 0) END""")
        assert wrong.fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM invoices WHERE balance > 0").fetchone()[0] > 100


def test_second_sync_without_changes_reports_nothing_new(synced: Workspace) -> None:
    before = dump_store(synced.data_dir / "acme" / "store.sqlite")
    report = sync_json(synced)
    assert (report["new"], report["updated"], report["deleted"]) == (0, 0, 0)
    forced = sync_json(synced, "--full")  # re-reads every file, and still finds nothing to change
    assert (forced["new"], forced["updated"], forced["deleted"]) == (0, 0, 0)
    assert forced["unchanged"] > 10_000
    assert dump_store(synced.data_dir / "acme" / "store.sqlite") == before


def test_editing_one_invoice_total_updates_exactly_that_invoice(synced: Workspace, ledger: Path) -> None:
    header, rows = read_rows(ledger / "invoices.csv")
    with db(synced) as conn:
        target = conn.execute("SELECT id, total FROM invoices WHERE status = 'open' AND id NOT IN "
                              "(SELECT invoice_id FROM allocations) ORDER BY id LIMIT 1").fetchone()
    row = next(r for r in rows if r[0] == target[0])
    row[header.index("total")] = "9999.99"
    write_rows(ledger / "invoices.csv", header, rows)
    before = dump_store(synced.data_dir / "acme" / "store.sqlite")

    report = sync_json(synced)

    assert (report["new"], report["updated"], report["deleted"]) == (0, 1, 0)
    assert report["entities"]["invoices"]["updated"] == 1
    after = dump_store(synced.data_dir / "acme" / "store.sqlite")
    changed = [r for r in after["invoices"] if r not in before["invoices"]]
    assert [r[0] for r in changed] == [target[0]]
    with db(synced) as conn:
        assert conn.execute("SELECT total, balance FROM invoices WHERE id = ?", (target[0],)).fetchone() == (
            999999, 999999)
    owed = {line.customer_id: line.total for line in reports.aging(synced, "acme").lines}  # (what people see)
    assert owed[row[header.index("customer_id")]] >= Decimal("9999.99")


def test_removing_a_row_marks_it_deleted_and_keeps_it(synced: Workspace, ledger: Path) -> None:
    header, rows = read_rows(ledger / "invoices.csv")
    with db(synced) as conn:
        (gone,) = conn.execute("SELECT id FROM invoices WHERE balance > 0 AND id NOT IN "
                               "(SELECT invoice_id FROM allocations) ORDER BY id LIMIT 1").fetchone()
    write_rows(ledger / "invoices.csv", header, [r for r in rows if r[0] != gone])

    report = sync_json(synced)

    assert (report["new"], report["updated"], report["deleted"]) == (0, 0, 1)
    with db(synced) as conn:
        deleted_at, balance = conn.execute("SELECT deleted_at, balance FROM invoices WHERE id = ?", (gone,)).fetchone()
        assert deleted_at is not None and balance == 0
        assert conn.execute("SELECT COUNT(*) FROM invoices WHERE deleted_at IS NULL").fetchone()[0] == 9_999
    # putting the row back brings the same invoice back to life
    write_rows(ledger / "invoices.csv", header, rows)
    report = sync_json(synced)
    assert (report["new"], report["updated"], report["deleted"]) == (0, 1, 0)
    with db(synced) as conn:
        assert conn.execute("SELECT deleted_at FROM invoices WHERE id = ?", (gone,)).fetchone() == (None,)


def test_removing_a_payment_reopens_the_invoices_it_paid(synced: Workspace, ledger: Path) -> None:
    header, rows = read_rows(ledger / "payments.csv")
    payment = rows[0][0]
    paid = {r[header.index("invoice_id")] for r in rows if r[0] == payment and r[header.index("invoice_id")]}
    with db(synced) as conn:
        before = dict(conn.execute(f"SELECT id, balance FROM invoices WHERE id IN ({','.join('?' * len(paid))})",
                                   sorted(paid)).fetchall())
        (payments,) = conn.execute("SELECT COUNT(*) FROM payments").fetchone()
    write_rows(ledger / "payments.csv", header, [r for r in rows if r[0] != payment])

    report = sync_json(synced)

    assert report["entities"]["payments"] == {"new": 0, "updated": 0, "deleted": 1,
                                                  "unchanged": payments - 1}
    with db(synced) as conn:
        for invoice, old in before.items():
            applied = conn.execute("SELECT total, balance FROM invoices WHERE id = ?", (invoice,)).fetchone()
            assert applied[1] > old
        assert conn.execute("SELECT COUNT(*) FROM allocations WHERE source_id = ?", (payment,)).fetchone()[0] == 0


def test_sync_summary_line_for_people(synced: Workspace) -> None:
    result = cli(synced, "sync", "acme")
    assert result.exit_code == 0
    assert "acme: nothing changed since the last sync (" in result.stdout  # (not "0 new, … 0 unchanged")
    full = cli(synced, "sync", "acme", "--full")
    assert full.exit_code == 0 and "acme: 0 new, 0 updated, 0 deleted, " in full.stdout and " unchanged in " in full.stdout


def test_clients_shows_last_sync_and_open_balance(synced: Workspace) -> None:
    result = cli(synced, "clients", "--json")
    assert result.exit_code == 0
    (client,) = json.loads(result.stdout)["clients"]
    assert client["last_sync"] is not None and client["last_outcome"] == "succeeded"
    with Store(synced.data_dir / "acme" / "store.sqlite") as store:
        assert Decimal(client["open_balance"]) == store.open_balance("GBP") > 0


def test_sync_all_runs_every_client_and_fails_if_one_fails(synced: Workspace, tmp_path: Path) -> None:
    cli(synced, "init", "empty", "--host", "csv", "--path", str(tmp_path / "nowhere"))
    result = cli(synced, "sync", "--all", "--json")
    assert result.exit_code == 1
    reports = {r["client"]: r for r in json.loads(result.stdout)["clients"]}
    assert reports["acme"]["outcome"] == "succeeded"
    assert reports["empty"]["outcome"] == "failed" and "folder not found" in reports["empty"]["error"]
    listed = {c["client"]: c for c in json.loads(cli(synced, "clients", "--json").stdout)["clients"]}
    assert listed["empty"]["last_outcome"] == "failed" and listed["empty"]["last_sync"] is None
    assert listed["empty"]["open_balance"] is None  # (no books read yet: not "0.00")
    text = cli(synced, "clients").stdout
    assert "never; last run failed" in text and "USD 0.00" not in text


def test_sync_needs_one_client_or_all(workspace: Workspace) -> None:
    assert cli(workspace, "sync").exit_code == 2
    assert cli(workspace, "sync", "acme", "--all").exit_code == 2


def test_balances_stay_right_when_a_payment_moves_and_a_paid_invoice_is_repriced(synced: Workspace,
                                                                                   ledger: Path) -> None:
    """Changed invoices get their balance as they are merged, unchanged ones whose allocations moved are
    recomputed: both must agree with the allocations the store ends up with."""
    header, payments = read_rows(ledger / "payments.csv")
    at_invoice, at_amount = header.index("invoice_id"), header.index("amount")
    invoice_header, invoices = read_rows(ledger / "invoices.csv")
    by_id = {row[0]: row for row in invoices}
    _, credits = read_rows(ledger / "credit_notes.csv")
    allocated = {row[at_invoice] for row in payments if row[at_invoice]} | {row[4] for row in credits if row[4]}
    unpaid = [row for row in invoices if row[0] not in allocated and row[7] == "open"]
    moved, target = next((p, i[0]) for p in payments if p[at_invoice] for i in unpaid
                         if i[1] == p[1] and i[6] == by_id[p[at_invoice]][6]
                         and Decimal(i[4]) >= Decimal(p[at_amount]))
    totals = {row[0]: Decimal(row[4]) for row in invoices}
    source = moved[at_invoice]
    moved[at_invoice] = target  # the payment now pays another invoice of the same customer
    write_rows(ledger / "payments.csv", header, payments)
    repriced = next(row for row in invoices if row[0] in allocated and row[0] != source)
    repriced[4] = str(Decimal(repriced[4]) + Decimal("100.00"))  # a paid invoice's total goes up
    write_rows(ledger / "invoices.csv", invoice_header, invoices)

    report = sync_json(synced)
    assert report["entities"]["payments"]["updated"] == 1 and report["entities"]["invoices"]["updated"] == 1
    with db(synced) as conn:
        wrong = conn.execute("""
            SELECT COUNT(*) FROM invoices i WHERE balance <> CASE WHEN status = 'void' THEN 0 ELSE
              total - COALESCE((SELECT SUM(amount) FROM allocations a WHERE a.invoice_id = i.id), 0) END""")
        assert wrong.fetchone()[0] == 0
        balance = dict(conn.execute("SELECT id, balance FROM invoices WHERE id IN (?, ?, ?)",
                                    (source, target, repriced[0])))
    assert balance[target] < int(totals[target] * 100)  # now partly or wholly paid
    assert balance[repriced[0]] >= 10_000  # at least the 100.00 added is owed


def test_a_first_load_straight_into_the_store_equals_a_staged_merge(workspace: Workspace, ledger: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A first sync writes the ledger straight into the empty store's tables; the usual way stages it,
    checks it and merges it.  Both must leave the same rows, balances and paid-in-full days."""
    from connector.adapters import adapter_for
    from connector.sync import runner

    settled: list[int] = []
    settle = Store.settle_load
    monkeypatch.setattr(Store, "settle_load", lambda self, *a: settled.append(1) or settle(self, *a))
    assert cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger), "--currency", "GBP").exit_code == 0
    assert cli(workspace, "init", "staged", "--host", "csv", "--path", str(ledger), "--currency", "GBP").exit_code == 0
    assert sync_json(workspace)["entities"]["invoices"]["new"] == 10_000
    assert settled == [1]
    adapter = adapter_for(workspace.load_client("staged"), workspace)
    with Store(workspace.store_path("staged")) as store:  # the usual way, as for a store that holds records
        result = runner._pull_into(store, adapter.pull({}, full=True), None, runner.SyncReport("staged", "csv"))
    assert result.total("new") == sync_json(workspace, "--full")["unchanged"]
    assert settled == [1]
    assert dump_store(workspace.store_path("acme")) == dump_store(workspace.store_path("staged"))
    with db(workspace) as conn:
        assert conn.execute("SELECT COUNT(*) FROM invoices WHERE paid_on IS NOT NULL").fetchone()[0] > 1000
