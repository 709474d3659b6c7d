"""Aggregate figures for the metrics, summed in SQL so that a million invoices never reach Python.

Amounts come back grouped by currency and exchange rate; foreign-currency amounts stay one per invoice so
that each is converted and rounded on its own, exactly as the aging does, and the totals agree to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connector.engine.inputs import (OPEN_AS_OF, SETTLED_LATE, SETTLED_WITH, UNCONVERTED, WRITTEN_OFF_INVOICES,
                                    Sale)
from connector.money import from_minor, to_home
from connector.sync.store import Store


@dataclass(frozen=True)
class Amounts:
    """Money in several currencies: (currency, rate, amount) groups, converted only when asked."""

    groups: tuple[tuple[str, Decimal | None, Decimal], ...] = ()

    def home(self, home: str, rates: Mapping[str, Decimal]) -> Decimal:
        total = from_minor(0, home)  # (0.00, not 0, when there is nothing to add)
        for currency, rate, amount in self.groups:
            if currency != home and rate is None:
                rate = rates.get(currency)
                if rate is None:
                    raise ValueError(f"no exchange rate to convert {currency} to {home}")
            total += to_home(amount, None if currency == home else rate, home)
        return total


@dataclass(frozen=True)
class Settled:
    """Invoices settled in a period: how many, and their days to pay and days late."""

    count: int = 0
    days_to_pay: int = 0
    days_late: int = 0
    late: int = 0
    weighted_days: Amounts = Amounts()  # Σ days to pay × total
    totals: Amounts = Amounts()  # Σ total


def _amounts(store: Store, sql: str, args: Mapping[str, object]) -> Amounts:
    """Run a query returning (currency, rate, minor units) rows."""
    return _grouped(store.rows(sql, args))


def _grouped(rows: Iterable[Sequence[Any]]) -> Amounts:
    """(currency, rate, minor units) rows as `Amounts`, the empty ones left out."""
    return Amounts(tuple((cur, Decimal(rate) if rate else None, from_minor(units, cur))
                         for cur, rate, units in rows if units))


def _summed(rows: str, sums: str) -> str:
    """`SELECT currency, exchange_rate, {sums}` over the CTE `rows` (which has `id`, `currency`, `exchange_rate`).

    Home-currency amounts without a rate need no conversion and are summed in one row, without a GROUP BY
    (a sort of every row); the others are grouped one per invoice, each to be converted on its own.
    """
    return (f"SELECT currency, exchange_rate, {sums} FROM {rows} WHERE {UNCONVERTED} UNION ALL "
            f"SELECT currency, exchange_rate, {sums} FROM {rows} WHERE NOT ({UNCONVERTED}) "
            f"GROUP BY currency, exchange_rate, id")


def receivables(store: Store, day: dt.date, home: str) -> tuple[Amounts, Amounts]:
    """(all open balances, the part not yet due) as of `day`, rebuilt as they stood then."""
    rows = list(store.rows(f"""WITH open AS ({OPEN_AS_OF})
        {_summed("open", "SUM(owed), SUM(iif(due_date >= :day, owed, 0))")}""",
                              {"day": day.isoformat(), "home": home}))
    return _grouped([(cur, rate, owed) for cur, rate, owed, _ in rows]), \
        _grouped([(cur, rate, current) for cur, rate, _, current in rows])


def sales_and_months(store: Store, start: dt.date, end: dt.date, home: str,
                     since: dt.date) -> tuple[Amounts, list[Sale]]:
    """The period's sales (the invoices issued from `start` to `end`, foreign ones one by one) and the sales by
    month from `since` to `end` (as `inputs.monthly_sales`), from one read of the `invoices_issued` index.

    Home-currency sales come summed by day, in the index's own order (no sort; a few hundred rows); foreign
    ones one by one (numbered: the index leaves their ids out), each to be converted on its own when it is in
    the period."""
    args = {"start": start.isoformat(), "end": end.isoformat(), "since": since.isoformat(), "home": home}
    issued = ("FROM invoices INDEXED BY invoices_issued WHERE deleted_at IS NULL AND status <> 'void' "
              "AND issue_date BETWEEN min(:start, :since) AND :end")
    rows = store.rows(f"""SELECT issue_date, currency, exchange_rate, SUM(total), 0 {issued} AND {UNCONVERTED}
        GROUP BY issue_date, currency, exchange_rate
        UNION ALL SELECT issue_date, currency, exchange_rate, total, 1 {issued} AND NOT ({UNCONVERTED})""", args)
    first, recent = start.isoformat(), since.isoformat()
    in_period: dict[tuple[str, str | None, int], int] = {}  # (currency, rate, foreign invoice's number) → units
    by_month: dict[tuple[str, str, str | None], int] = {}
    for n, (day, cur, rate, units, foreign) in enumerate(rows, 1):
        if day >= first:
            key = (cur, rate, n if foreign else 0)
            in_period[key] = in_period.get(key, 0) + units
        if day >= recent:
            by_month[day[:7], cur, rate] = by_month.get((day[:7], cur, rate), 0) + units
    period = _grouped([(cur, rate, units) for (cur, rate, _), units in in_period.items()])
    months = [Sale(f"{month}:{cur}", dt.date.fromisoformat(f"{month}-01"), from_minor(units, cur), cur,
                   Decimal(rate) if rate else None)
              for (month, cur, rate), units in sorted(by_month.items(), key=lambda kv: (*kv[0][:2], kv[0][2] or ""))]
    return period, months


def received(store: Store, start: dt.date, end: dt.date, home: str, *, write_offs: bool = False) -> Amounts:
    """Cash received in the period, net of what was refunded in it (or, with `write_offs`, bad-debt credit
    notes dated in the period).

    An overpayment or a prepayment handed back was never collected: a refund dated in the period is taken
    off, at its payment's rate, whenever the payment was received (a refund in this period of last period's
    overpayment makes this period's net cash smaller).  Refunds of credit notes are not here: they pay back
    credit the customer was given, not cash it paid.  A host that gives no refund dates (QuickBooks) leaves
    its refunds in.
    """
    args = {"start": start.isoformat(), "end": end.isoformat(), "home": home}
    if write_offs:
        return _amounts(store, f"""WITH got AS (SELECT id, currency, exchange_rate, amount FROM credit_notes
            WHERE deleted_at IS NULL AND date BETWEEN :start AND :end AND reason = 'bad_debt')
            {_summed("got", "SUM(amount)")}""", args)
    return _amounts(store, f"""WITH got AS (
            SELECT id, currency, exchange_rate, amount FROM payments
            WHERE deleted_at IS NULL AND date BETWEEN :start AND :end AND kind <> 'credit_application'
            UNION ALL
            SELECT p.id, p.currency, p.exchange_rate, -r.value FROM payments p INDEXED BY payments_refunds,
                json_each(p.refunds) r
            WHERE p.refunds IS NOT NULL AND p.deleted_at IS NULL AND r.key BETWEEN :start AND :end)
        {_summed("got", "SUM(amount)")}""", args)


def settled(store: Store, start: dt.date, end: dt.date, home: str) -> Settled:
    """Invoices whose balance reached zero in the period by payments and ordinary credits (not write-offs).

    Summed as the `invoices_paid` index gives them: those paid in full in the period (home-currency ones summed
    by SQLite, foreign ones one by one, each to be converted on its own), less the few written off among them,
    plus the few settled in the period but paid more after it (`inputs.settlements` lists the same invoices)."""
    to_pay = "CAST(julianday(settled) - julianday(issue_date) AS INTEGER)"
    its_figures = f"{to_pay}, MAX(0, late), late > 0, {to_pay} * total, total"
    columns = "i.id, i.currency, i.exchange_rate, i.total, i.issue_date, i.paid_on AS settled, i.paid_days_late AS late"
    paid = f"SELECT {columns} FROM invoices i INDEXED BY invoices_paid WHERE i.paid_on BETWEEN :start AND :end"
    written_off = f"SELECT {columns} FROM {WRITTEN_OFF_INVOICES} WHERE i.paid_on BETWEEN :start AND :end"
    late = (f"SELECT id, currency, exchange_rate, total, issue_date, settled, "
            f"CAST(julianday(settled) - julianday(due_date) AS INTEGER) AS late FROM ({SETTLED_LATE})")
    one_by_one = f"currency, exchange_rate, iif({UNCONVERTED}, NULL, id), 1, {its_figures}"
    rows = store.rows(f"""{SETTLED_WITH}
        SELECT currency, exchange_rate, NULL, COUNT(*), SUM({to_pay}), SUM(MAX(0, late)), SUM(late > 0),
               SUM({to_pay} * total), SUM(total), 1 FROM ({paid}) WHERE {UNCONVERTED}
        UNION ALL SELECT {one_by_one}, 1 FROM ({paid}) WHERE NOT ({UNCONVERTED})
        UNION ALL SELECT {one_by_one}, -1 FROM ({written_off})
        UNION ALL SELECT {one_by_one}, 1 FROM ({late})""", {"start": start.isoformat(), "end": end.isoformat(),
                                                            "home": home})
    groups: dict[tuple[str, str | None, str | None], list[int]] = {}
    for currency, rate, invoice, *sums, sign in rows:
        if sums[0]:  # (the home-currency sums are there, empty, when nothing was settled)
            had = groups.setdefault((currency, rate, invoice), [0] * 6)
            groups[currency, rate, invoice] = [a + sign * b for a, b in zip(had, sums)]
    kept = [((currency, Decimal(rate) if rate else None), sums) for (currency, rate, _), sums in groups.items()
            if sums[0]]  # (a foreign invoice paid and written off in the period: no longer there)
    return Settled(sum(s[0] for _, s in kept), sum(s[1] for _, s in kept), sum(s[2] for _, s in kept),
                   sum(s[3] for _, s in kept),
                   Amounts(tuple((c, r, from_minor(s[4], c)) for (c, r), s in kept)),
                   Amounts(tuple((c, r, from_minor(s[5], c)) for (c, r), s in kept)))
