"""The worked examples of peers.md D.1, each built as a csv company whose figures give the example's inputs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from connector import reports
from connector.config import Workspace
from connector.engine import figures, inputs
from connector.engine.inputs import Sale
from connector.engine.metrics import countback_dso, countback_settles
from connector.sync.runner import sync_client
from connector.records import Allocation, Payment
from connector.sync.store import Store
from tests.conftest import cli, ibm_csv_company

D = dt.date


def company(workspace: Workspace, folder: Path, invoices: list[tuple], payments: list[tuple] = (),
            credits: list[tuple] = (), cei: str = "period_total") -> str:
    """invoices: (id, issue, due, total); payments: (id, date, amount, invoice_id); credits: + reason."""
    folder.mkdir()
    (folder / "customers.csv").write_text("id,name\nC1,Kowalski Builders\n")
    (folder / "invoices.csv").write_text("id,customer_id,issue_date,due_date,total\n" + "".join(
        f"{i},C1,{issued},{due},{total}\n" for i, issued, due, total in invoices))
    (folder / "payments.csv").write_text("id,customer_id,date,amount,invoice_id\n" + "".join(
        f"{p},C1,{on},{amount},{invoice}\n" for p, on, amount, invoice in payments))
    (folder / "credit_notes.csv").write_text("id,customer_id,date,amount,invoice_id,reason\n" + "".join(
        f"{n},C1,{on},{amount},{invoice},{reason}\n" for n, on, amount, invoice, reason in credits))
    file = workspace.create_client("co", "csv", path=str(folder), currency="USD", force=True)
    file.write_text(file.read_text() + f'\n[metrics]\ncei_sales = "{cei}"\n')
    report = sync_client(workspace, "co")
    assert report.outcome == "succeeded", report.error
    return "co"


def test_dso_best_possible_dso_and_add(workspace: Workspace, tmp_path: Path) -> None:
    # AR 15,000 of which 4,000 not yet due; credit sales 10,000 over 30 days (creditguru example)
    key = company(workspace, tmp_path / "co", [
        ("OLD", D(2026, 4, 1), D(2026, 5, 1), "5000.00"),
        ("A", D(2026, 6, 20), D(2026, 7, 20), "4000.00"),
        ("B", D(2026, 6, 5), D(2026, 6, 25), "6000.00"),
    ])
    _, m = reports.metrics(workspace, key, start=D(2026, 6, 1), end=D(2026, 6, 30))
    assert (m.total_outstanding, m.dso, m.best_possible_dso, m.add) == (
        Decimal("15000.00"), Decimal("45.00"), Decimal("12.00"), Decimal("33.00"))
    assert m.overdue_pct == Decimal("73.33")


def test_countback_dso(workspace: Workspace, tmp_path: Path) -> None:
    # AR 12,000 at 30 Sep; sales Sep 2,500, Aug 1,750, Jul 2,250, Jun 2,500, May 2,000, Apr 2,250
    # → 30 + 31 + 31 + 30 + 31 = 153 days, plus 1,000 / 2,250 of April's 30 days = 166.33
    months = [(9, "2500.00"), (8, "1750.00"), (7, "2250.00"), (6, "2500.00"), (5, "2000.00"), (4, "2250.00")]
    invoices = [(f"M{m}", D(2026, m, 15), D(2026, m, 15), total) for m, total in months]
    key = company(workspace, tmp_path / "co", invoices, payments=[("P1", D(2026, 5, 1), "1250.00", "M4")])
    _, m = reports.metrics(workspace, key, as_of=D(2026, 9, 30))
    assert m.total_outstanding == Decimal("12000.00")
    assert m.dso_countback == Decimal("166.33")


@pytest.mark.parametrize("convention, expected", [("period_total", "79.63"), ("monthly_average", "55.93")])
def test_cei_in_both_conventions(workspace: Workspace, tmp_path: Path, convention: str, expected: str) -> None:
    # Jan–Mar: opening AR 6,200; credit sales 10,890; ending AR 6,340 of which 3,590 current
    key = company(workspace, tmp_path / "co", [
        ("O", D(2025, 12, 1), D(2025, 12, 31), "6200.00"),
        ("S1", D(2026, 1, 10), D(2026, 4, 30), "3590.00"),
        ("S2", D(2026, 2, 10), D(2026, 3, 10), "7300.00"),
    ], payments=[("P1", D(2026, 1, 20), "6200.00", "O"), ("P2", D(2026, 3, 1), "4550.00", "S2")], cei=convention)
    _, m = reports.metrics(workspace, key, start=D(2026, 1, 1), end=D(2026, 3, 31))
    assert m.total_outstanding == Decimal("6340.00")
    assert m.cei == Decimal(expected)
    assert m.collection_rate == Decimal("62.90")  # 10,750 collected ÷ (6,200 + 10,890)


def test_days_to_pay_simple_and_weighted(workspace: Workspace, tmp_path: Path) -> None:
    # simple: 28, 22, 15, 35, 20 days → 24 (Sage); weighted: $100 at 10 days and $1,000 at 20 → 19.09
    issued = D(2026, 3, 1)
    simple = [(f"S{d}", d) for d in (28, 22, 15, 35, 20)]
    key = company(workspace, tmp_path / "simple", [(i, issued, issued, "50.00") for i, _ in simple],
                  payments=[(f"P{i}", issued + dt.timedelta(days=d), "50.00", i) for i, d in simple])
    _, m = reports.metrics(workspace, key, start=D(2026, 3, 1), end=D(2026, 5, 29))
    assert m.avg_days_to_pay == Decimal("24.00")
    assert m.avg_days_late == Decimal("24.00") and m.pct_paid_late == Decimal("100.00")
    key = company(workspace, tmp_path / "weighted", [("A", issued, D(2026, 3, 15), "100.00"),
                                                     ("B", issued, D(2026, 3, 31), "1000.00")],
                  payments=[("PA", D(2026, 3, 11), "100.00", "A"), ("PB", D(2026, 3, 21), "1000.00", "B")])
    _, m = reports.metrics(workspace, key, start=D(2026, 3, 1), end=D(2026, 5, 29))
    assert (m.avg_days_to_pay, m.avg_days_to_pay_weighted) == (Decimal("15.00"), Decimal("19.09"))
    assert (m.avg_days_late, m.pct_paid_late) == (Decimal("0.00"), Decimal("0.00"))


def test_bad_debt_ratio_and_written_off_invoices_are_not_paid(workspace: Workspace, tmp_path: Path) -> None:
    # 1,000 written off of 100,000 of credit sales → 1 %
    key = company(workspace, tmp_path / "co", [("BIG", D(2026, 1, 5), D(2026, 2, 4), "99000.00"),
                                                ("BAD", D(2026, 1, 6), D(2026, 2, 5), "1000.00")],
                  credits=[("N1", D(2026, 3, 20), "1000.00", "BAD", "bad_debt")])
    _, m = reports.metrics(workspace, key, start=D(2026, 1, 1), end=D(2026, 3, 31))
    assert m.bad_debt_ratio == Decimal("1.00")
    assert m.avg_days_to_pay is None  # the written-off invoice is settled, but nobody paid it


def test_metrics_json_keys_and_period_options(workspace: Workspace, tmp_path: Path) -> None:
    company(workspace, tmp_path / "co", [("A", D(2026, 6, 20), D(2026, 7, 20), "4000.00")])
    result = cli(workspace, "metrics", "co", "--as-of", "2026-06-30", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["as_of", "from", "to", "total_outstanding", "overdue_pct", "dso", "dso_countback",
                          "best_possible_dso", "add", "cei", "collection_rate", "bad_debt_ratio",
                          "avg_days_to_pay", "avg_days_to_pay_weighted", "avg_days_late", "pct_paid_late"]
    assert (data["from"], data["to"], data["total_outstanding"]) == ("2026-04-02", "2026-06-30", "4000.00")
    assert data["dso"] == 90 and data["avg_days_to_pay"] is None
    text = cli(workspace, "metrics", "co", "--as-of", "2026-06-30").stdout  # for people: n/a, separators
    assert "4,000.00" in text and "avg_days_to_pay" in text and "n/a" in text
    figures = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:]}
    assert figures["dso"] == ["90.00", "days"] and figures["overdue_pct"] == ["0.00", "%"]  # (two places: not 90)
    assert figures["total_outstanding"] == ["4,000.00", "USD"] and figures["avg_days_to_pay"] == ["n/a"]
    assert cli(workspace, "metrics", "co", "--from", "2026-07-01", "--to", "2026-06-01").exit_code == 2
    assert cli(workspace, "metrics", "co", "--as-of", "2026-06-30", "--to", "2026-06-01").exit_code == 2


def test_payment_behaviour_of_the_ibm_sample_equals_its_own_columns(
        ar_rows: list[dict[str, str]], workspace: Workspace, tmp_path: Path) -> None:
    ibm_csv_company(ar_rows, tmp_path / "ibm")
    workspace.create_client("ibm", "csv", path=str(tmp_path / "ibm"), currency="USD")
    assert sync_client(workspace, "ibm").outcome == "succeeded"
    _, m = reports.metrics(workspace, "ibm", start=D(2012, 1, 1), end=D(2014, 1, 31))
    count, cents = Decimal(len(ar_rows)), Decimal("0.01")
    late = [int(r["DaysLate"]) for r in ar_rows]
    assert m.avg_days_late == (sum(late) / count).quantize(cents, ROUND_HALF_UP)
    assert m.pct_paid_late == (sum(1 for d in late if d > 0) * 100 / count).quantize(cents, ROUND_HALF_UP)
    assert m.avg_days_to_pay == (sum(int(r["DaysToSettle"]) for r in ar_rows) / count).quantize(cents, ROUND_HALF_UP)


def test_a_recent_history_that_settles_the_countback_gives_the_full_historys_figure() -> None:
    """`metrics` reads only the last months of sales when receivables run out within them; for every ending
    balance, whenever `countback_settles` says the short history suffices, the figure is the full one's."""
    sales = [Sale(f"{m}", D(2026, m, 10), Decimal(amount), "USD", None)
             for m, amount in [(1, "900"), (2, "0.01"), (3, "2500"), (4, "2250"), (5, "2000"), (7, "2250"),
                               (8, "1750"), (9, "2500")]]
    recent = [s for s in sales if s.issue_date >= D(2026, 6, 1)]
    settled_seen = unsettled_seen = 0
    for ending in [Decimal(n) for n in (0, 1, 2500, 4249, 4250, 6500, 6501, 9000, 20000)]:
        full = countback_dso(ending, sales, D(2026, 9, 30), "USD", {})
        if countback_settles(ending, recent, D(2026, 9, 30), "USD", {}):
            settled_seen += 1
            assert countback_dso(ending, recent, D(2026, 9, 30), "USD", {}) == full, ending
        else:
            unsettled_seen += 1
            assert ending > Decimal("6500")  # June's nothing, July to September 6,500: more needs more months
    assert settled_seen and unsettled_seen


