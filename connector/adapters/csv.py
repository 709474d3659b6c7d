"""The csv host: a folder of CSV files standing in for a ledger (format in the README, "The csv host").

The folder is read whole each time and staged as one snapshot, so a sync applies exactly the differences
(new rows, changed rows, rows gone) in one transaction.  Every row is checked before anything is written;
problems are reported with file, line, column and reason, as many as are found, up to a limit.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate, islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.adapters import csv_columns
from connector.adapters.base import Batch
from connector.adapters.csv_columns import Chunk, Layout
from connector.adapters.csv_refunds import CsvRefunds
from connector.adapters.worker import iterate_in_worker
from connector.errors import InvalidLedgerData, Problem
from connector.money import MoneyError, check_currency, parse_amount, parse_rate
from connector.records import (
    Allocation,
    CreditNote,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
)
from connector.sync.rows import Prepared

FILES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # file: (required columns, optional columns)
    "customers.csv": (("id", "name"), ("email", "currency", "timezone", "country", "credit_limit")),
    "invoices.csv": (("id", "customer_id", "issue_date", "due_date", "total"),
                     ("number", "currency", "status", "exchange_rate")),
    "payments.csv": (("id", "customer_id", "date", "amount"), ("invoice_id", "currency", "exchange_rate")),
    "credit_notes.csv": (("id", "customer_id", "date", "amount"),
                         ("invoice_id", "reason", "currency", "exchange_rate")),
    "refunds.csv": (("date", "amount"), ("payment_id", "credit_note_id")),  # (read first: `csv_refunds`)
}
OPTIONAL_FILES = frozenset({"credit_notes.csv", "refunds.csv"})
GROUPED = frozenset({"payments.csv", "credit_notes.csv"})  # files where adjacent rows of one id are one record
CHUNK_ROWS = 5_000
# From this many lines the folder is read in a worker process while this one writes (`worker.py`); below
# it, starting a process (about a third of a second) would cost more than it saves.
WORKER_ROWS = 100_000
MAX_PROBLEMS = 100
CURSOR = "csv_files"


class _TooMany(Exception):
    pass


class _Row:
    """One CSV row being read: typed getters that note problems instead of raising."""

    __slots__ = ("extras", "file", "index", "line", "problems", "values")

    def __init__(self, file: str, line: int, values: list[str], index: Mapping[str, int],
                 extras: Sequence[tuple[str, int]], problems: list[Problem]) -> None:
        self.file, self.line, self.values, self.index = file, line, values, index
        self.extras, self.problems = extras, problems

    @property
    def origin(self) -> str:
        return f"{self.file}:{self.line}"

    def raw(self) -> dict[str, str] | None:
        """The columns the canonical record does not model, kept beside it (None if there are none).

        The modelled columns are the record itself; keeping them twice would only double the store.
        """
        if not self.extras:
            return None
        return {column: self.values[position] for column, position in self.extras}

    def ok_since(self, problems_before: int) -> bool:
        return len(self.problems) == problems_before

    def fail(self, column: str | None, reason: str) -> None:
        self.problems.append(Problem(self.file, self.line, column, reason))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooMany

    def text(self, column: str) -> str | None:
        """The stripped value, or None when the column is absent or empty."""
        position = self.index.get(column)
        if position is None:
            return None
        return self.values[position].strip() or None

    def required(self, column: str) -> str:
        value = self.values[self.index[column]].strip()
        if not value:
            self.fail(column, "required value is empty")
        return value

    def date(self, column: str) -> dt.date | None:
        value = self.required(column)
        if not value:
            return None
        try:
            if len(value) != 10:
                raise ValueError
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(column, f"'{value}' is not a date as YYYY-MM-DD" if not _date_shaped(value)
                      else f"'{value}' is an impossible date")
            return None

    def amount(self, column: str, currency: str, *, positive: bool) -> Decimal | None:
        value = self.required(column)
        if not value:
            return None
        try:
            amount = parse_amount(value, currency)
        except MoneyError as exc:
            self.fail(column, str(exc))
            return None
        if amount < 0 or (positive and amount == 0):
            self.fail(column, f"'{value}' must be {'more than zero' if positive else 'zero or more'}")
            return None
        return amount

    def currency(self, default: str) -> str | None:
        value = self.text("currency")
        if value is None:
            return default
        try:
            return check_currency(value)
        except MoneyError as exc:
            self.fail("currency", str(exc))
            return None

    def rate(self, currency: str, home: str, *, required: bool) -> Decimal | None | bool:
        """The exchange rate, None when none is given, or False after a problem.

        Invoices in a foreign currency must carry one (aging converts at each invoice's rate); payments
        and credit notes may leave it out, and are then converted at the rate of what they pay.
        """
        value = self.text("exchange_rate")
        if value is None:
            if currency != home and required:
                self.fail("exchange_rate", f"required for amounts in {currency} (home currency {home}, "
                                            "from the client's config: is that right?)")
                return False
            return None
        try:
            rate = parse_rate(value)
        except MoneyError as exc:
            self.fail("exchange_rate", str(exc))
            return False
        if currency == home and rate != 1:
            self.fail("exchange_rate", f"must be 1 (or empty) for amounts in the home currency {home}")
            return False
        return rate


def _line_breaks(values: list[str]) -> int:
    """Line breaks inside a row's quoted values, counted as the csv reader counts lines (CRLF is one)."""
    return sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in values)


