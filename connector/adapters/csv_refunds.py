"""Refunds in a csv ledger: `refunds.csv` (optional), cash paid back to a customer out of a payment's unapplied
amount or out of a credit note's credit.

Without it a refunded overpayment stayed in the store as credit the customer held, for ever: the aging showed
it, and the plan held the customer ("unapplied credit covers the overdue balance") however much it came to
owe.  Shrinking the payment instead would have told the metrics that less cash came in.  Each refund is read
before the payments and the credit notes, and is claimed by the record it names as that record is read, in
its currency; one that names no record is reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connector.records import Refund

if TYPE_CHECKING:
    from connector.adapters.csv import _Row

# What a refund may name: its column, and the entity (file) holding such records.
SOURCES = {"payment_id": "payments", "credit_note_id": "credit_notes"}
_NAMES = {"payments": "payment", "credit_notes": "credit note"}


class CsvRefunds:
    """The folder's refunds by the record they refund, until that record claims them."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], list[_Row]] = {}

    def add(self, row: _Row) -> None:
        named = {column: row.text(column) for column in SOURCES}
        given = [(column, value) for column, value in named.items() if value is not None]
        if len(given) != 1:
            row.fail(None, "a refund names the payment_id or the credit_note_id it refunds: one of them")
            return
        column, key = given[0]
        self._pending.setdefault((SOURCES[column], key), []).append(row)

    def refunded(self, entity: str) -> frozenset[str]:
        """The ids of `entity` ("payments" or "credit_notes") with refunds still to claim."""
        return frozenset(key for kind, key in self._pending if kind == entity)

    def claim(self, entity: str, head: Mapping[str, Any], unapplied: Decimal) -> tuple[Refund, ...] | None:
        """The refunds of the record `head` (its id, date and currency), which left `unapplied` before them;
        None after a problem, which the rows have noted."""
        rows = self._pending.pop((entity, head["id"]), [])
        refunds, ok = [], True
        for row in rows:
            before = len(row.problems)
            on, amount = row.date("date"), row.amount("amount", head["currency"], positive=True)
            if on is not None and on < head["date"]:
                row.fail("date", f"{on} is before the {_NAMES[entity]} it refunds ({head['date']})")
            if not row.ok_since(before) or on is None or amount is None:
                ok = False
                continue
            refunds.append(Refund(date=on, amount=amount))
        refunded = sum((r.amount for r in refunds), Decimal(0))
        if ok and refunded > unapplied:
            rows[-1].fail("amount", f"the refunds of {_NAMES[entity]} '{head['id']}' add up to {refunded}, more "
                                    f"than the {unapplied} it left unapplied")
            ok = False
        return tuple(sorted(refunds, key=lambda r: r.date)) if ok else None

    def forget(self, entity: str, key: str) -> None:
        """Drop the refunds of a record that was refused: its own problem is reported, and "no such payment"
        beside it would mislead."""
        self._pending.pop((entity, key), None)

    def unclaimed(self) -> Iterator[tuple[_Row, str, str]]:
        """Each refund no record claimed: its row, the column naming the record, and what is wrong."""
        columns = {entity: column for column, entity in SOURCES.items()}
        for (entity, key), rows in self._pending.items():
            for row in rows:
                yield row, columns[entity], f"no {_NAMES[entity]} '{key}' in {entity}.csv"
