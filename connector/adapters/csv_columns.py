"""Column-wise reading of a csv ledger's plain chunks: whole columns checked at once, store rows built at once.

Checking a million rows one at a time through typed getters and a pydantic record costs about 20 µs a row,
which caps a csv load near 30,000 rows a second.  Most rows of a real export are plain: no stray spaces, ISO
dates, amounts with exactly two decimals, a handful of distinct currencies, statuses and rates.  For a chunk
of such rows every check can run over a whole column with C-level functions (`map`, `set`, `str` methods),
and the store rows can be built without a record in between.

The rule that keeps this safe: a function here either accepts the whole chunk, returning exactly the rows
the row-by-row reader in `connector.adapters.csv` would have built from the canonical records, or returns
None, and that reader reads the chunk again row by row, with its messages naming file, line and column.
Nothing here reports a problem, so nothing here can report one differently; the tests compare both paths.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import compress, repeat
from operator import itemgetter, methodcaller

from connector.money import MoneyError, exponent, parse_rate
from connector.sync.rows import Prepared, raw_text

_TWO_PLACES = re.compile(r"[0-9]+\.[0-9]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_drop_point = methodcaller("replace", ".", "")
Column = Sequence[str]


@dataclass(frozen=True)
class Layout:
    """Where a file's columns are: the modelled ones by name, and the others kept as the record's raw."""

    file: str
    width: int
    index: Mapping[str, int]
    extras: Sequence[tuple[str, int]]


@dataclass(frozen=True)
class Chunk:
    """Consecutive data rows of one file, with the line each row ends on (as the row-by-row reader counts)."""

    layout: Layout
    rows: list[list[str]]
    lines: Sequence[int]

    def origins(self) -> list[str]:
        file = self.layout.file
        return [f"{file}:{line}" for line in self.lines]


def _columns(chunk: Chunk, names: Sequence[str]) -> dict[str, Column] | None:
    """The named columns (those present), or None when a row is ragged or a value would need stripping."""
    layout = chunk.layout
    if set(map(len, chunk.rows)) != {layout.width}:
        return None
    everything = list(zip(*chunk.rows, strict=True))
    found: dict[str, Column] = {}
    for name in names:
        position = layout.index.get(name)
        if position is None:
            continue
        column = everything[position]
        if tuple(map(str.strip, column)) != column:
            return None
        found[name] = column
    return found


def _raws(chunk: Chunk) -> list[dict[str, str]] | list[None]:
    """Each row's unmodelled columns as a dict (None for every row when the file has none)."""
    return _extras(chunk) if chunk.layout.extras else [None] * len(chunk.rows)


def _extras(chunk: Chunk) -> list[dict[str, str]]:
    return [{name: values[at] for name, at in chunk.layout.extras} for values in chunk.rows]


def _dates(column: Column) -> Column | None:
    """The dates, when every one is a real date written YYYY-MM-DD (as `date.isoformat` writes it)."""
    if set(map(len, column)) != {10} or "W" in "".join(column):  # ten characters with no W: YYYY-MM-DD
        return None
    try:
        deque(map(dt.date.fromisoformat, column), maxlen=0)
    except ValueError:
        return None
    return column


def _currencies(column: Column | None, customers: Column, default: Callable[[str], str]) -> list[str] | None:
    """Each row's currency: its own when given (checked once per distinct code), else its customer's."""
    if column is None:
        return list(map(default, customers))
    if any(code and not _CURRENCY.fullmatch(code) for code in set(column)):
        return None
    return [code or default(customer) for code, customer in zip(column, customers, strict=True)]


def _minor_units(column: Column, currencies: Sequence[str], *, positive: bool) -> list[int] | None:
    """Integer minor units, when every amount has exactly two decimals in a currency that has two."""
    if any(exponent(code) != 2 for code in set(currencies)):
        return None
    if not all(map(_TWO_PLACES.fullmatch, column)):
        return None
    units = list(map(int, map(_drop_point, column)))
    if positive and 0 in units:
        return None
    return units


