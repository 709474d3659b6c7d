"""Canonical records → store rows: minor units, ISO dates and raw JSON.

A row is exactly what the store keeps of a record, column for column, so the merge recognises an unchanged
record by comparing the staged row with the stored one in SQL (`connector.sync.store`); no content hash is
computed or kept (schema version 7 dropped it: in a csv load it cost about 2.7 µs a row, a sixth of the load).
"""

from __future__ import annotations

import datetime as dt
import json
import marshal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from connector.money import to_minor
from connector.records import CreditNote, Customer, Invoice, Payment

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Store rows an adapter built itself from input it has checked: what staging takes besides records.

    `records` are an entity's rows as the functions below build them, each followed by its origin;
    `allocations` are allocation rows as `allocation_rows` builds them.  The csv host prepares its plain
    chunks this way (`connector.adapters.csv_columns`), skipping a record per row that would cost more than
    everything else it does.
    """

    entity: str
    records: list[Row]
    allocations: list[Row]
    fixed: tuple[tuple[str, Any], ...] = ()
    """Columns every one of the `records` shares, with that value, left out of the rows (which keep the
    others in order): each value left out is one fewer to bind per row (an always-empty `raw`, a payment's
    kind), and binding is most of what writing a row costs."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as one `marshal` blob: a reader process sends millions of rows to the sync process, and
        pickle's bookkeeping of every string made sending cost 3 s of a csv load; marshal takes under half.
        (Both processes run the same interpreter, which is all marshal's format asks.)"""
        fields = (self.entity, self.records, self.allocations, self.fixed)
        try:
            return _unmarshal, (marshal.dumps(fields),)
        except ValueError:  # a value marshal does not know: pickle it the usual way
            return Prepared, fields


def _unmarshal(blob: bytes) -> Prepared:
    return Prepared(*marshal.loads(blob))


def _instant(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def raw_text(value: Any) -> str | None:
    """Compact JSON text of the host's record (amounts parsed as Decimal are kept as their exact text).

    orjson is five times faster than `json` here, and this is the hottest line of a sync; `json` remains
    for what orjson refuses (integers beyond 64 bits).  Both write the same text for parsed JSON.
    """
    if value is None:
        return None
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def customer_row(c: Customer) -> Row:
    return (c.id, c.name, c.email, c.currency, c.timezone, c.country, int(c.active),
            _rate(c.credit_limit), _instant(c.updated_at), raw_text(c.raw))


def invoice_row(i: Invoice) -> Row:
    host_balance = None if i.host_balance is None else to_minor(i.host_balance, i.currency)
    return (i.id, i.customer_id, i.number, i.issue_date.isoformat(), i.due_date.isoformat(),
            i.currency, to_minor(i.total, i.currency), _rate(i.exchange_rate), i.status.value,
            host_balance, _instant(i.updated_at), raw_text(i.raw))


def allocation_rows(source: str, parent: Payment | CreditNote) -> list[Row]:
    """(source, source_id, invoice_id, date, amount, origin) rows; the date defaults to the parent's."""
    return [(source, parent.id, a.invoice_id, (a.date or parent.date).isoformat(),
             to_minor(a.amount, parent.currency), a.origin or parent.origin) for a in parent.allocations]


def credit_used_text(p: Payment) -> str | None:
    """The credit notes' credit a payment uses, as the store keeps it: a JSON object of minor units by credit
    note id, in id order (so that an unchanged payment gives the same text); None when it uses none."""
    if not p.credit_used:
        return None
    used: dict[str, int] = {}
    for use in p.credit_used:
        used[use.credit_note_id] = used.get(use.credit_note_id, 0) + to_minor(use.amount, p.currency)
    return json.dumps(dict(sorted(used.items())), separators=(",", ":"))


def refunds_text(credit: Payment | CreditNote) -> str | None:
    """The cash refunded out of a credit, as the store keeps it: a JSON object of minor units by ISO date, in
    date order (so that an unchanged credit gives the same text); None when nothing was refunded."""
    if not credit.refunds:
        return None
    refunded: dict[str, int] = {}
    for refund in credit.refunds:
        day = refund.date.isoformat()
        refunded[day] = refunded.get(day, 0) + to_minor(refund.amount, credit.currency)
    return json.dumps(dict(sorted(refunded.items())), separators=(",", ":"))


def payment_row(p: Payment) -> Row:
    return (p.id, p.customer_id, p.date.isoformat(), p.currency, to_minor(p.amount, p.currency),
            to_minor(p.unapplied, p.currency), _rate(p.exchange_rate), p.kind.value,
            p.reference, credit_used_text(p), refunds_text(p), _instant(p.updated_at), raw_text(p.raw))


def credit_note_row(n: CreditNote) -> Row:
    return (n.id, n.customer_id, n.number, n.date.isoformat(), n.currency, to_minor(n.amount, n.currency),
            to_minor(n.unapplied, n.currency), _rate(n.exchange_rate), n.reason, refunds_text(n),
            _instant(n.updated_at), raw_text(n.raw))


def prepare(record: Customer | Invoice | Payment | CreditNote) -> tuple[str, Row, list[Row]]:
    """(entity, the record's row followed by its origin, its allocation rows): what staging keeps of it."""
    if isinstance(record, Invoice):
        return "invoices", (*invoice_row(record), record.origin), []
    if isinstance(record, Customer):
        return "customers", (*customer_row(record), record.origin), []
    if isinstance(record, Payment):
        return "payments", (*payment_row(record), record.origin), allocation_rows("payments", record)
    if isinstance(record, CreditNote):
        return "credit_notes", (*credit_note_row(record), record.origin), allocation_rows("credit_notes", record)
    raise TypeError(f"not a canonical record: {type(record).__name__}")  # pragma: no cover - the union is closed


def prepared_chunks(records: Iterable[Customer | Invoice | Payment | CreditNote | Prepared],
                    size: int = 1_000) -> Iterator[Prepared]:
    """Records turned into `Prepared` rows, `size` records of an entity at a time, each entity in its order."""
    held: dict[str, tuple[list[Row], list[Row]]] = {}
    for record in records:
        if isinstance(record, Prepared):
            yield record
            continue
        entity, row, allocations = prepare(record)
        rows, owned = held.setdefault(entity, ([], []))
        rows.append(row)
        owned.extend(allocations)
        if len(rows) >= size:
            yield Prepared(entity, rows, owned)
            del held[entity]
    for entity, (rows, owned) in held.items():
        yield Prepared(entity, rows, owned)