def test_the_periods_sales_and_the_recent_months_come_from_one_read_as_they_would_from_two(
        workspace: Workspace, tmp_path: Path) -> None:
    """`figures.sales_and_months` splits one read of the invoices into the period's sales (foreign invoices
    converted one by one) and the months since a day (as `inputs.monthly_sales` sums them), whichever of the
    two starts first; void invoices are no sales."""
    ledger = tmp_path / "l"
    ledger.mkdir()
    (ledger / "customers.csv").write_text("id,name\nC1,Aalto Oy\n")
    (ledger / "invoices.csv").write_text(
        "id,customer_id,issue_date,due_date,total,currency,exchange_rate,status\n"
        "I1,C1,2026-01-20,2026-02-20,100.00,,,\n" "I2,C1,2026-02-03,2026-03-03,40.00,,,\n"
        "I3,C1,2026-02-10,2026-03-10,0.01,EUR,0.5,\n" "I4,C1,2026-02-11,2026-03-11,0.01,EUR,0.5,\n"
        "I5,C1,2026-03-05,2026-04-05,7.00,,,void\n" "I6,C1,2026-03-31,2026-04-30,12.50,EUR,0.8,\n"
        "I7,C1,2026-04-01,2026-05-01,99.00,,,\n")
    (ledger / "payments.csv").write_text("id,customer_id,date,amount,invoice_id\n")
    workspace.create_client("co", "csv", path=str(ledger), currency="USD", force=True)
    assert sync_client(workspace, "co").outcome == "succeeded"
    with Store(workspace.store_path("co")) as store:
        for start, since in ((D(2026, 2, 1), D(2026, 1, 1)), (D(2026, 1, 1), D(2026, 2, 1))):
            period, months = figures.sales_and_months(store, start, D(2026, 3, 31), "USD", since=since)
            assert months == [sale for _, sale in inputs.monthly_sales(store, since, D(2026, 3, 31))]
            home = sum((amount for cur, _, amount in period.groups if cur == "USD"), Decimal(0))
            assert home == (Decimal("140.00") if start.month == 1 else Decimal("40.00"))
            assert sorted((g for g in period.groups if g[0] == "EUR"), key=repr) == [
                ("EUR", Decimal("0.5"), Decimal("0.01")), ("EUR", Decimal("0.5"), Decimal("0.01")),
                ("EUR", Decimal("0.8"), Decimal("12.50"))]  # one by one: 0.01 at 0.5 is 0.01 each, not 0.02 × 0.5
            assert period.home("USD", {}) == home + Decimal("0.02") + Decimal("10.00")