def _rates(column: Column | None, currencies: Sequence[str], home: str, *, required: bool) -> list[str | None] | None:
    """Each row's exchange rate as the store keeps it (None for none), checked once per distinct pair."""
    pairs = set(zip(column, currencies, strict=True)) if column is not None else {("", c) for c in set(currencies)}
    table: dict[tuple[str, str], str | None] = {}
    for text, code in pairs:
        if not text:
            if required and code != home:
                return None
            table[text, code] = None
            continue
        try:
            rate = parse_rate(text)
        except MoneyError:
            return None
        if code == home and rate != 1:
            return None
        table[text, code] = str(rate)
    if column is None:
        return [table["", code] for code in currencies]
    return [table[pair] for pair in zip(column, currencies, strict=True)]


def _optional(column: Column | None, size: int) -> list[str | None]:
    """An optional text column: the value, or None when empty or absent."""
    if column is None:
        return [None] * size
    return [value or None for value in column]


def customers(chunk: Chunk, home: str, known_zone: Callable[[str], bool]) -> Prepared | None:
    """Store rows for a chunk of customers.csv, or None when any row needs reading on its own."""
    found = _columns(chunk, ("id", "name", "email", "currency", "timezone", "country", "credit_limit"))
    if found is None or "" in found["id"] or "" in found["name"]:
        return None
    size = len(chunk.rows)
    emails, zones = _optional(found.get("email"), size), _optional(found.get("timezone"), size)
    currencies = _optional(found.get("currency"), size)
    if any("@" not in email for email in set(emails) if email is not None) \
            or not all(known_zone(zone) for zone in set(zones) if zone is not None) \
            or any(not _CURRENCY.fullmatch(code) for code in set(currencies) if code is not None):
        return None
    limits = _credit_limits(_optional(found.get("credit_limit"), size), home)
    if limits is None:
        return None
    return _prepared("customers", chunk, [found["id"], found["name"], emails, currencies, zones,
                                          _optional(found.get("country"), size), limits],
                     (("active", 1), ("updated_at", None)))


def _prepared(entity: str, chunk: Chunk, columns: list[Sequence[object]],
              fixed: tuple[tuple[str, object], ...]) -> Prepared:
    """Rows of the given columns, then the raw (when the file has columns beyond the modelled ones; else it
    is one more fixed column) and the origin."""
    if chunk.layout.extras:
        columns = [*columns, list(map(raw_text, _raws(chunk)))]
    else:
        fixed = (*fixed, ("raw", None))
    return Prepared(entity, list(zip(*columns, chunk.origins(), strict=True)), [], fixed)


def _credit_limits(limits: list[str | None], home: str) -> list[str | None] | None:
    """Credit limits as the store keeps them (decimal text), when each is a plain amount in the home currency."""
    given = {text for text in limits if text is not None}
    if not given:
        return limits
    places = exponent(home)
    plain = re.compile(r"[0-9]+" + (rf"(\.[0-9]{{1,{places}}})?" if places else ""))
    if not all(map(plain.fullmatch, given)):
        return None
    table = {text: str(Decimal(text)) for text in given}
    return [None if text is None else table[text] for text in limits]


def invoices(chunk: Chunk, default_currency: Callable[[str], str], home: str) -> Prepared | None:
    """Store rows for a chunk of invoices.csv, or None when any row needs reading on its own."""
    found = _columns(chunk, ("id", "customer_id", "issue_date", "due_date", "total", "number", "currency",
                             "status", "exchange_rate"))
    if found is None or "" in found["id"] or "" in found["customer_id"]:
        return None
    issued, due = _dates(found["issue_date"]), _dates(found["due_date"])
    if issued is None or due is None or any(map(str.__lt__, due, issued)):
        return None
    currencies = _currencies(found.get("currency"), found["customer_id"], default_currency)
    if currencies is None:
        return None
    totals = _minor_units(found["total"], currencies, positive=False)
    rates = _rates(found.get("exchange_rate"), currencies, home, required=True)
    statuses = _statuses(found.get("status"), len(chunk.rows))
    if totals is None or rates is None or statuses is None:
        return None
    number = _optional(found.get("number"), len(chunk.rows))
    return _prepared("invoices", chunk, [found["id"], found["customer_id"], number, issued, due, currencies, totals,
                                         rates, statuses],
                     (("host_balance", None), ("updated_at", None)))


def _statuses(column: Column | None, size: int) -> list[str] | None:
    if column is None:
        return ["open"] * size
    table = {text: (text or "open").lower() for text in set(column)}
    if not set(table.values()) <= {"open", "void"}:
        return None
    return [table[text] for text in column]


