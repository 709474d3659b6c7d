"""The receivables aging: open balances in buckets by days past due (or by invoice date), as of a date.

Conventions (after QuickBooks' and Xero's own reports, see peers.md D.2):
- Days past due = as-of date − due date.  `current` holds what is not yet due *and* what falls due on
  the as-of date itself; day 30 is in `1-30`, day 31 in `31-60`.
- With `basis = "invoice_date"` the age is days since the invoice date and the buckets are `0-30`, `31-60`…
- Each invoice is converted to the home currency at its own exchange rate and rounded (half up) to the home
  currency's minor unit before it is added, so the lines always add up to the totals.
- Unapplied credit (unapplied cash, overpayments, prepayments, open credit notes) is shown per customer in
  its own column and never netted against the buckets: a customer who owes 1,000 and holds a 200 credit
  has 1,000 aged and 200 of credit, which is what a collector needs to see.
- What is in dispute (invoices with an open dispute) stays in the buckets, where it is owed, and is shown
  beside them, per customer and in total (each invoice's dispute by invoice): at month-end an accountant
  weighs a disputed balance apart from the rest, and the plan holds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Literal

from connector.engine.arrangements import OpenDispute
from connector.engine.inputs import AgedBalance, CreditItem, OpenItem
from connector.money import exponent, from_minor, to_home, to_minor

Basis = Literal["due_date", "invoice_date"]


@dataclass(frozen=True)
class Buckets:
    """Bucket names and the upper edge (in days) of each bounded bucket."""

    edges: tuple[int, ...] = (30, 60, 90)
    basis: Basis = "due_date"

    def __post_init__(self) -> None:
        if not self.edges or list(self.edges) != sorted(set(self.edges)) or self.edges[0] < 1:
            raise ValueError("bucket edges must be increasing whole days, the first at least 1")

    @cached_property
    def names(self) -> list[str]:
        """`current, 1-30, 31-60, 61-90, 91+` by due date; `0-30, 31-60, 61-90, 91+` by invoice date."""
        first_start = 1 if self.basis == "due_date" else 0
        starts = [first_start, *(edge + 1 for edge in self.edges[:-1])]
        bounded = [f"{lo}-{hi}" for lo, hi in zip(starts, self.edges, strict=True)]
        head = ["current"] if self.basis == "due_date" else []
        return [*head, *bounded, f"{self.edges[-1] + 1}+"]

    @cached_property
    def limits(self) -> tuple[int, ...]:
        """The oldest age (in days) each bounded bucket holds; the last bucket holds the rest."""
        return (0, *self.edges) if self.basis == "due_date" else self.edges

    @property
    def anchor(self) -> Literal["due_date", "issue_date"]:
        return "due_date" if self.basis == "due_date" else "issue_date"

    def age(self, item: OpenItem, as_of: dt.date) -> int:
        """Days past due, or days since the invoice date."""
        anchor = item.due_date if self.basis == "due_date" else item.issue_date
        return (as_of - anchor).days

    def index_for(self, days: int) -> int:
        found = self._index_by_days.get(days)
        if found is None:
            found = self._index_by_days[days] = next(
                (k for k, limit in enumerate(self.limits) if days <= limit), len(self.limits))
        return found

    @cached_property
    def _index_by_days(self) -> dict[int, int]:
        """(The bucket of each age met so far: an aging by invoice asks for a hundred thousand, of a few hundred
        different ages.)"""
        return {}

    def name_for(self, days: int) -> str:
        return self.names[self.index_for(days)]


@dataclass
class AgingLine:
    """One customer's (or one invoice's) aged balance in the home currency."""

    customer_id: str
    name: str
    amounts: dict[str, Decimal]
    total: Decimal
    unapplied_credit: Decimal | None = None
    invoice_id: str | None = None
    number: str | None = None
    due_date: dt.date | None = None
    days: int | None = None
    currency: str | None = None
    balance: Decimal | None = None
    disputed: Decimal | None = None  # (a customer line: what of it is in dispute, home currency)
    dispute: str | None = None  # (an invoice line: its open dispute's reason)


@dataclass
class AgingReport:
    as_of: dt.date
    currency: str
    buckets: list[str]
    lines: list[AgingLine]
    totals: dict[str, Decimal]
    total: Decimal
    unapplied_credit: Decimal
    by_currency: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    disputed: Decimal = Decimal("0.00")  # what is in dispute, home currency (also in the buckets)


def balances_of(items: Iterable[OpenItem], buckets: Buckets, as_of: dt.date, home: str) -> list[AgedBalance]:
    """Open items summed by customer, currency, rate and bucket, as `inputs.aged_balances` sums them in SQL."""
    sums: dict[tuple[str, str, Decimal | None, str], list[int]] = {}
    for item in items:
        apart = item.currency != home or item.exchange_rate is not None
        key = (item.customer_id, item.currency, item.exchange_rate, item.invoice_id if apart else "")
        units = sums.setdefault(key, [0] * len(buckets.names))
        units[buckets.index_for(buckets.age(item, as_of))] += to_minor(item.balance, item.currency)
    return [AgedBalance(customer, currency, rate, tuple(units))
            for (customer, currency, rate, _), units in sums.items()]


def age(balances: Iterable[AgedBalance], credits: Iterable[CreditItem], names: Mapping[str, str], *,
        as_of: dt.date, home: str, buckets: Buckets = Buckets(),
        fallback_rates: Mapping[str, Decimal] | None = None,
        disputed: Mapping[str, Decimal] | None = None) -> AgingReport:
    """Age what each customer owed as of `as_of` in the home currency: one line per customer.

    `disputed`: what each customer owes on invoices with an open dispute (home currency), shown beside.
    Sums in each currency are kept in minor units and made `Decimal` once, at the end: a big ledger has
    tens of thousands of lines, and most of them one home-currency balance each."""
    columns = buckets.names
    zero = to_home(Decimal(0), None, home)
    places = -exponent(home)
    lines: dict[str, AgingLine] = {}
    native: dict[str, list[int]] = {}  # each currency's sums by bucket, in its minor units
    plain = [0] * len(columns)  # the home-currency balances without a rate (most), in minor units
    converted = [zero] * len(columns)  # the others', converted one by one
    for customer_id, currency, rate, by_bucket in balances:
        line = lines.get(customer_id)
        if line is None:
            line = lines[customer_id] = AgingLine(customer_id, names.get(customer_id, customer_id),
                                                  dict.fromkeys(columns, zero), zero)
        units = native.get(currency)
        if units is None:
            units = native[currency] = [0] * len(columns)
        same = currency == home and rate is None
        if not same:
            rate = _rate(currency, rate, home, fallback_rates)
        for k, n in enumerate(by_bucket):
            if n:  # (most balances are in one bucket or two)
                units[k] += n
                if same:
                    plain[k] += n
                    amount = Decimal(n).scaleb(places)
                else:
                    amount = to_home(from_minor(n, currency), rate, home)
                    converted[k] += amount
                line.amounts[columns[k]] += amount
                line.total += amount
    credit_total = _credit_lines(lines, credits, names, columns, home, zero, fallback_rates)
    in_dispute = disputed or {}
    for line in lines.values():
        line.unapplied_credit = line.unapplied_credit or zero
        line.disputed = in_dispute.get(line.customer_id, zero)
    totals = {column: from_minor(n, home) + more for column, n, more in zip(columns, plain, converted)}
    by_currency = {currency: {**{c: from_minor(n, currency) for c, n in zip(columns, units)},
                              "total": from_minor(sum(units), currency)} for currency, units in native.items()}
    ordered = sorted(lines.values(), key=lambda line: (line.name.casefold(), line.customer_id))
    return AgingReport(as_of, home, columns, ordered, totals, sum(totals.values(), zero), credit_total, by_currency,
                       sum(in_dispute.values(), zero))


def _credit_lines(lines: dict[str, AgingLine], credits: Iterable[CreditItem], names: Mapping[str, str],
                  columns: list[str], home: str, zero: Decimal, fallback_rates: Mapping[str, Decimal] | None) -> Decimal:
    """Add each customer's unapplied credit to its line (a line of its own when it owes nothing); the total."""
    credit_total = zero
    for credit in credits:
        amount = to_home(credit.amount, _rate(credit.currency, credit.exchange_rate, home, fallback_rates), home)
        line = lines.get(credit.customer_id)
        if line is None:
            line = lines[credit.customer_id] = AgingLine(credit.customer_id,
                                                         names.get(credit.customer_id, credit.customer_id),
                                                         dict.fromkeys(columns, zero), zero)
        line.unapplied_credit = (line.unapplied_credit or zero) + amount
        credit_total += amount
    return credit_total