def test_metrics_read_while_a_sync_commits_are_of_one_state_of_the_store(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A payment merged by another connection while the metrics read (after the closing receivables, before
    the receipts) would give receivables from before it and receipts from after; the metrics see the commit
    and read again, in one snapshot, and agree with metrics read afterwards."""
    key = company(workspace, tmp_path / "co", [("A", D(2026, 6, 5), D(2026, 6, 25), "6000.00"),
                                               ("B", D(2026, 6, 20), D(2026, 7, 20), "4000.00")])
    real = figures.sales_and_months
    calls: list[bool] = []

    def sales_while_a_payment_lands(store: Store, *args: object, **kwargs: object) -> object:
        calls.append(store.conn.in_transaction)
        if len(calls) == 1:
            with Store(workspace.store_path(key)) as other:
                staging = other.staging()
                staging.add_all([Payment(id="P9", customer_id="C1", date=D(2026, 6, 28), currency="USD",
                                         amount=Decimal("6000.00"),
                                         allocations=(Allocation(invoice_id="A", amount=Decimal("6000.00")),))])
                staging.seal()
                other.merge(staging)
                staging.drop()
        return real(store, *args, **kwargs)

    monkeypatch.setattr(figures, "sales_and_months", sales_while_a_payment_lands)
    _, during = reports.metrics(workspace, key, as_of=D(2026, 6, 30))
    assert calls == [False, True]  # read again, inside one read transaction
    monkeypatch.setattr(figures, "sales_and_months", real)
    _, after = reports.metrics(workspace, key, as_of=D(2026, 6, 30))
    assert during == after and during.total_outstanding == Decimal("4000.00")
    assert during.collection_rate == Decimal("60.00")  # 6,000 received of 10,000 sold


def test_an_invoice_paid_by_a_prepayment_was_paid_on_its_issue_date_and_the_prepayment_held_until_then(
        workspace: Workspace, tmp_path: Path) -> None:
    # A customer pays 500.00 on 20 May for an order; the ledger applies that payment, with its own date, to the
    # invoice issued on 10 June.  The invoice was paid on 10 June (0 days), not 21 days before it existed, and
    # until 10 June the customer held 500.00 of credit.  Another invoice is paid 20 days after its date.
    key = company(workspace, tmp_path / "co", [("PRE", D(2026, 6, 10), D(2026, 7, 10), "500.00"),
                                               ("B", D(2026, 6, 1), D(2026, 6, 30), "1000.00")],
                  [("P0", D(2026, 5, 20), "500.00", "PRE"), ("P1", D(2026, 6, 21), "1000.00", "B")])

    _, june = reports.metrics(workspace, key, start=D(2026, 6, 1), end=D(2026, 6, 30))
    _, may = reports.metrics(workspace, key, start=D(2026, 5, 1), end=D(2026, 5, 31))

    assert (june.avg_days_to_pay, june.avg_days_late, june.pct_paid_late) == (Decimal("10.00"), Decimal("0.00"),
                                                                              Decimal("0.00"))
    assert may.avg_days_to_pay is None  # (nothing existed in May to be paid)

    before, on_issue = (reports.aging(workspace, key, as_of=day) for day in (D(2026, 6, 9), D(2026, 6, 10)))
    assert (before.total, before.unapplied_credit) == (Decimal("1000.00"), Decimal("500.00"))
    assert (on_issue.total, on_issue.unapplied_credit) == (Decimal("1000.00"), Decimal("0.00"))
