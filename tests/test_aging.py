"""The aging: bucket boundaries, as-of rebuilds, home currency, credits shown apart, and a real dataset."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from connector import reports
from connector.config import Workspace
from connector.engine import figures, inputs
from connector.engine.aging import Buckets, balances_of
from connector.errors import UsageError
from connector.money import to_home
from connector.records import ENTITIES, Allocation, CreditNote, Customer, Invoice, InvoiceStatus, Payment
from connector.sync.runner import sync_client
from connector.sync.store import Store
from tests.conftest import cli, ibm_csv_company, us_date
from tests.test_csv_validation import GOOD, write_ledger

# GOOD, with 10.00 of P1 left unapplied
WITH_CREDIT = {**GOOD, "payments.csv": GOOD["payments.csv"].replace(
    "P1,C1,2026-02-10,50.00,I2,\n", "P1,C1,2026-02-10,50.00,I2,\nP1,C1,2026-02-10,10.00,,\n")}


def client(workspace: Workspace, ledger: Path, files: dict[str, str], currency: str = "GBP") -> str:
    write_ledger(ledger, files)
    workspace.create_client("acme", "csv", path=str(ledger), currency=currency, force=True)
    report = sync_client(workspace, "acme")
    assert report.outcome == "succeeded", report.error
    return "acme"


def ledger_with_due_dates(due_dates: list[str], as_of_total: str = "100.00") -> dict[str, str]:
    invoices = "".join(f"I{n},C1,2024-01-01,{due},{as_of_total}\n" for n, due in enumerate(due_dates))
    return {"customers.csv": "id,name\nC1,Ngata Marine\n",
            "invoices.csv": "id,customer_id,issue_date,due_date,total\n" + invoices,
            "payments.csv": "id,customer_id,date,amount,invoice_id\n"}


def test_bucket_boundaries_follow_days_past_due(workspace: Workspace, tmp_path: Path) -> None:
    as_of = dt.date(2026, 6, 30)
    days = {0: "current", -5: "current", 1: "1-30", 30: "1-30", 31: "31-60", 60: "31-60", 61: "61-90",
            90: "61-90", 91: "91+", 400: "91+"}
    dues = [(as_of - dt.timedelta(days=d)).isoformat() for d in days]
    key = client(workspace, tmp_path / "l", ledger_with_due_dates(dues))
    report = reports.aging(workspace, key, as_of=as_of, by="invoice")
    placed = {line.days: next(b for b, v in line.amounts.items() if v) for line in report.lines}
    assert placed == days
    expected = defaultdict(Decimal)
    for bucket in days.values():
        expected[bucket] += Decimal("100.00")
    assert {b: v for b, v in report.totals.items() if v} == expected


def test_aging_as_of_a_past_date_ignores_later_payments_and_credits(workspace: Workspace, tmp_path: Path) -> None:
    key = client(workspace, tmp_path / "l", WITH_CREDIT, currency="GBP")
    before_payment = reports.aging(workspace, key, as_of=dt.date(2026, 2, 9))
    after_all = reports.aging(workspace, key, as_of=dt.date(2026, 12, 31))
    by_customer = {line.customer_id: line for line in before_payment.lines}
    assert by_customer["C1"].total == Decimal("350.50")  # I1 100.00 + I2 250.50, nothing paid yet
    assert by_customer["C1"].unapplied_credit == Decimal("0.00")
    assert by_customer["C2"].total == Decimal("68.80")  # 80.00 EUR at 0.86
    late = {line.customer_id: line for line in after_all.lines}
    assert late["C1"].total == Decimal("180.50")  # I2 250.50 − 50.00 paid − 20.00 written off
    assert late["C1"].unapplied_credit == Decimal("10.00")  # unapplied cash of P1, shown apart
    assert late["C2"].total == Decimal("43.00")  # 50.00 EUR left at 0.86
    assert after_all.total == Decimal("223.50") and after_all.unapplied_credit == Decimal("10.00")


def test_invoice_date_basis_and_custom_edges(workspace: Workspace, tmp_path: Path) -> None:
    key = client(workspace, tmp_path / "l", ledger_with_due_dates(["2026-06-01"]))
    file = workspace.client_file(key)
    file.write_text(file.read_text() + "\n[aging]\nedges = [15, 45]\n")
    report = reports.aging(workspace, key, as_of=dt.date(2026, 6, 20))
    assert report.buckets == ["current", "1-15", "16-45", "46+"]
    assert report.totals["16-45"] == Decimal("100.00")  # 19 days past due
    report = reports.aging(workspace, key, as_of=dt.date(2026, 6, 20), basis="invoice_date")
    assert report.buckets == ["0-15", "16-45", "46+"]
    assert report.totals["46+"] == Decimal("100.00")  # 201 days since the invoice date


def test_foreign_invoices_are_converted_one_by_one_and_agree_with_the_metrics(workspace: Workspace,
                                                                              tmp_path: Path) -> None:
    """Three 0.01 EUR invoices at 0.5 are 0.01 GBP each once rounded (0.03), not 0.015 rounded (0.02): each
    foreign invoice is converted on its own, by customer as by invoice, and as the metrics convert it."""
    files = {"customers.csv": "id,name\nC1,Aalto Oy\n",
             "invoices.csv": "id,customer_id,issue_date,due_date,total,currency,exchange_rate\n"
                             + "".join(f"I{n},C1,2026-01-01,2026-01-31,0.01,EUR,0.5\n" for n in range(3))
                             + "I9,C1,2026-01-01,2026-01-31,1.00,,\n",
             "payments.csv": "id,customer_id,date,amount,invoice_id\n"}
    key = client(workspace, tmp_path / "l", files)
    day = dt.date(2026, 2, 1)
    by_customer, by_invoice = (reports.aging(workspace, key, as_of=day, by=by) for by in ("customer", "invoice"))
    assert by_customer.totals["1-30"] == by_invoice.totals["1-30"] == Decimal("1.03")
    assert [line.total for line in by_customer.lines] == [Decimal("1.03")]
    assert by_customer.by_currency["EUR"]["1-30"] == Decimal("0.03")
    _, metrics = reports.metrics(workspace, key, as_of=day)
    assert metrics.total_outstanding == by_customer.total


def test_a_month_end_aging_keeps_its_figures_when_later_invoices_bring_new_rates(workspace: Workspace,
                                                                                 tmp_path: Path) -> None:
    """A euro payment on account carries no rate of its own (a csv ledger's), so it is converted at the rate of
    the latest euro invoice.  Rerun in the next month, the March close used to take April's rate: it takes
    the latest by its own day (the first one after, for a currency first billed later)."""
    files = {"customers.csv": "id,name\nC1,Aalto Oy\n",
             "invoices.csv": "id,customer_id,issue_date,due_date,total,currency,exchange_rate\n"
                             "I1,C1,2026-03-10,2026-04-09,100.00,EUR,0.80\n",
             "payments.csv": "id,customer_id,date,amount,invoice_id,currency\nP1,C1,2026-03-20,50.00,,EUR\n"}
    key = client(workspace, tmp_path / "l", files)
    march = dt.date(2026, 3, 31)
    assert reports.aging(workspace, key, as_of=march).unapplied_credit == Decimal("40.00")
    files["invoices.csv"] += "I2,C1,2026-04-10,2026-05-10,100.00,EUR,0.90\n"
    key = client(workspace, tmp_path / "l", files)
    assert reports.aging(workspace, key, as_of=march).unapplied_credit == Decimal("40.00")  # (not 45.00)
    assert reports.aging(workspace, key, as_of=dt.date(2026, 4, 30)).unapplied_credit == Decimal("45.00")
    assert reports.aging(workspace, key, as_of=dt.date(2026, 3, 5)).unapplied_credit == Decimal("0.00")
    files["payments.csv"] += "P0,C1,2026-03-01,10.00,,EUR\n"  # (before any euro invoice: the first rate)
    key = client(workspace, tmp_path / "l", files)
    assert reports.aging(workspace, key, as_of=dt.date(2026, 3, 5)).unapplied_credit == Decimal("8.00")


def test_aging_json_and_csv_outputs(workspace: Workspace, tmp_path: Path) -> None:
    client(workspace, tmp_path / "l", WITH_CREDIT)
    result = cli(workspace, "aging", "acme", "--as-of", "2026-12-31", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"as_of", "currency", "buckets", "customers", "totals"} <= set(data)
    assert data["buckets"] == ["current", "1-30", "31-60", "61-90", "91+"]
    customer = data["customers"][0]
    assert {"customer_id", "name", *data["buckets"], "total"} <= set(customer)
    assert data["totals"]["total"] == "223.50" and data["by_currency"]["EUR"]["total"] == "50.00"
    assert data["totals"]["unapplied_credit"] == "10.00"
    result = cli(workspace, "aging", "acme", "--as-of", "2026-12-31", "--csv", "--by", "invoice")
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0][:4] == ["customer_id", "name", "invoice_id", "number"]
    assert {r[2] for r in rows[1:]} == {"I2", "I3"}
    assert cli(workspace, "aging", "acme", "--as-of", "31/12/2026").exit_code == 2


def test_aging_before_any_sync_says_what_to_do(workspace: Workspace, tmp_path: Path) -> None:
    workspace.create_client("fresh", "csv", path=str(tmp_path))
    result = cli(workspace, "aging", "fresh")
    assert result.exit_code == 2 and "connector sync fresh" in result.output


def test_a_report_dated_after_today_warns_that_it_is_a_projection(workspace: Workspace, tmp_path: Path) -> None:
    """A mistyped year (2027 for 2026) gave an aging of everything overdue, printed as fact."""
    client(workspace, tmp_path / "l", GOOD)
    for command in (["aging", "acme"], ["allowance", "acme"], ["segments", "acme"], ["forecast", "acme"],
                    ["metrics", "acme", "--from", "2098-10-01", "--to"]):
        ahead = cli(workspace, *command, *([] if command[-1] == "--to" else ["--as-of"]), "2099-01-01")
        assert ahead.exit_code == 0 and "warning: 2099-01-01 is after today" in ahead.stderr, (command, ahead.output)
        past = cli(workspace, *command[:2], "--as-of", "2026-03-01")
        assert past.exit_code == 0 and "warning" not in past.stderr, command


def test_a_report_dated_before_the_first_invoice_says_nothing_was_owed_yet(workspace: Workspace,
                                                                          tmp_path: Path) -> None:
    """An aging of a day before the books began printed an empty table, easily read as "nobody owed"."""
    client(workspace, tmp_path / "l", GOOD)
    first = min(row["issue_date"] for row in csv.DictReader(GOOD["invoices.csv"].splitlines()))
    before = (dt.date.fromisoformat(first) - dt.timedelta(days=1)).isoformat()
    for command in (["aging", "acme"], ["allowance", "acme"], ["segments", "acme"], ["forecast", "acme"],
                    ["plan", "acme"], ["metrics", "acme", "--from", "2020-01-01", "--to"]):
        early = cli(workspace, *command, *([] if command[-1] == "--to" else ["--as-of"]), before)
        assert early.exit_code == 0, (command, early.output)
        assert f"warning: {before} is before the client's first invoice (issued {first})" in early.stderr, command
        on_the_day = cli(workspace, *command, *([] if command[-1] == "--to" else ["--as-of"]), first)
        assert "first invoice" not in on_the_day.stderr, command


def test_reports_after_a_first_sync_that_failed_say_so_rather_than_show_nothing_owed(
        workspace: Workspace, tmp_path: Path) -> None:
    """A first sync that fails leaves an empty store behind; reports on it read as if nobody owed anything."""
    bad = {**GOOD, "invoices.csv": GOOD["invoices.csv"].replace("250.50", "25x.50")}
    write_ledger(tmp_path / "l", bad)
    workspace.create_client("acme", "csv", path=str(tmp_path / "l"), currency="GBP")
    assert sync_client(workspace, "acme").outcome == "failed"
    for command in ("aging", "metrics", "allowance", "segments", "forecast", "plan"):
        result = cli(workspace, command, "acme")
        assert result.exit_code == 2, (command, result.output)
        assert "no successful sync yet (its last sync failed): run `connector sync acme`" in result.output
    write_ledger(tmp_path / "l", GOOD)
    assert sync_client(workspace, "acme").outcome == "succeeded"
    assert cli(workspace, "aging", "acme").exit_code == 0


@pytest.mark.parametrize("as_of", [dt.date(2012, 12, 31), dt.date(2013, 6, 30)])
def test_aging_of_the_ibm_sample_equals_a_direct_computation(
        ar_rows: list[dict[str, str]], workspace: Workspace, tmp_path: Path, as_of: dt.date) -> None:
    ibm_csv_company(ar_rows, tmp_path / "ibm")
    workspace.create_client("ibm", "csv", path=str(tmp_path / "ibm"), currency="USD")
    assert sync_client(workspace, "ibm").outcome == "succeeded"
    expected: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in ar_rows:
        if us_date(r["InvoiceDate"]) <= as_of < us_date(r["SettledDate"]):
            late = (as_of - us_date(r["DueDate"])).days
            bucket = ("current" if late <= 0 else "1-30" if late <= 30 else "31-60" if late <= 60
                      else "61-90" if late <= 90 else "91+")
            expected[r["customerID"]][bucket] += Decimal(r["InvoiceAmount"])
    report = reports.aging(workspace, "ibm", as_of=as_of)
    got = {line.customer_id: {b: v for b, v in line.amounts.items() if v} for line in report.lines}
    assert got == {c: dict(b) for c, b in expected.items()}
    assert report.total == sum((sum(b.values()) for b in expected.values()), Decimal(0)) > 0


@pytest.mark.parametrize("snapshot", [frozenset(), frozenset(ENTITIES)], ids=["host batch", "csv snapshot"])
def test_balances_credits_and_settlements_as_of_each_day_equal_a_direct_computation(
        tmp_path: Path, snapshot: frozenset[str]) -> None:
    """Money received on one day and applied on a later one (as hosts date allocations) is credit on the
    days between and pays the invoice from the day it was applied; the store's as-of reads (open invoices,
    credits, invoices settled in a period) agree, day by day, with summing the records themselves.  Both
    ways the store works balances out are used: per batch, and at insert for a csv snapshot."""
    day = dt.date(2026, 3, 1)
    on = [day + dt.timedelta(days=n) for n in range(12)]
    invoices = [Invoice(id="I1", customer_id="C1", issue_date=on[0], due_date=on[3], currency="GBP", total=Decimal("100.00")),
                Invoice(id="I2", customer_id="C1", issue_date=on[2], due_date=on[6], currency="GBP", total=Decimal("40.00")),
                Invoice(id="I3", customer_id="C2", issue_date=on[1], due_date=on[1], currency="EUR", total=Decimal("80.00"),
                        exchange_rate=Decimal("0.86")),
                Invoice(id="I4", customer_id="C2", issue_date=on[1], due_date=on[5], currency="GBP", total=Decimal("5.00"),
                        status=InvoiceStatus.VOID)]
    payments = [Payment(id="P1", customer_id="C1", date=on[1], currency="GBP", amount=Decimal("120.00"), allocations=(
                    Allocation(invoice_id="I1", amount=Decimal("100.00"), date=on[4]),
                    Allocation(invoice_id="I2", amount=Decimal("15.00"), date=on[8]))),
                Payment(id="P2", customer_id="C2", date=on[2], currency="EUR", amount=Decimal("30.00"), allocations=(
                    Allocation(invoice_id="I3", amount=Decimal("30.00")),)),
                Payment(id="P3", customer_id="C2", date=on[3], currency="EUR", amount=Decimal("50.00"),
                        exchange_rate=Decimal("0.87"), allocations=(
                            Allocation(invoice_id="I3", amount=Decimal("50.00"), date=on[9]),))]
    invoices += [Invoice(id="I5", customer_id="C2", issue_date=on[0], due_date=on[0], currency="GBP",
                         total=Decimal("9.00")),
                 Invoice(id="I6", customer_id="C2", issue_date=on[0], due_date=on[1], currency="GBP",
                         total=Decimal("10.00"))]
    payments.append(Payment(id="P4", customer_id="C2", date=on[2], currency="GBP", amount=Decimal("10.00"),
                            allocations=(Allocation(invoice_id="I6", amount=Decimal("10.00")),)))
    notes = [CreditNote(id="N1", customer_id="C1", date=on[5], currency="GBP", amount=Decimal("25.00"), allocations=(
                 Allocation(invoice_id="I2", amount=Decimal("25.00"), date=on[7]),)),
             CreditNote(id="N2", customer_id="C2", date=on[6], currency="GBP", amount=Decimal("9.00"),
                        reason="bad_debt", allocations=(Allocation(invoice_id="I5", amount=Decimal("9.00")),)),
             # applied to an invoice already paid in full: settled by the payment as of the days between,
             # on this credit's day (its last allocation) once it is applied
             CreditNote(id="N3", customer_id="C2", date=on[10], currency="GBP", amount=Decimal("5.00"),
                        allocations=(Allocation(invoice_id="I6", amount=Decimal("5.00")),))]
    with Store(tmp_path / "s.sqlite") as store:
        staging = store.staging()
        staging.add_all([Customer(id="C1", name="Ngata Marine"), Customer(id="C2", name="Aalto Oy"),
                         *invoices, *payments, *notes])
        staging.seal()
        store.merge(staging, snapshot=snapshot)
        staging.drop()
        for as_of in [day - dt.timedelta(days=1), *on]:
            applied = [(a.invoice_id, a.amount, a.date or parent.date, parent.id)
                       for parent in [*payments, *notes] for a in parent.allocations]
            owed = {i.id: i.total - sum((amount for invoice, amount, when, _ in applied
                                          if invoice == i.id and when <= as_of), Decimal(0))
                    for i in invoices if i.issue_date <= as_of and i.status != InvoiceStatus.VOID}
            held = {p.id: p.amount - sum((amount for _, amount, when, source in applied
                                          if source == p.id and when <= as_of), Decimal(0))
                    for p in [*payments, *notes] if p.date <= as_of}
            assert {i.invoice_id: i.balance for i in inputs.open_items(store, as_of)} == \
                {key: value for key, value in owed.items() if value}, as_of
            for customer in ("C1", "C2"):  # (one customer's, as `payment-plan` reads them)
                assert inputs.open_items(store, as_of, customer) == \
                    [i for i in inputs.open_items(store, as_of) if i.customer_id == customer], as_of
            for buckets in (Buckets(), Buckets((2, 5)), Buckets((3,), basis="invoice_date")):  # summed in SQL
                assert sorted(inputs.aged_balances(store, as_of, buckets.anchor, buckets.limits, "GBP"), key=repr) == \
                    sorted(balances_of(inputs.open_items(store, as_of), buckets, as_of, "GBP"), key=repr), as_of
            assert {c.source_id: c.amount for c in inputs.credit_items(store, as_of)} == \
                {key: value for key, value in held.items() if value > 0}, as_of
            rate = {i.id: i.exchange_rate for i in invoices}
            due = {i.id: i.due_date for i in invoices}
            total, current = figures.receivables(store, as_of, "GBP")  # (the metrics' sums of the same)
            assert (total.home("GBP", {}), current.home("GBP", {})) == (
                sum((to_home(v, rate[k], "GBP") for k, v in owed.items()), Decimal(0)),
                sum((to_home(v, rate[k], "GBP") for k, v in owed.items() if due[k] >= as_of), Decimal(0))), as_of
            for start in (day, as_of - dt.timedelta(days=2)):
                settled = {}
                for i in invoices:
                    paid = [(amount, when) for invoice, amount, when, _ in applied if invoice == i.id and when <= as_of]
                    if i.status != InvoiceStatus.VOID and i.id != "I5" and sum(a for a, _ in paid) >= i.total:
                        settled[i.id] = max(when for _, when in paid)
                assert {s.invoice_id: s.settled for s in inputs.settlements(store, start, as_of)} == \
                    {key: when for key, when in settled.items() if when >= start}, (start, as_of)
                # the customers' lateness and the metrics' settlements, summed in SQL from the same invoices
                # (those paid in the period, less the written off, plus those settled though paid more later)
                assert inputs.lateness(store, start, as_of, signed=True) == \
                    inputs.lateness_of(inputs.settlements(store, start, as_of)), (start, as_of)
                those = [(i, settled[i.id]) for i in invoices if i.id in settled and settled[i.id] >= start]
                found = figures.settled(store, start, as_of, "GBP")
                assert (found.count, found.days_to_pay, found.days_late, found.late) == (
                    len(those), sum((on - i.issue_date).days for i, on in those),
                    sum(max(0, (on - i.due_date).days) for i, on in those),
                    sum(1 for i, on in those if on > i.due_date)), (start, as_of)
                assert found.totals.home("GBP", {}) == sum((to_home(i.total, i.exchange_rate, "GBP")
                                                            for i, _ in those), Decimal("0.00")), (start, as_of)


def test_reports_pause_the_cyclic_collector_only_while_they_run(workspace: Workspace, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports switch Python's cyclic garbage collector off while they build (it would walk every live object
    again and again on a big ledger) and leave it as they found it, also when they fail."""
    key = client(workspace, tmp_path / "l", WITH_CREDIT)
    seen: list[bool] = []
    real_age = reports.age
    monkeypatch.setattr(reports, "age", lambda *a, **k: (seen.append(gc.isenabled()), real_age(*a, **k))[1])
    reports.aging(workspace, key, as_of=dt.date(2026, 3, 1))
    assert seen == [False] and gc.isenabled()
    workspace.create_client("never", "csv", path=str(tmp_path / "none"))
    with pytest.raises(UsageError):
        reports.aging(workspace, "never")
    assert gc.isenabled()
    gc.disable()
    try:
        reports.aging(workspace, key, as_of=dt.date(2026, 3, 1))
        assert not gc.isenabled()  # a caller who had switched it off keeps it off
    finally:
        gc.enable()


