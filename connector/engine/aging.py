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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Literal

from connector.engine.inputs import CreditItem, OpenItem
from connector.money import from_minor, to_home

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

    def age(self, item: OpenItem, as_of: dt.date) -> int:
        """Days past due, or days since the invoice date."""
        anchor = item.due_date if self.basis == "due_date" else item.issue_date
        return (as_of - anchor).days

    def name_for(self, days: int) -> str:
        names = self.names
        if self.basis == "due_date":
            if days <= 0:
                return names[0]
            names = names[1:]
        for index, edge in enumerate(self.edges):
            if days <= edge:
                return names[index]
        return names[-1]


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


def age(items: Iterable[OpenItem], credits: Iterable[CreditItem], names: Mapping[str, str], *,
        as_of: dt.date, home: str, buckets: Buckets = Buckets(), by: Literal["customer", "invoice"] = "customer",
        fallback_rates: Mapping[str, Decimal] | None = None) -> AgingReport:
    """Age the open items as of `as_of`, in the home currency, by customer or by invoice."""
    columns = buckets.names
    zero = to_home(Decimal(0), None, home)
    lines: dict[str, AgingLine] = {}
    invoice_lines: list[AgingLine] = []
    by_currency: dict[str, dict[str, Decimal]] = {}
    bucket_of: dict[int, str] = {}  # (a bucket per day count, looked up once: items share them)
    for item in items:
        days = buckets.age(item, as_of)
        bucket = bucket_of.get(days)
        if bucket is None:
            bucket = bucket_of[days] = buckets.name_for(days)
        amount = to_home(item.balance, _rate(item.currency, item.exchange_rate, home, fallback_rates), home)
        line = lines.get(item.customer_id)
        if line is None:
            line = lines[item.customer_id] = AgingLine(item.customer_id, names.get(item.customer_id, item.customer_id),
                                                       dict.fromkeys(columns, zero), zero)
        line.amounts[bucket] += amount
        line.total += amount
        native = by_currency.get(item.currency)
        if native is None:
            native = by_currency[item.currency] = dict.fromkeys([*columns, "total"], from_minor(0, item.currency))
        native[bucket] += item.balance
        native["total"] += item.balance
        if by == "invoice":
            invoice_lines.append(AgingLine(item.customer_id, line.name, {**dict.fromkeys(columns, zero), bucket: amount},
                                           amount, invoice_id=item.invoice_id, number=item.number,
                                           due_date=item.due_date, days=days, currency=item.currency,
                                           balance=item.balance))
    credit_total = zero
    for credit in credits:
        amount = to_home(credit.amount, _rate(credit.currency, credit.exchange_rate, home, fallback_rates), home)
        line = lines.get(credit.customer_id)
        if line is None:
            line = lines[credit.customer_id] = AgingLine(credit.customer_id, names.get(credit.customer_id, credit.customer_id),
                                                         dict.fromkeys(columns, zero), zero)
        line.unapplied_credit = (line.unapplied_credit or zero) + amount
        credit_total += amount
    for line in lines.values():
        line.unapplied_credit = line.unapplied_credit or zero
    ordered = sorted(lines.values(), key=lambda line: (line.name.casefold(), line.customer_id))
    totals = {name: sum((l.amounts[name] for l in ordered), zero) for name in columns}
    chosen = sorted(invoice_lines, key=lambda line: (line.name.casefold(), line.customer_id, line.due_date,
                                                     line.invoice_id)) if by == "invoice" else ordered
    return AgingReport(as_of, home, columns, chosen, totals, sum(totals.values(), zero), credit_total, by_currency)


def _rate(currency: str, rate: Decimal | None, home: str, fallback: Mapping[str, Decimal] | None) -> Decimal | None:
    if currency == home or rate is not None:
        return rate
    found = (fallback or {}).get(currency)
    if found is None:
        raise ValueError(f"no exchange rate to convert {currency} to {home}")
    return found


def as_json(report: AgingReport) -> dict[str, object]:
    """The `aging --json` shape of INTERFACE.md (amounts as decimal strings), with unapplied credit added."""
    def money(values: Mapping[str, Decimal]) -> dict[str, str]:
        return {k: str(v) for k, v in values.items()}

    key = "invoices" if report.lines and report.lines[0].invoice_id else "customers"
    rows = []
    for line in report.lines:
        row: dict[str, object] = {"customer_id": line.customer_id, "name": line.name, **money(line.amounts),
                                  "total": str(line.total)}
        if line.invoice_id:
            row.update(invoice_id=line.invoice_id, number=line.number, due_date=str(line.due_date),
                       days_past_due=line.days, invoice_currency=line.currency, balance=str(line.balance))
        else:
            row["unapplied_credit"] = str(line.unapplied_credit)
        rows.append(row)
    return {"as_of": str(report.as_of), "currency": report.currency, "buckets": report.buckets,
            key: rows, "totals": {**money(report.totals), "total": str(report.total),
                                  "unapplied_credit": str(report.unapplied_credit)},
            "by_currency": {cur: money(v) for cur, v in sorted(report.by_currency.items())}}

