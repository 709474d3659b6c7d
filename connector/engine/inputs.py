"""Reading the store into the engine's inputs, rebuilt as they stood on a given date.

Payments and credit notes dated after `as_of` are ignored, so an aging as of last quarter-end shows what
was owed then, not now.  Deleted records are taken as never having existed (the ledger says so); void
invoices owe nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from connector.money import from_minor
from connector.sync.store import Store


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An invoice with a balance on the as-of date."""

    invoice_id: str
    customer_id: str
    number: str | None
    issue_date: dt.date
    due_date: dt.date
    currency: str
    balance: Decimal
    exchange_rate: Decimal | None


@dataclass(frozen=True, slots=True)
class CreditItem:
    """Credit a customer held, unapplied, on the as-of date."""

    customer_id: str
    source: str
    source_id: str
    date: dt.date
    currency: str
    amount: Decimal
    exchange_rate: Decimal | None


def open_items(store: Store, as_of: dt.date) -> list[OpenItem]:
    """Every invoice issued by `as_of` with a balance on that date."""
    day = as_of.isoformat()
    if _nothing_after(store, day):
        sql = """SELECT id, customer_id, number, issue_date, due_date, currency, balance, exchange_rate
                 FROM invoices WHERE balance <> 0 AND deleted_at IS NULL AND issue_date <= ?"""
        rows = store.conn.execute(sql, (day,))
    else:
        sql = """SELECT i.id, i.customer_id, i.number, i.issue_date, i.due_date, i.currency,
                        i.total - COALESCE((SELECT SUM(a.amount) FROM allocations a
                                            WHERE a.invoice_id = i.id AND a.date <= ?), 0) AS owed,
                        i.exchange_rate
                 FROM invoices i WHERE i.deleted_at IS NULL AND i.status <> 'void' AND i.issue_date <= ?
                 AND owed <> 0"""
        rows = store.conn.execute(sql, (day, day))
    return [OpenItem(key, customer, number, dt.date.fromisoformat(issued), dt.date.fromisoformat(due), cur,
                     from_minor(units, cur), Decimal(rate) if rate else None)
            for key, customer, number, issued, due, cur, units, rate in rows]


def _nothing_after(store: Store, day: str) -> bool:
    """True when no allocation is dated after `day`: the stored balances are then the as-of balances."""
    (latest,) = store.conn.execute("SELECT MAX(date) FROM allocations").fetchone()
    return latest is None or latest <= day


def credit_items(store: Store, as_of: dt.date) -> list[CreditItem]:
    """Unapplied payments, overpayments, prepayments and credit notes held on `as_of`."""
    day = as_of.isoformat()
    parts = []
    for table, kind in (("payments", "kind"), ("credit_notes", "'credit_note'")):
        parts.append(f"""
            SELECT p.customer_id, {kind}, p.id, p.date, p.currency,
                   p.amount - COALESCE((SELECT SUM(a.amount) FROM allocations a WHERE a.source = '{table}'
                                        AND a.source_id = p.id AND a.date <= ?), 0) AS held,
                   p.exchange_rate
            FROM {table} p WHERE p.deleted_at IS NULL AND p.date <= ? AND held > 0""")
    rows = store.conn.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 4, 3", (day, day, day, day))
    return [CreditItem(customer, source, key, dt.date.fromisoformat(on), cur, from_minor(units, cur),
                       Decimal(rate) if rate else None)
            for customer, source, key, on, cur, units, rate in rows]


def customer_names(store: Store) -> dict[str, str]:
    return dict(store.conn.execute("SELECT id, name FROM customers"))


def latest_rates(store: Store) -> dict[str, Decimal]:
    """The rate of each currency's latest invoice: for converting credits that carry no rate of their own."""
    rows = store.conn.execute("""SELECT currency, exchange_rate FROM invoices i
        WHERE exchange_rate IS NOT NULL AND deleted_at IS NULL AND issue_date =
              (SELECT MAX(issue_date) FROM invoices j WHERE j.currency = i.currency AND j.exchange_rate IS NOT NULL)
        GROUP BY currency""")
    return {currency: Decimal(rate) for currency, rate in rows}