def test_a_long_table_is_printed_whole_as_plain_aligned_columns(workspace: Workspace, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `PLAIN_TABLE_ROWS` rows (rich's layout takes about a millisecond a row: 46 s for 56,631
    customers), a table is printed as plain columns: every line whole, amounts right-aligned, no markup."""
    from connector.cli import common

    client(workspace, tmp_path / "l", WITH_CREDIT)
    monkeypatch.setattr(common, "PLAIN_TABLE_ROWS", 1)
    lines = cli(workspace, "aging", "acme", "--as-of", "2026-12-31").stdout.splitlines()
    assert lines[0] == "aging as of 2026-12-31 (GBP)"
    end = lines.index("by invoice currency (amounts in that currency, not converted)")  # (the next table)
    header, *rows, total = lines[1:end]
    assert header.split() == ["customer_id", "name", "current", "1-30", "31-60", "61-90", "91+", "total",
                              "unapplied_credit"]
    assert [row.split()[0] for row in rows] == ["C1", "C2"] and "O'Brien & Sons" in rows[0]
    assert "Zoë Çelik GmbH" in rows[1] and total.split()[0] == "total" and "[b]" not in total
    assert len({len(line) for line in (header, *rows, total)}) == 1  # the last column ends in one place
    assert total.split()[-3:] == ["223.50", "223.50", "10.00"]


@pytest.mark.parametrize("plain", [False, True], ids=["rich layout", "plain layout"])
def test_ledger_text_that_looks_like_markup_is_printed_as_it_is(workspace: Workspace, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch, plain: bool) -> None:
    """A name or a reason is the ledger's or a person's text: rich must not take "[b]" for a style nor
    "[/x]" for a tag to close (which stopped the command with a MarkupError)."""
    from connector.cli import common

    odd = {**GOOD, "customers.csv": GOOD["customers.csv"].replace("O'Brien & Sons", "Smith [b]Trading[/b]")
           .replace("Zoë Çelik GmbH", "[/x] Odd & Co")}
    client(workspace, tmp_path / "l", odd)
    monkeypatch.setattr(common.out, "width", 300)  # (rich wraps and cuts cells to a narrow terminal's width)
    if plain:
        monkeypatch.setattr(common, "PLAIN_TABLE_ROWS", 1)

    def shown(text: str, output: str) -> bool:  # (rich wraps a long cell at its spaces)
        return all(word in output.split() for word in text.split())

    aging = cli(workspace, "aging", "acme", "--as-of", "2026-12-31")
    assert aging.exit_code == 0, aging.output
    assert shown("Smith [b]Trading[/b]", aging.stdout) and shown("[/x] Odd & Co", aging.stdout)
    disputed = cli(workspace, "dispute", "acme", "1002", "--open", "see [/quote] and [red]this[/red]")
    assert disputed.exit_code == 0 and "see [/quote] and [red]this[/red]" in disputed.stdout
    plan = cli(workspace, "plan", "acme", "--as-of", "2026-12-31")
    assert plan.exit_code == 0, plan.output
    assert shown("[/x] Odd & Co", plan.stdout) and shown("disputed since", plan.stdout) \
        and shown("see [/quote] and [red]this[/red]", plan.stdout)
    unknown = cli(workspace, "promise", "acme", "[/nope]", "--date", "2027-01-10")
    assert unknown.exit_code == 2 and "no invoice with the id or number '[/nope]'" in unknown.output


def test_people_read_thousands_separators_and_scripts_plain_decimals(workspace: Workspace, tmp_path: Path) -> None:
    client(workspace, tmp_path / "l", ledger_with_due_dates(["2026-01-01"], as_of_total="12345.67"))
    text = cli(workspace, "aging", "acme", "--as-of", "2026-03-01").stdout
    assert "12,345.67" in text and "12345.67" not in text
    rows = cli(workspace, "aging", "acme", "--as-of", "2026-03-01", "--csv").stdout.splitlines()
    assert rows[1].split(",")[-3:] == ["12345.67", "0.00", "0.00"] and "12,345.67" not in "\n".join(rows)


@pytest.mark.parametrize("width", [80, 120])
def test_a_narrow_terminal_never_cuts_a_figure(workspace: Workspace, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """rich, squeezed, shortened amounts and dates to "1,125.…" and "2026-11…".  Tables keep every word
    whole: names wrap at their spaces, and a table too wide for that is printed as plain lines."""
    from connector.cli import common

    long_names = {**GOOD, "customers.csv": GOOD["customers.csv"].replace(
        "O'Brien & Sons", "O'Brien & Sons International Holdings Limited Partnership")}
    client(workspace, tmp_path / "l", long_names)
    monkeypatch.setattr(common.out, "width", width)
    for command in (["aging", "acme", "--as-of", "2026-12-31"], ["plan", "acme", "--as-of", "2026-12-31"],
                    ["allowance", "acme", "--as-of", "2026-12-31"], ["metrics", "acme", "--as-of", "2026-12-31"],
                    ["clients"]):
        result = cli(workspace, *command)
        assert result.exit_code == 0, result.output
        assert "…" not in result.stdout, f"{command[0]} cut a cell:\n{result.stdout}"
    aging = cli(workspace, "aging", "acme", "--as-of", "2026-12-31").stdout
    assert "223.50" in aging.split() and all(w in aging.split() for w in "International Holdings Limited".split())
    allowance = cli(workspace, "allowance", "acme", "--as-of", "2026-12-31").stdout
    assert max(map(len, allowance.splitlines())) <= width  # (a small table still fits the terminal)


def test_a_multi_currency_aging_shows_each_invoice_currency_unconverted(workspace: Workspace, tmp_path: Path) -> None:
    client(workspace, tmp_path / "l", WITH_CREDIT)
    text = cli(workspace, "aging", "acme", "--as-of", "2026-12-31").stdout
    native = text[text.index("by invoice currency"):].splitlines()
    assert native[1].split()[0] == "currency" and native[1].split()[-1] == "total"
    assert {line.split()[0]: line.split()[-1] for line in native[2:]} == {"EUR": "50.00", "GBP": "180.50"}
    single = cli(workspace, "aging", "acme", "--as-of", "2026-01-15").stdout  # (before the EUR invoice)
    assert "by invoice currency" not in single


def test_what_is_in_dispute_is_shown_beside_the_buckets(workspace: Workspace, tmp_path: Path) -> None:
    """A disputed invoice is still owed, so it stays in its bucket; at month-end the accountant weighs it apart
    from the rest, so the aging says how much of each customer's balance is in dispute, and why by invoice."""
    client(workspace, tmp_path / "l", WITH_CREDIT)
    assert cli(workspace, "dispute", "acme", "I3", "--open", "goods returned", "--as-of", "2026-11-01").exit_code == 0
    data = json.loads(cli(workspace, "aging", "acme", "--as-of", "2026-12-31", "--json").stdout)
    by_customer = {c["customer_id"]: c for c in data["customers"]}
    assert (by_customer["C2"]["disputed"], by_customer["C1"]["disputed"]) == ("43.00", "0.00")  # EUR 50.00 at 0.86
    assert data["totals"]["disputed"] == "43.00" and data["totals"]["total"] == "223.50"  # (still owed)
    text = cli(workspace, "aging", "acme", "--as-of", "2026-12-31").stdout
    assert "in dispute: GBP 43.00 of the total (1 customer(s); `connector plan` holds them)" in text
    rows = list(csv.reader(cli(workspace, "aging", "acme", "--as-of", "2026-12-31", "--csv").stdout.splitlines()))
    assert rows[0][-1] == "disputed" and {r[0]: r[-1] for r in rows[1:]} == {"C1": "0.00", "C2": "43.00"}
    invoices = json.loads(cli(workspace, "aging", "acme", "--as-of", "2026-12-31", "--by", "invoice",
                              "--json").stdout)["invoices"]
    assert {i["invoice_id"]: i["dispute"] for i in invoices} == {"I2": None, "I3": "goods returned"}
    rows = list(csv.reader(cli(workspace, "aging", "acme", "--as-of", "2026-12-31", "--by", "invoice",
                               "--csv").stdout.splitlines()))
    assert rows[0][-1] == "dispute" and {r[2]: r[-1] for r in rows[1:]} == {"I2": "", "I3": "goods returned"}
    assert cli(workspace, "dispute", "acme", "I3", "--resolve", "credit note agreed", "--as-of", "2026-11-02").exit_code == 0
    assert json.loads(cli(workspace, "aging", "acme", "--as-of", "2026-12-31", "--json").stdout)["totals"][
        "disputed"] == "0.00"