def age_invoices(items: Iterable[OpenItem], credits: Iterable[CreditItem], names: Mapping[str, str], *,
                 as_of: dt.date, home: str, buckets: Buckets = Buckets(),
                 fallback_rates: Mapping[str, Decimal] | None = None,
                 disputes: Mapping[str, OpenDispute] | None = None) -> AgingReport:
    """The same aging with one line per open invoice (its totals are the customer aging's); `disputes`: each
    invoice's open dispute."""
    items = list(items)
    disputes = disputes or {}
    report = age(balances_of(items, buckets, as_of, home), credits, names, as_of=as_of, home=home, buckets=buckets,
                 fallback_rates=fallback_rates,
                 disputed=disputed_by_customer((i for i in items if i.invoice_id in disputes), home, fallback_rates))
    zero = to_home(Decimal(0), None, home)
    lines = []
    for item in items:
        days = buckets.age(item, as_of)
        dispute = disputes.get(item.invoice_id)
        amount = to_home(item.balance, _rate(item.currency, item.exchange_rate, home, fallback_rates), home)
        lines.append(AgingLine(item.customer_id, names.get(item.customer_id, item.customer_id),
                               {**dict.fromkeys(report.buckets, zero), buckets.name_for(days): amount}, amount,
                               invoice_id=item.invoice_id, number=item.number, due_date=item.due_date, days=days,
                               currency=item.currency, balance=item.balance, dispute=dispute and dispute.reason))
    report.lines = sorted(lines, key=lambda line: (line.name.casefold(), line.customer_id, line.due_date,
                                                   line.invoice_id))
    return report


