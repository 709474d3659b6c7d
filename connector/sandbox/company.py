"""Deterministic companies whose customers pay like real ones.

A company is generated customer by customer, so that a million invoices stream out in constant memory.
The same spec (seed, size, today) always gives the same records, byte for byte.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from connector.records import Allocation, CreditNote, Customer, Invoice, InvoiceStatus, Payment

CENT = Decimal("0.01")

# behaviour: (share of customers, days late when paid (low, high), chance an invoice is never paid)
BEHAVIOURS: dict[str, tuple[int, tuple[int, int], float]] = {
    "prompt": (35, (-10, 1), 0.0),
    "occasionally_late": (30, (-5, 25), 0.0),
    "frequently_late": (20, (5, 60), 0.02),
    "problem": (12, (20, 150), 0.15),
    "never_pays": (3, (0, 0), 1.0),
}
_FIRST = ["Acme", "Northwind", "Blue Harbour", "Café Zoë", "O'Brien & Sons", "Müller Gebäude", "Kowalski",
          "Smith", "Nakamura", "García Hermanos", "Fjällräven Supply", "D'Angelo", "Søren", "Ngata",
          "Patel", "Evergreen", "Quayside", "Ironbridge", "Lambert", "Château Lafleur"]
_SECOND = ["Trading", "Holdings", "Logistics", "Bakery", "Consulting", "Builders", "Studio", "Imports",
           "Engineering", "Dental Practice", "Garden Centre", "Print & Design", "Foods", "Marine"]
_SUFFIX = ["Ltd", "LLC", "GmbH", "S.A.", "Pty Ltd", "& Co.", "Inc.", "plc", ""]
_PLACES = [("GB", "Europe/London"), ("US", "America/New_York"), ("US", "America/Los_Angeles"),
           ("DE", "Europe/Berlin"), ("FR", "Europe/Paris"), ("AU", "Australia/Sydney"),
           ("NZ", "Pacific/Auckland"), ("IE", "Europe/Dublin")]
_RATES = {"GBP": {"USD": "0.79", "EUR": "0.86"}, "USD": {"GBP": "1.27", "EUR": "1.09"},
          "EUR": {"GBP": "1.16", "USD": "0.92"}}


@dataclass(frozen=True)
class CompanySpec:
    """What to generate: the seed, the number of invoices, the company's today and home currency."""

    seed: int = 1
    invoices: int = 500
    today: dt.date = dt.date(2026, 6, 30)
    home_currency: str = "GBP"
    months: int = 24

    @property
    def customers(self) -> int:
        return max(5, self.invoices // 10)


@dataclass(frozen=True)
class GeneratedCustomer:
    customer: Customer
    behaviour: str
    terms_days: int
    exchange_rate: Decimal | None


def generate(spec: CompanySpec) -> Iterator[Customer | Invoice | Payment | CreditNote]:
    """All customers first, then each customer's invoices, payments and credit notes."""
    rng = random.Random(spec.seed)
    customers = [_customer(rng, spec, n) for n in range(1, spec.customers + 1)]
    yield from (c.customer for c in customers)
    counts = _spread(rng, spec.invoices, len(customers))
    ids = {"invoice": 0, "payment": 0, "credit": 0}
    for generated, count in zip(customers, counts, strict=True):
        yield from _history(rng, spec, generated, count, ids)


def _customer(rng: random.Random, spec: CompanySpec, n: int) -> GeneratedCustomer:
    behaviour = rng.choices(list(BEHAVIOURS), weights=[b[0] for b in BEHAVIOURS.values()])[0]
    name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {rng.choice(_SUFFIX)}".strip()
    if rng.random() < 0.02:
        name = f"{name} (Trading as {rng.choice(_FIRST)} {rng.choice(_SECOND)} International Group Holdings)"
    country, zone = rng.choice(_PLACES)
    foreign = rng.random() < 0.12
    currency = rng.choice(sorted(_RATES.get(spec.home_currency, {"EUR": "1"}))) if foreign else None
    rate = Decimal(_RATES.get(spec.home_currency, {}).get(currency or "", "1")) if currency else None
    email = None if rng.random() < 0.1 else f"accounts+c{n}@example.{country.lower()}"
    customer = Customer(id=f"C{n:06d}", name=f"{name} #{n}", email=email, currency=currency,
                        timezone=zone, country=country)
    return GeneratedCustomer(customer, behaviour, rng.choice([14, 30, 30, 30, 45, 60]), rate)


def _spread(rng: random.Random, total: int, buckets: int) -> list[int]:
    """Split `total` invoices over customers unevenly (a few big accounts), summing exactly to total."""
    weights = [rng.paretovariate(2.0) for _ in range(buckets)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % buckets] += 1
    return counts


def _history(rng: random.Random, spec: CompanySpec, gen: GeneratedCustomer, count: int,
             ids: dict[str, int]) -> Iterator[Invoice | Payment | CreditNote]:
    customer = gen.customer
    currency = customer.currency or spec.home_currency
    start = spec.today - dt.timedelta(days=spec.months * 30)
    span = (spec.today - start).days
    low, high = BEHAVIOURS[gen.behaviour][1]
    never = BEHAVIOURS[gen.behaviour][2]
    receipts: dict[dt.date, list[tuple[str, Decimal]]] = {}
    credits: list[CreditNote] = []
    for issued in sorted(start + dt.timedelta(days=rng.randrange(span + 1)) for _ in range(count)):
        ids["invoice"] += 1
        total = Decimal(rng.randint(2_000, 250_000)) * CENT * (10 if rng.random() < 0.05 else 1)
        invoice = Invoice(id=f"INV-{ids['invoice']:07d}", customer_id=customer.id,
                          number=f"{100000 + ids['invoice']}", issue_date=issued,
                          due_date=issued + dt.timedelta(days=gen.terms_days), currency=currency, total=total,
                          exchange_rate=gen.exchange_rate,
                          status=InvoiceStatus.VOID if rng.random() < 0.01 else InvoiceStatus.OPEN)
        yield invoice
        if invoice.status is InvoiceStatus.VOID:
            continue
        owed = total
        if rng.random() < 0.03:
            part = (total * Decimal(rng.randint(10, 30)) / 100).quantize(CENT)
            credited = issued + dt.timedelta(days=rng.randint(1, 20))
            if credited <= spec.today:  # (the ledger is as of today: nothing in it is dated later)
                ids["credit"] += 1
                credits.append(_credit(ids["credit"], invoice, credited, part, None))
                owed -= part
        if rng.random() < never:
            if gen.behaviour == "problem" and (spec.today - invoice.due_date).days > 180 and rng.random() < 0.5:
                ids["credit"] += 1
                credits.append(_credit(ids["credit"], invoice, invoice.due_date + dt.timedelta(days=180),
                                       owed, "bad_debt"))
            continue
        paid_on = invoice.due_date + dt.timedelta(days=rng.randint(low, high))
        if rng.random() < 0.08:  # a partial payment first, the rest later
            first = (owed * Decimal(rng.randint(30, 70)) / 100).quantize(CENT)
            if paid_on <= spec.today:
                receipts.setdefault(paid_on, []).append((invoice.id, first))
            owed -= first
            paid_on += dt.timedelta(days=rng.randint(10, 40))
        if paid_on <= spec.today and owed > 0:
            receipts.setdefault(paid_on, []).append((invoice.id, owed))
    yield from credits
    for paid_on in sorted(receipts):
        ids["payment"] += 1
        parts = receipts[paid_on]
        amount = sum((a for _, a in parts), Decimal(0))
        if rng.random() < 0.02:  # an overpayment: the excess stays unapplied
            amount += Decimal(rng.randint(100, 5_000)) * CENT
        yield Payment(id=f"PAY-{ids['payment']:07d}", customer_id=customer.id, date=paid_on,
                      currency=currency, amount=amount,
                      allocations=tuple(Allocation(invoice_id=i, amount=a) for i, a in parts))


def _credit(n: int, invoice: Invoice, on: dt.date, amount: Decimal, reason: str | None) -> CreditNote:
    return CreditNote(id=f"CN-{n:07d}", customer_id=invoice.customer_id, number=f"CN{n}", date=on,
                      currency=invoice.currency, amount=amount, reason=reason,
                      allocations=(Allocation(invoice_id=invoice.id, amount=amount),))
