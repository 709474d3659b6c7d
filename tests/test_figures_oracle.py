"""The metrics' sums, worked out in SQL from indexes and later allocations, against a direct computation from
the generated records, one invoice and one allocation at a time, for periods all over a company's history.

The direct computation is the definition the README gives each figure: AR(d) the balances of day d, sales
the invoices issued in the period, a settled invoice the one whose allocations reached its total in the
period (written-off ones left out), cash the payments received in it, write-offs its bad-debt credit notes;
and the engine's other inputs: each customer's lateness, and the credit each payment and credit note held.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from connector.config import Workspace
from connector.engine import figures, inputs
from connector.money import to_home
from connector.records import CreditNote, Invoice, InvoiceStatus, Payment, PaymentKind
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.csv_export import write_csv_company
from connector.sync.runner import sync_client
from connector.sync.store import Store

TODAY = dt.date(2026, 6, 30)
HOME = "GBP"
# (start, end): the default 90 days at today and earlier, a month, a quarter, a year, and a single day
PERIODS = [(TODAY - dt.timedelta(days=89), TODAY), (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
           (dt.date(2025, 2, 1), dt.date(2025, 2, 28)), (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
           (dt.date(2025, 8, 2), dt.date(2025, 10, 30)), (dt.date(2026, 5, 15), dt.date(2026, 5, 15))]


class Books:
    """The generated company's records, with each invoice's allocations by date."""

    def __init__(self, records: list[object]) -> None:
        self.invoices = [r for r in records if isinstance(r, Invoice) and r.status != InvoiceStatus.VOID]
        self.payments = [r for r in records if isinstance(r, Payment)]
        self.notes = [r for r in records if isinstance(r, CreditNote)]
        self.applied: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        self.written_off: set[str] = set()
        for parent in [*self.payments, *self.notes]:
            for a in parent.allocations:
                self.applied[a.invoice_id].append((a.date or parent.date, a.amount))
                if isinstance(parent, CreditNote) and parent.reason == "bad_debt":
                    self.written_off.add(a.invoice_id)

    def owed(self, invoice: Invoice, day: dt.date) -> Decimal:
        return invoice.total - sum((amount for on, amount in self.applied[invoice.id] if on <= day), Decimal(0))

    def receivables(self, day: dt.date, *, current: bool = False) -> Decimal:
        return sum((to_home(self.owed(i, day), i.exchange_rate, HOME) for i in self.invoices
                    if i.issue_date <= day and (not current or i.due_date >= day)), Decimal("0.00"))

    def sales(self, start: dt.date, end: dt.date) -> Decimal:
        return sum((to_home(i.total, i.exchange_rate, HOME) for i in self.invoices if start <= i.issue_date <= end),
                   Decimal("0.00"))

    def settled_on(self, invoice: Invoice) -> dt.date | None:
        paid = Decimal(0)
        for on, amount in sorted(self.applied[invoice.id]):
            paid += amount
            if paid >= invoice.total:
                return max(on, invoice.issue_date)  # (credit held before the invoice paid it when it was issued)
        return None

    def settled(self, start: dt.date, end: dt.date) -> list[tuple[Invoice, dt.date]]:
        found = [(i, self.settled_on(i)) for i in self.invoices if i.total > 0 and i.id not in self.written_off]
        return [(i, on) for i, on in found if on is not None and start <= on <= end]

    def credit_held(self, day: dt.date) -> dict[str, Decimal]:
        """Each payment's and credit note's credit on `day`: what it had not applied or refunded by then."""
        held = {}
        for parent in [*self.payments, *self.notes]:
            if parent.date <= day:
                used = sum((a.amount for a in parent.allocations if (a.date or parent.date) <= day), Decimal(0))
                used += sum((r.amount for r in parent.refunds if r.date <= day), Decimal(0))
                if parent.amount > used:
                    held[parent.id] = parent.amount - used
        return held

    def latest_rates(self, as_of: dt.date) -> dict[str, set[Decimal]]:
        """Each currency's rate(s) on its latest rated invoice's date by `as_of` (its first one's after, if it
        has none by then): a csv ledger's payments and credit notes carry no rate of their own, and are
        converted at that one."""
        by_day: dict[str, dict[dt.date, set[Decimal]]] = defaultdict(lambda: defaultdict(set))
        for i in self.invoices:
            if i.exchange_rate is not None:
                by_day[i.currency][i.issue_date].add(i.exchange_rate)
        chosen = {}
        for currency, days in by_day.items():
            by_then = [day for day in days if day <= as_of]
            chosen[currency] = days[max(by_then) if by_then else min(days)]
        return chosen

    def cash(self, start: dt.date, end: dt.date, rates: dict[str, Decimal]) -> Decimal:
        def home(amount: Decimal, currency: str) -> Decimal:
            return to_home(amount, None if currency == HOME else rates[currency], HOME)

        got = sum((home(p.amount, p.currency) for p in self.payments
                   if start <= p.date <= end and p.kind != PaymentKind.CREDIT_APPLICATION), Decimal("0.00"))
        return got - sum((home(r.amount, p.currency) for p in self.payments for r in p.refunds
                          if start <= r.date <= end), Decimal("0.00"))

    def write_offs(self, start: dt.date, end: dt.date, rates: dict[str, Decimal]) -> Decimal:
        return sum((to_home(n.amount, None if n.currency == HOME else rates[n.currency], HOME) for n in self.notes
                    if n.reason == "bad_debt" and start <= n.date <= end), Decimal("0.00"))


@pytest.mark.parametrize("seed", [5, 17])
def test_the_metrics_figures_equal_a_direct_computation(workspace: Workspace, tmp_path: Path, seed: int) -> None:
    spec = CompanySpec(seed=seed, invoices=2_500, today=TODAY, home_currency=HOME)
    records = list(generate(spec))
    write_csv_company(iter(records), tmp_path / "ledger")
    workspace.create_client("co", "csv", path=str(tmp_path / "ledger"), currency=HOME)
    assert sync_client(workspace, "co").outcome == "succeeded"
    books = Books(records)
    assert books.written_off and any(i.exchange_rate for i in books.invoices)  # (what makes the sums hard)
    with Store(workspace.store_path("co")) as store:
        for start, end in PERIODS:
            rates = inputs.latest_rates(store, end)
            candidates = books.latest_rates(end)
            assert rates.keys() == candidates.keys() and all(rates[c] in candidates[c] for c in rates), end
            for day in (start - dt.timedelta(days=1), end):
                total, current = figures.receivables(store, day, HOME)
                assert total.home(HOME, rates) == books.receivables(day), day
                assert current.home(HOME, rates) == books.receivables(day, current=True), day
            sales, _ = figures.sales_and_months(store, start, end, HOME, since=start)
            assert sales.home(HOME, rates) == books.sales(start, end), (start, end)
            settled, expected = figures.settled(store, start, end, HOME), books.settled(start, end)
            assert settled.count == len(expected), (start, end)
            assert settled.days_to_pay == sum((on - i.issue_date).days for i, on in expected)
            assert settled.days_late == sum(max(0, (on - i.due_date).days) for i, on in expected)
            assert settled.late == sum(1 for i, on in expected if on > i.due_date)
            assert settled.totals.home(HOME, rates) == sum((to_home(i.total, i.exchange_rate, HOME)
                                                            for i, _ in expected), Decimal("0.00"))
            lateness: dict[str, list[int]] = defaultdict(list)
            for i, on in expected:
                lateness[i.customer_id].append((on - i.due_date).days)
            assert inputs.lateness(store, start, end, signed=True) == {
                c: inputs.Lateness(len(days), sum(max(0, d) for d in days), sum(1 for d in days if d > 0), sum(days))
                for c, days in lateness.items()}, (start, end)
            assert {c.source_id: c.amount for c in inputs.credit_items(store, end)} == books.credit_held(end), end
            assert figures.received(store, start, end, HOME).home(HOME, rates) == books.cash(start, end, rates)
            assert figures.received(store, start, end, HOME, write_offs=True).home(HOME, rates) == \
                books.write_offs(start, end, rates)
