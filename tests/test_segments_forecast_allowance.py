"""Allowance (aging method), segments with risk and reasons, and the cash forecast."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

from connector import reports
from connector.config import Workspace
from connector.sync.runner import sync_client
from tests.conftest import cli

AS_OF = dt.date(2026, 6, 30)


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def ledger(workspace: Workspace, folder: Path, customers: list[str], invoices: list[tuple],
           payments: list[tuple] = (), currency: str = "GBP", extra: str = "") -> str:
    """invoices: (id, customer, issue, due, total); payments: (id, customer, date, amount, invoice)."""
    folder.mkdir()
    (folder / "customers.csv").write_text("id,name\n" + "".join(f"{c},Customer {c}\n" for c in customers))
    (folder / "invoices.csv").write_text("id,customer_id,issue_date,due_date,total\n" + "".join(
        f"{i},{c},{a},{b},{t}\n" for i, c, a, b, t in invoices))
    (folder / "payments.csv").write_text("id,customer_id,date,amount,invoice_id\n" + "".join(
        f"{p},{c},{d},{a},{i}\n" for p, c, d, a, i in payments))
    file = workspace.create_client("co", "csv", path=str(folder), currency=currency, force=True)
    file.write_text(file.read_text() + extra)
    assert sync_client(workspace, "co").outcome == "succeeded"
    return "co"


TEXTBOOK = [("820000", 0), ("328000", 15), ("65600", 45), ("32800", 75), ("13120", 120)]
RATES = '\n[allowance]\nrates = { current = "1.20", "1-30" = "1.95", "31-60" = "6.45", "61-90" = "32.50", "91+" = "67" }\n'


def test_allowance_reproduces_the_textbook_schedule_with_both_roundings(workspace: Workspace, tmp_path: Path) -> None:
    # Not due 820,000 at 1.20 % = 9,840; 1–30 328,000 at 1.95 % = 6,396; 31–60 65,600 at 6.45 % = 4,231.20;
    # 61–90 32,800 at 32.5 % = 10,660; over 90 13,120 at 67 % = 8,790.40 → 39,917.60 (whole yen: 39,917 by
    # line, 39,918 rounded once)
    invoices = [(f"I{n}", "C1", ago(days + 30), ago(days), total) for n, (total, days) in enumerate(TEXTBOOK)]
    key = ledger(workspace, tmp_path / "co", ["C1"], invoices, currency="JPY", extra=RATES)
    result = reports.allowance(workspace, key, as_of=AS_OF)
    assert [line.allowance for line in result.lines] == [Decimal(v) for v in ("9840", "6396", "4231", "10660", "8790")]
    assert result.total == Decimal("39917")
    file = workspace.client_file(key)
    file.write_text(file.read_text().replace("[allowance]\n", '[allowance]\nrounding = "total"\n'))
    assert reports.allowance(workspace, key, as_of=AS_OF).total == Decimal("39918")
    data = json.loads(cli(workspace, "allowance", key, "--as-of", str(AS_OF), "--json").stdout)
    assert data["total"] == "39918" and data["lines"][2]["rate_pct"] == "6.45"


def test_schedules_come_as_csv_for_spreadsheets_with_the_json_figures(workspace: Workspace, tmp_path: Path) -> None:
    """The allowance goes into the month-end journal and the forecast into the cash plan, both kept in
    spreadsheets: each prints CSV with the JSON's figures, as do the metrics and the plan's actions."""
    invoices = [(f"I{n}", "C1", ago(days + 30), ago(days), total) for n, (total, days) in enumerate(TEXTBOOK)]
    key = ledger(workspace, tmp_path / "co", ["C1"], invoices, currency="JPY", extra=RATES)

    def both(command: str, *more: str) -> tuple[list[list[str]], object]:
        args = [command, key, "--as-of", str(AS_OF), *more]
        text, data = cli(workspace, *args, "--csv"), cli(workspace, *args, "--json")
        assert text.exit_code == 0 and data.exit_code == 0, text.output
        return list(csv.reader(io.StringIO(text.stdout))), json.loads(data.stdout)

    rows, data = both("allowance")
    assert rows[0] == ["bucket", "balance", "rate_pct", "allowance"]
    assert [r[1:] for r in rows[1:-1]] == [[line["balance"], line["rate_pct"], line["allowance"]]
                                          for line in data["lines"]]  # type: ignore[index]
    assert rows[-1] == ["total", "", "", data["total"]]  # type: ignore[index]
    rows, data = both("forecast", "--weeks", "3")
    assert [r[3] for r in rows[1:]] == [*(w["expected"] for w in data["weeks"]), data["later"], data["doubtful"],
                                     data["disputed"]]  # type: ignore[index]
    rows, data = both("metrics")
    assert {k: v and Decimal(v) for k, v in rows[1:]} == {  # (JSON's are numbers: 34.9 for the CSV's 34.90)
        k: "" if v is None else Decimal(str(v)) for k, v in data.items() if k not in ("as_of", "from", "to")}  # type: ignore[union-attr]
    rows, data = both("plan")
    assert [(r[3], r[7], r[9]) for r in rows[1:]] == [(a["step"], a["amount"], a["key"]) for a in data["actions"]]  # type: ignore[index]


def test_allowance_without_a_rate_for_a_bucket_names_the_key(workspace: Workspace, tmp_path: Path) -> None:
    key = ledger(workspace, tmp_path / "co", ["C1"], [("I1", "C1", ago(40), ago(10), "10.00")],
                 extra='\n[allowance]\nrates = { current = "1" }\n')
    result = cli(workspace, "allowance", key, "--as-of", str(AS_OF))
    assert result.exit_code == 2 and "allowance.rates" in result.output and "1-30" in result.output


def test_allowance_with_a_rate_for_no_bucket_names_it_and_the_buckets(workspace: Workspace, tmp_path: Path) -> None:
    """A misspelt bucket ("91 +") beside the right ones was ignored: its rate was never applied."""
    rates = 'current = "1", "1-30" = "3", "31-60" = "10", "61-90" = "25", "91+" = "50", "91 +" = "60"'
    key = ledger(workspace, tmp_path / "co", ["C1"], [("I1", "C1", ago(40), ago(10), "10.00")],
                 extra=f'\n[allowance]\nrates = {{ {rates} }}\n')
    result = cli(workspace, "allowance", key, "--as-of", str(AS_OF))
    assert result.exit_code == 2, result.output
    assert "allowance.rates" in result.output and "no bucket named '91 +'" in result.output
    assert "current, 1-30, 31-60, 61-90, 91+" in result.output


def history(customer: str, lateness: list[int], start: int = 300) -> tuple[list[tuple], list[tuple]]:
    invoices, payments = [], []
    for n, late in enumerate(lateness):
        due = ago(start - 30 * n)
        invoices.append((f"{customer}-{n}", customer, due - dt.timedelta(days=30), due, "100.00"))
        payments.append((f"P{customer}-{n}", customer, due + dt.timedelta(days=late), "100.00", f"{customer}-{n}"))
    return invoices, payments


def test_segments_with_their_figures_and_risk(workspace: Workspace, tmp_path: Path) -> None:
    people = {"PROMPT": [0, 0, 0, 0, 0], "OCCAS": [0, 0, 0, 0, 10], "FREQ": [30, 20, 25, 40],
              "NEW": [0], "LATE": [60, 70, 80]}
    invoices, payments = [], []
    for customer, lateness in people.items():
        i, p = history(customer, lateness)
        invoices += i
        payments += p
    invoices.append(("OLD", "OCCAS", ago(150), ago(120), "500.00"))  # owed 120 days past due: a problem now
    invoices.append(("BIG", "PROMPT", ago(10), ago(-20), "5000.00"))
    key = ledger(workspace, tmp_path / "co", [*people, "QUIET"], invoices, payments,
                 extra='\n[customers.PROMPT]\ncredit_limit = "1000.00"\n')
    _, rows = reports.segments(workspace, key, as_of=AS_OF)
    got = {r.customer_id: r for r in rows}
    assert {k: r.segment for k, r in got.items()} == {
        "PROMPT": "prompt", "OCCAS": "problem", "FREQ": "frequently_late", "NEW": "new", "LATE": "problem",
        "QUIET": "new"}
    assert got["OCCAS"].reasons[0] == "owes 120 days past due (more than 90)"
    assert got["LATE"].avg_days_late == Decimal("70.00") and got["LATE"].risk >= 60
    assert (got["FREQ"].pct_paid_late, got["FREQ"].avg_days_late) == (Decimal("100.00"), Decimal("28.75"))
    assert got["PROMPT"].over_limit and "over its credit limit of 1,000.00" in got["PROMPT"].reasons[-1]
    assert got["PROMPT"].risk == 10  # never late; only the credit-limit breach counts
    assert rows[0].risk >= rows[-1].risk  # worst first
    data = json.loads(cli(workspace, "segments", key, "--as-of", str(AS_OF), "--json").stdout)
    assert "owes (GBP)" in cli(workspace, "segments", key, "--as-of", str(AS_OF)).stdout  # (in which currency)
    assert {c["customer_id"] for c in data["customers"]} == set(got)
    assert names_alone(workspace, key) == {k: r.segment for k, r in got.items()}  # what a plan reads
    # OCCAS disputes the old invoice: not a problem account for it (its other invoices would be chased a week
    # early, in the problem tone), and the report says why the 120 days do not count
    assert cli(workspace, "dispute", key, "OLD", "--open", "never delivered", "--as-of", str(AS_OF)).exit_code == 0
    _, rows = reports.segments(workspace, key, as_of=AS_OF)
    disputing = next(r for r in rows if r.customer_id == "OCCAS")
    assert (disputing.segment, disputing.oldest_days_past_due) == ("occasionally_late", 120)
    assert disputing.reasons[-1] == "owes 120 days past due on an invoice it disputes (not counted against it)"
    assert names_alone(workspace, key)["OCCAS"] == "occasionally_late"
    assert cli(workspace, "dispute", key, "OLD", "--resolve", "delivery note found", "--as-of", str(AS_OF)).exit_code == 0
    assert names_alone(workspace, key)["OCCAS"] == "problem"
    # OCCAS's old invoice written off: no longer owed, a problem now for the write-off
    (tmp_path / "co" / "credit_notes.csv").write_text(
        f"id,customer_id,date,amount,invoice_id,reason\nW1,OCCAS,{ago(5)},500.00,OLD,bad_debt\n")
    assert sync_client(workspace, key).outcome == "succeeded"
    _, rows = reports.segments(workspace, key, as_of=AS_OF)
    written = next(r for r in rows if r.customer_id == "OCCAS")
    assert (written.segment, written.reasons) == ("problem", ["had a debt written off in the last 12 months"])
    assert names_alone(workspace, key) == {r.customer_id: r.segment for r in rows}


def names_alone(workspace: Workspace, key: str) -> dict[str, str]:
    """Segment names as a plan reads them: without figures, scores or reasons."""
    from connector.engine import inputs
    from connector.sync.store import Store

    config = workspace.load_client(key)
    with Store(workspace.store_path(key)) as store:
        return reports.customer_segment_names(store, config, AS_OF, inputs.open_items(store, AS_OF),
                                              inputs.customers(store))


def test_a_plans_segment_names_are_the_segments_reports(workspace: Workspace, tmp_path: Path) -> None:
    from tests.conftest import make_company

    folder = make_company(tmp_path / "ledger", invoices=3_000, seed=8)
    workspace.create_client("big", "csv", path=str(folder), currency="GBP")
    assert sync_client(workspace, "big").outcome == "succeeded"
    _, rows = reports.segments(workspace, "big", as_of=AS_OF)
    expected = {r.customer_id: r.segment for r in rows}
    assert names_alone(workspace, "big") == expected
    assert len(set(expected.values())) >= 3


def test_forecast_uses_each_customers_own_lateness_then_the_segment(workspace: Workspace, tmp_path: Path) -> None:
    invoices, payments = history("SLOW", [10, 10, 10, 10])
    invoices += [("S-OPEN", "SLOW", ago(20), AS_OF + dt.timedelta(days=2), "300.00"),  # expected +12 days
                 ("N-OPEN", "NEWBIE", ago(5), AS_OF + dt.timedelta(days=25), "200.00"),  # no history: due date
                 ("PAST", "SLOW", ago(60), ago(30), "50.00"),  # expected date has passed: due now
                 ("DEAD", "SLOW", ago(400), ago(370), "80.00")]  # beyond 180 days: doubtful
    key = ledger(workspace, tmp_path / "co", ["SLOW", "NEWBIE"], invoices, payments)
    result = reports.forecast(workspace, key, as_of=AS_OF, weeks=4)
    expected = {e.invoice_id: (e.expected, e.basis) for e in result.invoices}
    assert expected["S-OPEN"] == (AS_OF + dt.timedelta(days=12), "customer")
    assert expected["N-OPEN"] == (AS_OF + dt.timedelta(days=25), "due_date")
    assert expected["PAST"] == (AS_OF, "customer")
    assert expected["DEAD"] == (None, "doubtful")
    assert [w[2] for w in result.weeks] == [Decimal("50.00"), Decimal("300.00"), Decimal("0.00"), Decimal("200.00")]
    assert (result.later, result.doubtful) == (Decimal("0.00"), Decimal("80.00"))
    data = json.loads(cli(workspace, "forecast", key, "--as-of", str(AS_OF), "--weeks", "2", "--json").stdout)
    assert len(data["weeks"]) == 2 and data["later"] == "200.00"


def test_forecast_expects_an_early_payers_cash_before_the_due_date(workspace: Workspace, tmp_path: Path) -> None:
    """A customer who pays on receipt of net-30 invoices pays some 25 days before due: a 13-week cash
    forecast that expects it on the due date puts its cash weeks too late (it did: early counted as 0)."""
    invoices, payments = history("EARLY", [-25, -25, -24, -26])
    invoices += [("E-OPEN", "EARLY", AS_OF, AS_OF + dt.timedelta(days=30), "400.00")]
    key = ledger(workspace, tmp_path / "co", ["EARLY"], invoices, payments)
    result = reports.forecast(workspace, key, as_of=AS_OF, weeks=4)
    (expected,) = [(e.expected, e.basis) for e in result.invoices if e.invoice_id == "E-OPEN"]
    assert expected == (AS_OF + dt.timedelta(days=5), "customer")
    assert [w[2] for w in result.weeks] == [Decimal("400.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")]
    _, rows = reports.segments(workspace, key, as_of=AS_OF)
    assert rows[0].avg_days_late == Decimal("0.00")  # (lateness itself still counts early as on time)


def test_forecast_falls_back_to_the_segments_lateness_for_customers_with_little_history(
        workspace: Workspace, tmp_path: Path) -> None:
    """Customers with fewer than three invoices settled in the year are expected on the average of their
    segment (here "new": FEW's 4 and 7 days late, and NEWBIE's none, 5.5 rounding half up to 6 days);
    a prompt customer of its own segment keeps its own."""
    invoices, payments = history("FEW", [4, 7])
    more, paid = history("PROMPT", [0, 0, 0, 2])
    invoices += more + [("F-OPEN", "FEW", ago(10), AS_OF + dt.timedelta(days=3), "10.00"),
                        ("N-OPEN", "NEWBIE", ago(5), AS_OF + dt.timedelta(days=10), "20.00"),
                        ("P-OPEN", "PROMPT", ago(5), AS_OF + dt.timedelta(days=10), "30.00")]
    key = ledger(workspace, tmp_path / "co", ["FEW", "NEWBIE", "PROMPT"], invoices, payments + paid)
    result = reports.forecast(workspace, key, as_of=AS_OF, weeks=4)
    expected = {e.invoice_id: (e.expected, e.basis) for e in result.invoices}
    assert expected == {"F-OPEN": (AS_OF + dt.timedelta(days=9), "segment"),
                        "N-OPEN": (AS_OF + dt.timedelta(days=16), "segment"),
                        "P-OPEN": (AS_OF + dt.timedelta(days=11), "customer")}  # 0.5 days late rounds to 1


def test_forecast_expects_what_customers_agreed_first_plans_then_promises(workspace: Workspace,
                                                                           tmp_path: Path) -> None:
    """A collector's cash forecast should count on the installments a customer agreed to and the day it
    promised, not on its history (it did: a promise or a plan changed nothing in it); and not on an invoice
    the customer disputes (it did, on its usual day)."""
    invoices, payments = history("SLOW", [30, 30, 30, 30])  # pays 30 days late on average
    invoices += [("OLD-1", "SLOW", ago(100), ago(70), "600.00"), ("OLD-2", "SLOW", ago(90), ago(60), "500.00"),
                 ("PROMISED", "SLOW", ago(40), ago(10), "80.00"), ("LATER", "SLOW", ago(10), AS_OF, "70.00"),
                 ("ARGUED", "SLOW", ago(20), ago(5), "45.00")]
    payments += [("PLAN-1", "SLOW", ago(6), "300.00", "OLD-1")]  # the first installment, paid on time
    key = ledger(workspace, tmp_path / "co", ["SLOW"], invoices, payments)
    made = cli(workspace, "payment-plan", key, "SLOW", "--invoice", "OLD-1", "--invoice", "OLD-2",
               "--installment", f"{ago(5)}=300.00", "--installment", f"{AS_OF + dt.timedelta(days=10)}=400.00",
               "--installment", f"{AS_OF + dt.timedelta(days=40)}=300.00", "--as-of", str(ago(20)))
    assert made.exit_code == 0, made.output  # (100.00 short of the 1,100.00 owed: the rest as history says)
    assert cli(workspace, "promise", key, "PROMISED", "--date", str(AS_OF + dt.timedelta(days=3)),
               "--as-of", str(ago(1))).exit_code == 0
    assert cli(workspace, "dispute", key, "ARGUED", "--open", "goods returned", "--as-of", str(AS_OF)).exit_code == 0
    result = reports.forecast(workspace, key, as_of=AS_OF, weeks=8)
    expected = sorted((e.invoice_id, e.expected, e.amount, e.basis) for e in result.invoices)
    assert expected == [
        ("ARGUED", None, Decimal("45.00"), "disputed"),
        ("LATER", AS_OF + dt.timedelta(days=30), Decimal("70.00"), "customer"),
        ("OLD-1", AS_OF + dt.timedelta(days=10), Decimal("300.00"), "payment_plan"),  # 600 less the 300 paid
        ("OLD-2", AS_OF, Decimal("100.00"), "customer"),  # what the installments leave: due now, by its history
        ("OLD-2", AS_OF + dt.timedelta(days=10), Decimal("100.00"), "payment_plan"),
        ("OLD-2", AS_OF + dt.timedelta(days=40), Decimal("300.00"), "payment_plan"),
        ("PROMISED", AS_OF + dt.timedelta(days=3), Decimal("80.00"), "promise")]
    assert sum(w[2] for w in result.weeks) + result.later == Decimal("950.00")  # (all that is owed, but the
    assert (result.disputed, result.doubtful) == (Decimal("45.00"), Decimal("0.00"))  # disputed 45.00)
    table = cli(workspace, "forecast", key, "--as-of", str(AS_OF), "--weeks", "8", "--csv").stdout.splitlines()
    assert table[-1] == "disputed,,,45.00"


def test_lateness_added_up_by_the_store_equals_lateness_from_each_settlement(workspace: Workspace,
                                                                           tmp_path: Path) -> None:
    from connector.engine import inputs
    from connector.sync.store import Store
    from tests.conftest import make_company

    folder = make_company(tmp_path / "ledger", invoices=3_000, seed=8)
    workspace.create_client("big", "csv", path=str(folder), currency="GBP")
    assert sync_client(workspace, "big").outcome == "succeeded"
    with Store(workspace.store_path("big")) as store:
        start, end = AS_OF - dt.timedelta(days=364), AS_OF
        by_store = inputs.lateness(store, start, end, signed=True)
        unsigned = inputs.lateness(store, start, end)
        by_settlement = inputs.lateness_of(inputs.settlements(store, start, end))
    assert by_store == by_settlement and len(by_store) > 100
    assert unsigned == {key: late._replace(days_from_due=0) for key, late in by_settlement.items()}
    assert any(late.days_from_due < 0 for late in by_store.values())  # (early payers are in it too)
    assert any(late.paid_late for late in by_store.values()) and any(
        late.paid_late < late.paid for late in by_store.values())  # both late and prompt payers are in it