def _whole_records(chunks: Iterator[Chunk], id_at: int) -> Iterator[Chunk]:
    """Re-cut chunks so that rows sharing an id (one payment or credit note) are never split between two."""
    def key(values: list[str]) -> str | None:
        return values[id_at].strip() if len(values) > id_at else None

    held: Chunk | None = None
    for chunk in chunks:
        if held is not None:
            chunk = Chunk(chunk.layout, held.rows + chunk.rows, [*held.lines, *chunk.lines])
        rows, last = chunk.rows, key(chunk.rows[-1])
        cut = len(rows)
        while cut > 0 and key(rows[cut - 1]) == last:
            cut -= 1
        if cut == 0:
            held = chunk
            continue
        yield Chunk(chunk.layout, rows[:cut], chunk.lines[:cut])
        held = Chunk(chunk.layout, rows[cut:], chunk.lines[cut:])
    if held is not None:
        yield held


def _date_shaped(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-" and (value[:4] + value[5:7] + value[8:]).isdigit()


@lru_cache(maxsize=512)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


class CsvLedger:
    """A csv folder as a ledger adapter."""

    host = "csv"
    api_calls = 0

    def __init__(self, folder: Path, home_currency: str, *, columnwise: bool = True) -> None:
        """`columnwise=False` reads every row on its own (the reference the column-wise path must match)."""
        self.folder = folder
        self.home = home_currency
        self.columnwise = columnwise
        self.problems: list[Problem] = []
        self._customer_currency: dict[str, str | None] = {}
        self._refunds = CsvRefunds()

    def fingerprint(self) -> tuple[str, int]:
        """A digest of every file's bytes, and the number of data rows, for the cursor and progress."""
        digest, lines = hashlib.sha256(), 0
        for name in FILES:
            path = self.folder / name
            digest.update(name.encode())
            if path.exists():
                with path.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
                        lines += chunk.count(b"\n")
        return digest.hexdigest(), lines

    def pull(self, cursors: Mapping[str, str], *, full: bool = False) -> Iterator[Batch]:
        """One batch: the whole folder as a snapshot, or nothing when no file changed since last time."""
        if not self.folder.is_dir():
            raise InvalidLedgerData([Problem(str(self.folder), None, None, "folder not found")])
        fingerprint, lines = self.fingerprint()
        if not full and cursors.get(CURSOR) == fingerprint:
            yield Batch(records=(), expected=0)
            return
        records = self.read() if lines < WORKER_ROWS else iterate_in_worker(
            "connector.adapters.csv:read_folder", self.folder, self.home, self.columnwise)
        yield Batch(records=records, cursors={CURSOR: fingerprint}, strict=True, expected=lines,
                    snapshot=frozenset({"customers", "invoices", "payments", "credit_notes"}))

    def read(self) -> Iterator[Customer | Invoice | Payment | CreditNote | Prepared]:
        """Every record in the folder; raises `InvalidLedgerData` at the end if any row was bad.

        Plain chunks come as prepared store rows (`csv_columns`), the rest as canonical records.
        """
        self.problems, self._refunds = [], CsvRefunds()
        try:
            for chunk in self._chunks("refunds.csv"):
                for row in self._rows(chunk):
                    self._refunds.add(row)
            yield from self._customers()
            yield from self._invoices()
            yield from self._grouped("payments.csv")
            yield from self._grouped("credit_notes.csv")
            for row, column, reason in self._refunds.unclaimed():
                row.fail(column, reason)
        except _TooMany:
            raise InvalidLedgerData(self.problems, truncated=True) from None
        if self.problems:
            raise InvalidLedgerData(self.problems)

    def _rows(self, chunk: Chunk) -> Iterator[_Row]:
        """A chunk row by row, blank rows skipped and ragged ones reported."""
        layout = chunk.layout
        for values, line in zip(chunk.rows, chunk.lines, strict=True):
            if not values or values == [""]:
                continue
            row = _Row(layout.file, line, values, layout.index, layout.extras, self.problems)
            if len(values) != layout.width:
                row.fail(None, f"{len(values)} fields where the header has {layout.width}")
                continue
            yield row

    def _chunks(self, name: str) -> Iterator[Chunk]:
        """The file's data rows in chunks, after checking its header; for payments and credit notes each
        chunk ends where the id changes, so that no record is split between two chunks."""
        path = self.folder / name
        if not path.exists():
            if name not in OPTIONAL_FILES:
                self._fail(name, None, None, "file not found")
            return
        required, optional = FILES[name]
        reader: Any = None
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle)
                header = [h.strip() for h in next(reader, [])]
                missing = [c for c in required if c not in header]
                if missing:
                    self._fail(name, 1, ", ".join(missing), "required column missing from the header row")
                    return
                repeated = sorted({h for h in header if header.count(h) > 1})
                if repeated:
                    self._fail(name, 1, ", ".join(repeated), "column appears more than once in the header")
                    return
                index = {column: header.index(column) for column in (*required, *optional) if column in header}
                layout = Layout(name, len(header), index,
                                [(column, at) for at, column in enumerate(header) if column not in index])
                blocks = self._blocks(reader, layout)
                yield from _whole_records(blocks, index["id"]) if name in GROUPED else blocks
        except UnicodeDecodeError:
            self._fail(name, None, None, f"not UTF-8 text (after line {reader.line_num if reader else 0}); "
                                         "save the file as UTF-8")
        except csv.Error as exc:
            self._fail(name, None, None, f"not readable as CSV: {exc}")

    @staticmethod
    def _blocks(reader: Any, layout: Layout) -> Iterator[Chunk]:
        before = reader.line_num
        while rows := list(islice(reader, CHUNK_ROWS)):
            after = reader.line_num
            if after - before == len(rows):
                lines: Sequence[int] = range(before + 1, after + 1)
            else:  # a quoted value spans lines: count each row's line breaks to find the line it ends on
                lines = [before + end for end in accumulate(_line_breaks(values) + 1 for values in rows)]
            yield Chunk(layout, rows, lines)
            before = after

    def _fail(self, file: str, line: int | None, column: str | None, reason: str) -> None:
        self.problems.append(Problem(file, line, column, reason))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooMany

    def _customers(self) -> Iterator[Customer | Prepared]:
        self._customer_currency = {}
        for chunk in self._chunks("customers.csv"):
            prepared = csv_columns.customers(chunk, self.home, _known_zone) if self.columnwise else None
            if prepared is None:
                yield from self._customer_records(chunk)
                continue
            for row in prepared.records:
                self._customer_currency.setdefault(row[0], row[3])
            yield prepared

    def _customer_records(self, chunk: Chunk) -> Iterator[Customer]:
        for row in self._rows(chunk):
            before = len(self.problems)
            key, name = row.required("id"), row.required("name")
            email, zone = row.text("email"), row.text("timezone")
            currency = row.currency(default="") or None
            if email is not None and "@" not in email:
                row.fail("email", f"'{email}' is not an e-mail address")
            if zone is not None and not _known_zone(zone):
                row.fail("timezone", f"'{zone}' is not an IANA time zone (like Europe/London)")
            limit = row.amount("credit_limit", self.home, positive=False) if row.text("credit_limit") else None
            if row.ok_since(before):
                self._customer_currency.setdefault(key, currency)
                yield Customer(id=key, name=name, email=email, currency=currency, timezone=zone,
                               country=row.text("country"), credit_limit=limit, raw=row.raw(), origin=row.origin)

    def _default_currency(self, customer_id: str) -> str:
        return self._customer_currency.get(customer_id) or self.home

    def _invoices(self) -> Iterator[Invoice | Prepared]:
        for chunk in self._chunks("invoices.csv"):
            prepared = csv_columns.invoices(chunk, self._default_currency, self.home) if self.columnwise else None
            if prepared is not None:
                yield prepared
            else:
                yield from self._invoice_records(chunk)

    def _invoice_records(self, chunk: Chunk) -> Iterator[Invoice]:
        for row in self._rows(chunk):
            before = len(self.problems)
            key, customer_id = row.required("id"), row.required("customer_id")
            issued, due = row.date("issue_date"), row.date("due_date")
            currency = row.currency(default=self._default_currency(customer_id))
            total = row.amount("total", currency, positive=False) if currency else None
            rate = row.rate(currency, self.home, required=True) if currency else False
            status = (row.text("status") or "open").lower()
            if status not in ("open", "void"):
                row.fail("status", f"'{row.text('status')}' is not a status (open or void)")
            if issued and due and due < issued:
                row.fail("due_date", f"due date {due} is before the issue date {issued}")
            if row.ok_since(before):  # (so every field is there: validated here, and by the model)
                yield Invoice.model_validate(dict(
                    id=key, customer_id=customer_id, number=row.text("number"), issue_date=issued, due_date=due,
                    currency=currency, total=total, exchange_rate=rate or None, status=InvoiceStatus(status),
                    raw=row.raw(), origin=row.origin))

    def _grouped(self, name: str) -> Iterator[Payment | CreditNote | Prepared]:
        """Payments (or credit notes): adjacent rows sharing an id are one record, one row per allocation."""
        entity = name.removesuffix(".csv")
        refunded = self._refunds.refunded(entity)
        for chunk in self._chunks(name):
            # (a record with refunds is read row by row: the column-wise rows have none)
            plain = self.columnwise and not (refunded and _names_any(chunk, refunded))
            prepared = csv_columns.grouped(chunk, entity, self._default_currency, self.home) if plain else None
            if prepared is not None:
                yield prepared
            else:
                yield from self._grouped_records(name, chunk)

    def _grouped_records(self, name: str, chunk: Chunk) -> Iterator[Payment | CreditNote]:
        group: list[tuple[_Row, dict[str, Any]]] = []
        for row in self._rows(chunk):
            before = len(self.problems)
            fields = self._money_row(row)
            if not row.ok_since(before):
                self._refunds.forget(name.removesuffix(".csv"), fields["id"])
                continue
            if group and fields["id"] != group[0][1]["id"]:
                yield from self._record(name, group)
                group = []
            group.append((row, fields))
        if group:
            yield from self._record(name, group)

    def _money_row(self, row: _Row) -> dict[str, Any]:
        customer_id = row.required("customer_id")
        currency = row.currency(default=self._default_currency(customer_id))
        return {
            "id": row.required("id"), "customer_id": customer_id, "date": row.date("date"),
            "currency": currency,
            "amount": row.amount("amount", currency, positive=True) if currency else None,
            "exchange_rate": row.rate(currency, self.home, required=False) if currency else False,
            "invoice_id": row.text("invoice_id"), "reason": row.text("reason"),
        }

    def _record(self, name: str, group: list[tuple[_Row, dict[str, Any]]]) -> Iterator[Payment | CreditNote]:
        first_row, head = group[0]
        entity, before = name.removesuffix(".csv"), len(self.problems)
        for row, fields in group[1:]:
            for column in ("customer_id", "date", "currency", "exchange_rate", "reason"):
                if fields[column] != head[column]:
                    row.fail(column, f"'{fields[column]}' differs from line {first_row.line}, which starts "
                                     f"the same id '{head['id']}' ('{head[column]}')")
        if len(self.problems) > before:
            self._refunds.forget(entity, head["id"])
            return
        allocations = tuple(Allocation(invoice_id=f["invoice_id"], amount=f["amount"], origin=r.origin)
                            for r, f in group if f["invoice_id"])
        amount = sum((f["amount"] for _, f in group), Decimal(0))
        refunds = self._refunds.claim(entity, head,
                                      amount - sum((a.amount for a in allocations), Decimal(0)))
        if refunds is None:
            return
        common = dict(id=head["id"], customer_id=head["customer_id"], date=head["date"], currency=head["currency"],
                      amount=amount, exchange_rate=head["exchange_rate"] or None, allocations=allocations,
                      refunds=refunds, raw=_group_raw([r.raw() for r, _ in group]), origin=first_row.origin)
        if name == "payments.csv":
            yield Payment.model_validate(common)
        else:
            yield CreditNote.model_validate({**common, "reason": head["reason"]})


def read_folder(folder: Path, home: str,
                columnwise: bool) -> Iterator[Customer | Invoice | Payment | CreditNote | Prepared]:
    """What `CsvLedger.read` yields, as a function a worker process can be named (`worker.py`)."""
    return CsvLedger(folder, home, columnwise=columnwise).read()


def _names_any(chunk: Chunk, ids: frozenset[str]) -> bool:
    at = chunk.layout.index["id"]
    return any(len(values) > at and values[at].strip() in ids for values in chunk.rows)


def _group_raw(raws: list[dict[str, str] | None]) -> object:
    """Unmodelled columns of a multi-row record: one dict, a list of them, or None when there are none."""
    if all(raw is None for raw in raws):
        return None
    return raws[0] if len(raws) == 1 else raws
