"""A day in the life of a sandbox company: new invoices, payments, edits, voids and deletions.

`advance(world, days)` moves the company's clock forward a day at a time and makes the changes a real
company makes, deterministically for the seed and the date, each stamped with its own instant, so that
incremental sync (QBO CDC, Xero If-Modified-Since) has something real to find, deletions included.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from connector.records import Allocation, Invoice, InvoiceStatus, Payment
from connector.sandbox.world import PACIFIC, World

CENT = Decimal("0.01")


def advance(world: World, days: int) -> dict[str, int]:
    """Move the clock `days` days ahead with activity; returns how many of each change were made."""
    made = {"invoices": 0, "payments": 0, "edits": 0, "voids": 0, "deletions": 0}
    for _ in range(days):
        day = world.today + dt.timedelta(days=1)
        rng = random.Random(f"{world.spec.seed}/{day.isoformat()}")
        moment = iter(dt.datetime.combine(day, dt.time(9), PACIFIC) + dt.timedelta(minutes=7 * n) for n in range(10**6))
        per_day = max(1, round(world.spec.invoices / (world.spec.months * 30)))
        for _ in range(per_day):
            _new_invoice(world, rng, day, next(moment))
            made["invoices"] += 1
        made["payments"] += _payments(world, rng, day, moment)
        made["edits"] += _edits(world, rng, moment, per_day)
        made["voids"] += _void(world, rng, moment)
        made["deletions"] += _delete_payment(world, rng, day, moment)
        world.now = dt.datetime.combine(day, dt.time(17), PACIFIC)
    return made


def _open(world: World) -> list:
    return [h for h in world.live("invoices") if h.record.status is InvoiceStatus.OPEN  # type: ignore[union-attr]
            and world.balance(h.record) > 0]  # type: ignore[arg-type]


def _new_invoice(world: World, rng: random.Random, day: dt.date, at: dt.datetime) -> None:
    customer = rng.choice(world.live("customers")).record
    n = world.next_number("invoice")
    total = Decimal(rng.randint(2_000, 250_000)) * CENT
    world.add(Invoice(id=f"INV-N{n:06d}", customer_id=customer.id, number=f"N{n}", issue_date=day,
                      due_date=day + dt.timedelta(days=30), currency=customer.currency or world.spec.home_currency,
                      total=total, exchange_rate=world.rate_for(customer.currency)), at)


def _payments(world: World, rng: random.Random, day: dt.date, moment) -> int:  # type: ignore[no-untyped-def]
    count = 0
    for host in _open(world):
        invoice: Invoice = host.record  # type: ignore[assignment]
        if invoice.due_date <= day + dt.timedelta(days=5) and rng.random() < 0.04:
            n = world.next_number("payment")
            owed = world.balance(invoice)
            world.add(Payment(id=f"PAY-N{n:06d}", customer_id=invoice.customer_id, date=day, currency=invoice.currency,
                              amount=owed, allocations=(Allocation(invoice_id=invoice.id, amount=owed),)), next(moment))
            count += 1
    return count


def _edits(world: World, rng: random.Random, moment, per_day: int) -> int:  # type: ignore[no-untyped-def]
    candidates = _open(world)
    chosen = rng.sample(candidates, min(len(candidates), max(1, per_day // 3)))
    for host in chosen:
        invoice: Invoice = host.record  # type: ignore[assignment]
        world.change(host, invoice.model_copy(update={"due_date": invoice.due_date + dt.timedelta(days=7)}),
                     next(moment))
    return len(chosen)


def _void(world: World, rng: random.Random, moment) -> int:  # type: ignore[no-untyped-def]
    unpaid = [h for h in _open(world) if not world.applied.get(h.record.id)]
    if not unpaid or rng.random() > 0.3:
        return 0
    host = rng.choice(unpaid)
    world.change(host, host.record.model_copy(update={"status": InvoiceStatus.VOID}), next(moment))
    return 1


def _delete_payment(world: World, rng: random.Random, day: dt.date, moment) -> int:  # type: ignore[no-untyped-def]
    recent = [h for h in world.live("payments") if (day - h.record.date).days <= 30]  # type: ignore[union-attr]
    if not recent or rng.random() > 0.3:
        return 0
    world.delete(rng.choice(recent), next(moment))
    return 1
