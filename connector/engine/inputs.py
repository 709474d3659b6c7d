"""Reading the store into the engine's inputs, rebuilt as they stood on a given date.

The inputs are named tuples: immutable, and built several times faster than frozen dataclasses, which
counts when a plan reads a hundred thousand customers and their open invoices.

Payments and credit notes dated after `as_of` are ignored, so an aging as of last quarter-end shows what
was owed then, not now.  Deleted records are taken as never having existed (the ledger says so); void
invoices owe nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import Literal, NamedTuple

from connector.money import from_minor
from connector.sync.store import Store


class OpenItem(NamedTuple):
    """An invoice with a balance on the as-of date."""

    invoice_id: str
    customer_id: str
    number: str | None
    issue_date: dt.date
    due_date: dt.date
    currency: str
    balance: Decimal
    exchange_rate: Decimal | None


class CreditItem(NamedTuple):
    """Credit a customer held, unapplied, on the as-of date."""

    customer_id: str
    source: str
    source_id: str
    date: dt.date
    currency: str
    amount: Decimal
    exchange_rate: Decimal | None


# Every stored balance is the invoice's total less all that is applied to it (payment's: its amount less
# all it applies).  On an earlier day, what was applied after it had not been yet: the day's balance is
# today's plus these later allocations.  So a report as of any day reads the open invoices through their
# partial index and adds back what was applied to each after the day, instead of summing every allocation
# of every invoice ever issued.
def _applied_after(day: str = ":day") -> str:
    """What was applied to invoice `i` after the day (`day`: the query's parameter), through
    `allocations_invoice` (invoice, date, amount: schema 12).  Looked up invoice by invoice: as of three
    months back the open invoices' balances then took 0.05 s, against 0.15 s to sum every later allocation
    by invoice and join that."""
    return f"(SELECT SUM(a.amount) FROM allocations a WHERE a.invoice_id = i.id AND a.date > {day})"


_APPLIED_AFTER = _applied_after()
# (The look-ups are only made when anything at all was applied after the day: as of today, nothing was, and
# 114,859 look-ups that find nothing would cost 0.09 s.)
_ANY_AFTER = "(SELECT 1 FROM allocations INDEXED BY allocations_date WHERE date > :day LIMIT 1)"

# The invoices open on :day: those open now, less what was applied after the day, and those settled since.
# An invoice settled since the day has its balance at 0 and was paid in full (its `paid_on`, the day of its
# last allocation) after the day, and the reverse holds too (allocations are positive, so a settled
# invoice's total is too, and it is neither void nor deleted): so these are read from the `invoices_paid`
# index, not looked up one by one.
OPEN_NOW = f"""
    SELECT i.id, i.customer_id, i.number, i.issue_date, i.due_date, i.currency,
           i.balance + iif({_ANY_AFTER}, COALESCE({_APPLIED_AFTER}, 0), 0) AS owed, i.exchange_rate
    FROM invoices i
    WHERE i.balance <> 0 AND i.deleted_at IS NULL AND i.issue_date <= :day AND owed <> 0"""
SETTLED_SINCE = f"""
    SELECT i.id, i.customer_id, i.number, i.issue_date, i.due_date, i.currency, {_APPLIED_AFTER}, i.exchange_rate
    FROM invoices i INDEXED BY invoices_paid
    WHERE i.paid_on > :day AND i.balance = 0 AND i.issue_date <= :day"""
OPEN_AS_OF = f"{OPEN_NOW} UNION ALL {SETTLED_SINCE}"

# Home-currency amounts without a rate of their own need no conversion, so they can be summed together; the
# others are converted one invoice at a time (`UNCONVERTED` picks the first kind).
UNCONVERTED = "currency = :home AND exchange_rate IS NULL"
# GROUP BY that keeps each customer's home-currency amounts together and the others one per invoice.
_BY_CUSTOMER = f"GROUP BY customer_id, currency, exchange_rate, CASE WHEN {UNCONVERTED} THEN '' ELSE id END"


def open_items(store: Store, as_of: dt.date, customer_id: str | None = None,
               invoice_ids: Collection[str] | None = None) -> list[OpenItem]:
    """Every invoice issued by `as_of` with a balance on that date (of one customer, or of these invoices,
    when given: SQLite reads only those)."""
    sql = OPEN_AS_OF
    if customer_id is not None:
        sql = f"SELECT * FROM ({OPEN_AS_OF}) WHERE customer_id = :customer"
    elif invoice_ids is not None:
        sql = f"SELECT * FROM ({OPEN_AS_OF}) WHERE id IN (SELECT value FROM json_each(:ids))"
    rows = store.rows(sql, {"day": as_of.isoformat(), "customer": customer_id,
                            "ids": json.dumps(sorted(invoice_ids or ()))})
    dates, make = _Dates(), OpenItem._make  # (`_make`: the tuple as is, without a call of `__new__` per item)
    return [make((key, customer, number, dates[issued], dates[due], cur, from_minor(units, cur),
                  Decimal(rate) if rate else None))
            for key, customer, number, issued, due, cur, units, rate in rows]


class _Dates(dict[str, dt.date]):
    """ISO dates read once each: a big ledger's hundred thousand open invoices fall on a few hundred days."""

    def __missing__(self, text: str) -> dt.date:
        day = self[text] = dt.date.fromisoformat(text)
        return day


class AgedBalance(NamedTuple):
    """What one customer owed on the as-of date in one currency at one rate, summed by aging bucket.

    `by_bucket` holds minor units, oldest-limit order (see `aged_balances`).  A foreign-currency balance is
    one invoice's: each is converted and rounded on its own, as the metrics' figures are, so the two agree
    to the cent.
    """

    customer_id: str
    currency: str
    exchange_rate: Decimal | None
    by_bucket: tuple[int, ...]


def aged_balances(store: Store, as_of: dt.date, anchor: Literal["due_date", "issue_date"],
                  limits: Sequence[int], home: str) -> list[AgedBalance]:
    """The open balances of `as_of` summed in SQL by customer, currency, rate and bucket.

    Bucket k holds invoices at most `limits[k]` days past their `anchor` date (and not in an earlier
    bucket); the last bucket, one more than there are limits, holds the rest.  A customer's aging line is
    then a row or two instead of every open invoice: what makes `aging` quick on a big ledger.
    """
    args = {"day": as_of.isoformat(), "home": home,
            **{f"c{k}": (as_of - dt.timedelta(days=days)).isoformat() for k, days in enumerate(limits)}}
    # Bucket k holds what is at most limits[k] days old and older than limits[k-1]: summed by SQLite, bucket by
    # bucket (a comparison or two a row, cheaper than working out differences in Python row by row).
    edges = [f"{anchor} >= :c0", *(f"{anchor} < :c{k - 1} AND {anchor} >= :c{k}" for k in range(1, len(limits))),
             f"{anchor} < :c{len(limits) - 1}"]
    reached = ", ".join(f"SUM(iif({edge}, owed, 0))" for edge in edges)
    # Home-currency balances open now are summed in the open-invoice index's own customer order, without a
    # sort: most of every ledger.  The rest (foreign invoices, and those settled since the day) are few.
    rows = store.rows(f"""SELECT customer_id, currency, exchange_rate, {reached}
        FROM ({OPEN_NOW}) WHERE {UNCONVERTED} GROUP BY customer_id""", args)
    summed = {row[0]: AgedBalance(row[0], row[1], None, tuple(row[3:])) for row in rows}
    rest = []
    for customer, currency, rate, *units in store.rows(f"""
            SELECT customer_id, currency, exchange_rate, {reached}
            FROM (SELECT * FROM ({OPEN_NOW}) WHERE NOT ({UNCONVERTED}) UNION ALL {SETTLED_SINCE}) {_BY_CUSTOMER}""",
                                                       args):
        if currency == home and rate is None:  # (settled since the day: added to its customer's home row)
            had = summed.get(customer)
            summed[customer] = AgedBalance(customer, currency, None, tuple(
                units if had is None else (a + b for a, b in zip(had.by_bucket, units))))
        else:
            rest.append(AgedBalance(customer, currency, Decimal(rate) if rate else None, tuple(units)))
    return [*summed.values(), *rest]


# Credit held on :day: what is left today (the store's `unapplied`, the host's own figure where it gives one:
# it knows of refunds, which no allocation shows) plus what was used after the day: applied to invoices
# (allocations), for a credit note used through a payment record (QuickBooks applies credit memos so:
# `Payment.credit_used`), or refunded in cash (`refunds`, by date: Xero's `Payments[]` on a credit).  A host
# that gives no refund dates (QuickBooks, for a payment's unapplied cash) leaves an earlier day's credit
# without what was refunded after it.
#
# Credit applied to an invoice issued after the day was still held on it, whatever the allocation's date: a
# ledger that applies a prepayment to a later invoice keeps the prepayment's own date on it.  Such invoices
# are the few with an `applied_early` day (schema version 17), read from their own index.
_CREDIT_HELD = """
    WITH late AS MATERIALIZED (
        SELECT source, source_id, amount FROM allocations INDEXED BY allocations_date WHERE date > :day
        UNION ALL
        SELECT a.source, a.source_id, a.amount FROM invoices i INDEXED BY invoices_applied_early
        CROSS JOIN allocations a ON a.invoice_id = i.id
        WHERE i.applied_early IS NOT NULL AND i.issue_date > :day AND i.applied_early <= :day AND a.date <= :day),
    paid_late AS MATERIALIZED (SELECT source_id, SUM(amount) AS amount FROM late WHERE source = 'payments'
                               GROUP BY source_id),
    credited_late AS MATERIALIZED (SELECT source_id, SUM(amount) AS amount FROM late WHERE source = 'credit_notes'
                                   GROUP BY source_id),
    used_late AS MATERIALIZED (SELECT u.key AS credit_note_id, SUM(u.value) AS amount
                               FROM payments p INDEXED BY payments_credit_used, json_each(p.credit_used) u
                               WHERE p.credit_used IS NOT NULL AND p.date > :day AND p.deleted_at IS NULL
                               GROUP BY u.key),
    payment_refunded_late AS MATERIALIZED (
        SELECT p.id AS source_id, SUM(r.value) AS amount FROM payments p INDEXED BY payments_refunds,
        json_each(p.refunds) r WHERE p.refunds IS NOT NULL AND r.key > :day GROUP BY p.id),
    note_refunded_late AS MATERIALIZED (
        SELECT n.id AS source_id, SUM(r.value) AS amount FROM credit_notes n INDEXED BY credit_notes_refunds,
        json_each(n.refunds) r WHERE n.refunds IS NOT NULL AND r.key > :day GROUP BY n.id)
    SELECT p.customer_id, p.kind, p.id, p.date, p.currency,
           p.unapplied + COALESCE(l.amount, 0) + COALESCE(r.amount, 0), p.exchange_rate
    FROM payments p LEFT JOIN paid_late l ON l.source_id = p.id LEFT JOIN payment_refunded_late r ON r.source_id = p.id
    WHERE p.unapplied > 0 AND p.deleted_at IS NULL AND p.date <= :day
    UNION ALL
    SELECT p.customer_id, p.kind, p.id, p.date, p.currency, COALESCE(l.amount, 0) + COALESCE(r.amount, 0),
           p.exchange_rate
    FROM (SELECT source_id FROM paid_late UNION SELECT source_id FROM payment_refunded_late) late
    CROSS JOIN payments p ON p.id = late.source_id  -- (CROSS: the few late ones first, each found by its id)
    LEFT JOIN paid_late l ON l.source_id = p.id LEFT JOIN payment_refunded_late r ON r.source_id = p.id
    WHERE p.unapplied = 0 AND p.deleted_at IS NULL AND p.date <= :day
    UNION ALL
    SELECT * FROM (
        SELECT n.customer_id, 'credit_note', n.id, n.date, n.currency,
               n.unapplied + COALESCE(l.amount, 0) + COALESCE(u.amount, 0) + COALESCE(r.amount, 0) AS held,
               n.exchange_rate
        FROM credit_notes n LEFT JOIN credited_late l ON l.source_id = n.id
        LEFT JOIN used_late u ON u.credit_note_id = n.id LEFT JOIN note_refunded_late r ON r.source_id = n.id
        WHERE n.deleted_at IS NULL AND n.date <= :day AND held > 0)
    ORDER BY 1, 4, 3"""


def credit_items(store: Store, as_of: dt.date) -> list[CreditItem]:
    """Unapplied payments, overpayments, prepayments and credit notes held on `as_of`."""
    rows = store.rows(_CREDIT_HELD, {"day": as_of.isoformat()})
    dates, make = _Dates(), CreditItem._make
    return [make((customer, source, key, dates[on], cur, from_minor(units, cur), Decimal(rate) if rate else None))
            for customer, source, key, on, cur, units, rate in rows]


def customer_names(store: Store) -> dict[str, str]:
    return {key: name for key, name in store.rows("SELECT id, name FROM customers")}


def latest_rates(store: Store, as_of: dt.date) -> dict[str, Decimal]:
    """The rate of each currency's latest invoice issued by `as_of` (of its first one after, for a currency
    first billed later): for converting credits that carry no rate of their own.  Not today's latest: a
    month-end aging run again in the next month would otherwise change with the rates of invoices issued
    since."""
    # SQLite takes the bare column (exchange_rate) from the row holding the MAX (MIN): one pass each over the
    # index `invoices_rated`, no self-join.
    rated = "FROM invoices WHERE exchange_rate IS NOT NULL AND deleted_at IS NULL"
    args = {"day": as_of.isoformat()}
    later = store.rows(f"SELECT currency, exchange_rate, MIN(issue_date) {rated} AND issue_date > :day "
                       "GROUP BY currency", args)
    rates = {currency: Decimal(rate) for currency, rate, _ in later}
    by_then = store.rows(f"SELECT currency, exchange_rate, MAX(issue_date) {rated} AND issue_date <= :day "
                         "GROUP BY currency", args)
    rates.update((currency, Decimal(rate)) for currency, rate, _ in by_then)
    return rates


class Sale(NamedTuple):
    """An invoice as a credit sale: when it was issued and what it billed, in the home currency."""

    invoice_id: str
    issue_date: dt.date
    amount: Decimal
    currency: str
    exchange_rate: Decimal | None


class Settlement(NamedTuple):
    """An invoice paid in full: when it was issued, due and settled (its last payment or credit)."""

    invoice_id: str
    customer_id: str
    issue_date: dt.date
    due_date: dt.date
    settled: dt.date
    total: Decimal
    currency: str
    exchange_rate: Decimal | None


class Receipt(NamedTuple):
    """Money received (a payment) or a debt written off (a bad-debt credit note), on a date."""

    customer_id: str
    date: dt.date
    amount: Decimal
    currency: str
    exchange_rate: Decimal | None


def monthly_sales(store: Store, start: dt.date, end: dt.date) -> list[tuple[dt.date, Sale]]:
    """Sales summed by month, currency and rate (each as one `Sale` dated on its month's 1st)."""
    rows = store.rows("""SELECT substr(issue_date, 1, 7), currency, exchange_rate, SUM(total) FROM invoices
        WHERE deleted_at IS NULL AND status <> 'void' AND issue_date BETWEEN ? AND ? GROUP BY 1, 2, 3 ORDER BY 1""",
                              (start.isoformat(), end.isoformat()))
    return [(dt.date.fromisoformat(f"{month}-01"),
             Sale(f"{month}:{cur}", dt.date.fromisoformat(f"{month}-01"), from_minor(units, cur), cur,
                  Decimal(rate) if rate else None)) for month, cur, rate, units in rows]


# Invoices settled between :start and :end.  The store keeps each invoice's `paid_on`, the date of the
# allocation that paid it in full (`connector.sync.store`), so most are read from an index of it
# (`PAID_BETWEEN`).  An invoice with allocations after :end has its `paid_on` after :end too, so the range
# leaves it out; it may still have been settled by :end (allocations can cover more than the total), which is
# worked out from its allocations up to :end (`SETTLED_LATE`).  Such an invoice owes less than nothing now:
# what it was applied up to :end covered its total, and more came after.  So only the few invoices with a
# balance below zero are looked at, from the open invoices' index.  Invoices with a bad-debt write-off are
# left out.
SETTLED_WITH = """
    WITH written_off AS MATERIALIZED (
        SELECT i.rowid AS r, i.id FROM credit_notes n
        JOIN allocations w ON w.source = 'credit_notes' AND w.source_id = n.id JOIN invoices i ON i.id = w.invoice_id
        WHERE n.reason = 'bad_debt' AND n.deleted_at IS NULL
        UNION  -- (QuickBooks applies a credit memo through a payment record: `Payment.credit_used`; CROSS JOIN
               -- keeps SQLite starting from those few payments rather than from every payment's allocations)
        SELECT i.rowid, i.id FROM payments p INDEXED BY payments_credit_used CROSS JOIN json_each(p.credit_used) u
        CROSS JOIN credit_notes n ON n.id = u.key
        CROSS JOIN allocations w ON w.source = 'payments' AND w.source_id = p.id
        CROSS JOIN invoices i ON i.id = w.invoice_id
        WHERE p.credit_used IS NOT NULL AND p.deleted_at IS NULL AND n.reason = 'bad_debt' AND n.deleted_at IS NULL)"""
PAID_BETWEEN = "i.paid_on BETWEEN :start AND :end AND i.rowid NOT IN (SELECT r FROM written_off)"
# The written-off invoices themselves (as `i`), for sums that take them away rather than test every invoice.
WRITTEN_OFF_INVOICES = "written_off w CROSS JOIN invoices i ON i.rowid = w.r"
SETTLED_LATE = f"""
    SELECT i.id, i.customer_id, i.issue_date, i.due_date, max(MAX(a.date), i.issue_date) AS settled, i.total,
           i.currency, i.exchange_rate
    FROM (SELECT i.*, {_applied_after(":end")} AS later FROM invoices i INDEXED BY invoices_open
          WHERE i.balance <> 0 AND i.deleted_at IS NULL AND i.balance < 0) i
    JOIN allocations a ON a.invoice_id = i.id AND +a.date <= :end
    WHERE i.later > 0 AND i.balance + i.later <= 0 AND i.status <> 'void' AND i.total > 0
      AND i.id NOT IN (SELECT id FROM written_off)
    GROUP BY i.id HAVING SUM(a.amount) >= i.total AND settled >= :start"""
SETTLED = f"""{SETTLED_WITH}
    SELECT i.id, i.customer_id, i.issue_date, i.due_date, i.paid_on AS settled, i.total, i.currency,
           i.exchange_rate
    FROM invoices i INDEXED BY invoices_paid WHERE {PAID_BETWEEN}
    UNION ALL {SETTLED_LATE}"""


def settlements(store: Store, start: dt.date, end: dt.date) -> list[Settlement]:
    """Invoices whose balance reached zero between `start` and `end`, by payments and ordinary credits.

    Invoices with a bad-debt write-off are left out: writing a debt off is not the customer paying it.
    """
    rows = store.rows(SETTLED + " ORDER BY 5, 1", {"start": start.isoformat(), "end": end.isoformat()})
    return [Settlement(key, customer, dt.date.fromisoformat(issued), dt.date.fromisoformat(due),
                       dt.date.fromisoformat(paid), from_minor(units, cur), cur, Decimal(rate) if rate else None)
            for key, customer, issued, due, paid, units, cur, rate in rows]


class Lateness(NamedTuple):
    """How a customer paid the invoices it settled in a window: how many, days late in all (early counts as
    0), how many late, and days from due to payment in all (early counts as negative: when cash arrives)."""

    paid: int
    days_late: int
    paid_late: int
    days_from_due: int = 0


def lateness_of(settled: Iterable[Settlement]) -> dict[str, Lateness]:
    """Each customer's lateness from its settlements."""
    found: dict[str, list[int]] = {}
    for s in settled:
        found.setdefault(s.customer_id, []).append((s.settled - s.due_date).days)
    return {key: Lateness(len(days), sum(max(0, d) for d in days), sum(1 for d in days if d > 0), sum(days))
            for key, days in found.items()}


def lateness(store: Store, start: dt.date, end: dt.date, *, signed: bool = False) -> dict[str, Lateness]:
    """`lateness_of(settlements(store, start, end))`, added up by SQLite: one row per customer instead of
    one object per settled invoice, which is most of what `plan` and `segments` read on a big ledger.

    The invoices paid in the window are summed as the `invoices_settled` index gives them, a customer at a
    time, with the days each was paid late kept beside it: no sort, no date arithmetic, and no look-up per
    invoice (0.8 → 0.3 s for 475,889 settlements).  So the few written off among them are summed apart and
    taken away, and those settled in the window but paid more after it are summed apart and added.
    `days_from_due` only when `signed` (the forecast's; 0 otherwise)."""
    sums = f"COUNT(*), SUM(MAX(0, days)), SUM(days > 0), {'SUM(days)' if signed else 0}"
    rows = store.rows(f"""{SETTLED_WITH}
        SELECT customer_id, 1, {sums} FROM (
            SELECT customer_id, paid_days_late AS days FROM invoices INDEXED BY invoices_settled
            WHERE paid_on IS NOT NULL AND paid_on BETWEEN :start AND :end)
        GROUP BY customer_id
        UNION ALL
        SELECT customer_id, -1, {sums} FROM (
            SELECT i.customer_id, i.paid_days_late AS days FROM {WRITTEN_OFF_INVOICES}
            WHERE i.paid_on BETWEEN :start AND :end)
        GROUP BY customer_id
        UNION ALL
        SELECT customer_id, 1, {sums} FROM (
            SELECT customer_id, CAST(julianday(settled) - julianday(due_date) AS INTEGER) AS days FROM ({SETTLED_LATE}))
        GROUP BY customer_id""", {"start": start.isoformat(), "end": end.isoformat()})
    found: dict[str, Lateness] = {}
    amended = []
    for key, sign, paid, days_late, paid_late, from_due in rows:
        if sign == 1 and key not in found:  # (nearly every customer: one row)
            found[key] = Lateness(paid, days_late, paid_late, from_due)
        else:
            amended.append((key, sign, Lateness(paid, days_late, paid_late, from_due)))
    for key, sign, more in amended:
        had = found.get(key, Lateness(0, 0, 0, 0))
        found[key] = Lateness(*(a + sign * b for a, b in zip(had, more)))
        if not found[key].paid:  # (every invoice it settled was written off)
            del found[key]
    return found


def write_offs(store: Store, start: dt.date, end: dt.date) -> list[Receipt]:
    """Bad-debt credit notes dated from `start` to `end` inclusive."""
    return _money_in("SELECT customer_id, date, amount, currency, exchange_rate FROM credit_notes WHERE deleted_at IS NULL "
                     "AND reason = 'bad_debt' AND date BETWEEN ? AND ?", store, start, end)


def _money_in(sql: str, store: Store, start: dt.date, end: dt.date) -> list[Receipt]:
    rows = store.rows(sql, (start.isoformat(), end.isoformat()))
    return [Receipt(customer, dt.date.fromisoformat(on), from_minor(units, cur), cur, Decimal(rate) if rate else None)
            for customer, on, units, cur, rate in rows]


class CustomerInfo(NamedTuple):
    """What the engine needs of a customer besides its invoices."""

    customer_id: str
    name: str
    email: str | None
    timezone: str | None
    credit_limit: Decimal | None


def customers(store: Store, only: Iterable[str] | None = None) -> dict[str, CustomerInfo]:
    """Live customers by id (`only` those, when given: a plan needs only those who owe something)."""
    sql = "SELECT id, name, email, timezone, credit_limit FROM customers WHERE deleted_at IS NULL"
    rows = store.rows(sql) if only is None else store.rows(
        f"{sql} AND id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(only)),))
    make = CustomerInfo._make
    return {key: make((key, name, email, zone, Decimal(limit) if limit else None))
            for key, name, email, zone, limit in rows}


def missing_customers(store: Store, ids: Iterable[str]) -> list[str]:
    """Those of `ids` that name no live customer in the store (a mistyped id in a client's config)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    found = {key for (key,) in store.rows("SELECT id FROM customers WHERE deleted_at IS NULL AND id IN "
                                          "(SELECT value FROM json_each(?))", (json.dumps(wanted),))}
    return [key for key in wanted if key not in found]


class PlanPayment(NamedTuple):
    """Cash a customer paid, as a payment plan counts it: what it paid on each invoice by the as-of date, and
    what it left unapplied then (money on account, which may well be meant for the plan)."""

    date: dt.date
    currency: str
    applied: dict[str, Decimal]
    unapplied: Decimal
    cash: Decimal  # what the customer paid, less what was refunded of it by the as-of date

    def toward(self, invoice_ids: Iterable[str]) -> Decimal:
        """What the payment counts toward a plan on these invoices: what it paid on them and left on account,
        never more than its cash.  (A QuickBooks payment may pay an invoice partly with a credit memo's
        credit: that credit is not an installment paid.)"""
        counted = sum((self.applied.get(i, Decimal(0)) for i in invoice_ids), self.unapplied)
        return min(counted, self.cash)


def plan_payments(store: Store, as_of: dt.date, customer_ids: set[str]) -> dict[str, list[PlanPayment]]:
    """The cash payments of these customers up to `as_of`, for matching payment plans.

    A credit applied through a payment record (QuickBooks' `credit_application`) is credit, not cash, and
    is left out, as credit notes are.  What was refunded by `as_of` out of a payment's unapplied amount was
    handed back, and is not left on account."""
    day = as_of.isoformat()
    rows = store.rows("""
        SELECT p.customer_id, p.id, p.date, p.amount - COALESCE(
                   (SELECT SUM(r.value) FROM json_each(p.refunds) r WHERE r.key <= :day), 0),
               COALESCE((SELECT SUM(u.value) FROM json_each(p.credit_used) u), 0),
               p.currency, a.invoice_id, a.amount
        FROM payments p LEFT JOIN allocations a ON a.source = 'payments' AND a.source_id = p.id AND a.date <= :day
        WHERE p.deleted_at IS NULL AND p.date <= :day AND p.kind <> 'credit_application'
          AND p.customer_id IN (SELECT value FROM json_each(:customers))
        ORDER BY p.date, p.id""", {"day": day, "customers": json.dumps(sorted(customer_ids))})
    found: dict[str, tuple[str, dt.date, int, int, str, dict[str, int]]] = {}
    for customer, key, on, units, credit, cur, invoice, applied in rows:
        if key not in found:
            found[key] = (customer, dt.date.fromisoformat(on), units, credit, cur, {})
        if invoice is not None:
            by_invoice = found[key][5]
            by_invoice[invoice] = by_invoice.get(invoice, 0) + applied
    result: dict[str, list[PlanPayment]] = {}
    for customer, on, units, credit, cur, by_invoice in found.values():
        # (what it applied beyond its credit came out of its cash; the rest of the cash stayed on account)
        left = max(0, units - max(0, sum(by_invoice.values()) - credit))
        result.setdefault(customer, []).append(PlanPayment(
            on, cur, {invoice: from_minor(n, cur) for invoice, n in by_invoice.items()}, from_minor(left, cur),
            from_minor(units, cur)))
    return result