def grouped(chunk: Chunk, entity: str, default_currency: Callable[[str], str], home: str) -> Prepared | None:
    """Store rows for a chunk of payments.csv or credit_notes.csv, or None to read it row by row.

    Adjacent rows sharing an id are one payment (or credit note), one row per allocation; the reader cuts
    chunks only where the id changes, so a chunk holds whole records.
    """
    found = _columns(chunk, ("id", "customer_id", "date", "amount", "invoice_id", "currency", "exchange_rate",
                             "reason"))
    if found is None or "" in found["id"] or "" in found["customer_id"]:
        return None
    dates = _dates(found["date"])
    currencies = _currencies(found.get("currency"), found["customer_id"], default_currency)
    if dates is None or currencies is None:
        return None
    amounts = _minor_units(found["amount"], currencies, positive=True)
    rates = _rates(found.get("exchange_rate"), currencies, home, required=False)
    if amounts is None or rates is None:
        return None
    size = len(chunk.rows)
    return _group_rows(entity, _Grouping(found["id"], found["customer_id"], dates, currencies, rates,
                                         _optional(found.get("reason"), size), _optional(found.get("invoice_id"), size),
                                         amounts, chunk.origins(), _extras(chunk) if chunk.layout.extras else None))


@dataclass(frozen=True)
class _Grouping:
    """A payments or credit notes chunk's checked columns: the fields every row of a record must share
    (id to reason), and each row's own allocation part (invoice id to raw; raws None without extra columns)."""

    ids: Column
    customers: Column
    dates: Column
    currencies: Sequence[str]
    rates: Sequence[str | None]
    reasons: Sequence[str | None]
    invoices: Sequence[str | None]
    amounts: Sequence[int]
    origins: Sequence[str]
    raws: Sequence[dict[str, str]] | None


def _group_rows(entity: str, g: _Grouping) -> Prepared | None:
    """Records from rows already checked one by one.  Most records are one row: their columns are taken at
    each record's first row, whole columns at a time, and only the records of several rows are summed one
    by one.  Without extra columns the raw is a fixed column."""
    size = len(g.ids)
    starts = [0, *compress(range(1, size), map(str.__ne__, g.ids[1:], g.ids[:-1]))]
    ends = [*starts[1:], size]
    several = [(n, start, end) for n, (start, end) in enumerate(zip(starts, ends, strict=True)) if end - start > 1]
    shared = (g.ids, g.customers, g.dates, g.currencies, g.rates, g.reasons)
    for _, start, end in several:
        first = tuple(column[start] for column in shared)
        if any(tuple(column[at] for column in shared) != first for at in range(start + 1, end)):
            return None  # a record whose rows disagree: the row-by-row reader says where
    firsts = itemgetter(*starts) if len(starts) > 1 else lambda column: (column[0],)
    amounts = list(firsts(g.amounts))
    unapplied = [amount if invoice is None else 0 for invoice, amount in zip(firsts(g.invoices), amounts, strict=True)]
    raws = None if g.raws is None else list(map(raw_text, firsts(g.raws)))
    for n, start, end in several:  # (n: the record's place)
        amounts[n] = sum(g.amounts[start:end])
        unapplied[n] = amounts[n] - sum(a for i, a in zip(g.invoices[start:end], g.amounts[start:end], strict=True)
                                        if i is not None)
        if raws is not None:
            raws[n] = raw_text(list(g.raws[start:end]))  # type: ignore[index]
    columns = [firsts(g.ids), firsts(g.customers), firsts(g.dates), firsts(g.currencies), amounts, unapplied,
               firsts(g.rates)]
    if entity == "credit_notes":
        columns.append(firsts(g.reasons))
    if raws is not None:
        columns.append(raws)
    records = list(zip(*columns, firsts(g.origins), strict=True))
    applied = list(map(_is_not_none, g.invoices))  # the rows that allocate, one allocation each
    allocations = list(zip(repeat(entity), compress(g.ids, applied), compress(g.invoices, applied),
                           compress(g.dates, applied), compress(g.amounts, applied), compress(g.origins, applied)))
    fixed: tuple[tuple[str, str | None], ...] = (("kind", "payment"), ("reference", None), ("credit_used", None),
                                                 ("refunds", None)) if entity == "payments" \
        else (("number", None), ("refunds", None))
    fixed += (("updated_at", None),) if raws is not None else (("updated_at", None), ("raw", None))
    return Prepared(entity, records, allocations, fixed)


def _is_not_none(value: object) -> bool:
    return value is not None