def disputed_by_customer(items: Iterable[OpenItem], home: str,
                         fallback_rates: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
    """What each customer owes on `items` (its disputed invoices) in the home currency, each invoice converted
    and rounded on its own, as in the buckets."""
    found: dict[str, Decimal] = {}
    for item in items:
        amount = to_home(item.balance, _rate(item.currency, item.exchange_rate, home, fallback_rates), home)
        found[item.customer_id] = found.get(item.customer_id, to_home(Decimal(0), None, home)) + amount
    return found


def _rate(currency: str, rate: Decimal | None, home: str, fallback: Mapping[str, Decimal] | None) -> Decimal | None:
    if currency == home or rate is not None:
        return rate
    found = (fallback or {}).get(currency)
    if found is None:
        raise ValueError(f"no exchange rate to convert {currency} to {home}")
    return found


def as_json(report: AgingReport) -> dict[str, object]:
    """The `aging --json` shape (the README's) (amounts as decimal strings), with unapplied credit added."""
    def money(values: Mapping[str, Decimal]) -> dict[str, str]:
        return {k: str(v) for k, v in values.items()}

    key = "invoices" if report.lines and report.lines[0].invoice_id else "customers"
    rows = []
    for line in report.lines:
        row: dict[str, object] = {"customer_id": line.customer_id, "name": line.name, **money(line.amounts),
                                  "total": str(line.total)}
        if line.invoice_id:
            row.update(invoice_id=line.invoice_id, number=line.number, due_date=str(line.due_date),
                       days_past_due=line.days, invoice_currency=line.currency, balance=str(line.balance),
                       dispute=line.dispute)
        else:
            row.update(unapplied_credit=str(line.unapplied_credit), disputed=str(line.disputed))
        rows.append(row)
    return {"as_of": str(report.as_of), "currency": report.currency, "buckets": report.buckets,
            key: rows, "totals": {**money(report.totals), "total": str(report.total),
                                  "unapplied_credit": str(report.unapplied_credit), "disputed": str(report.disputed)},
            "by_currency": {cur: money(v) for cur, v in sorted(report.by_currency.items())}}

