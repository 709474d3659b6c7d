"""Staging: a batch of canonical records held in TEMP tables until it is checked and merged.

Nothing reaches the store's own tables until the whole batch has been staged and checked, so a bad file
or a crash part-way leaves the store as it was.  Staging lives on the store's connection (SQLite TEMP
tables), which keeps memory flat however large the batch: a million invoices are never in Python at once.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from connector.errors import Problem
from connector.money import from_minor
from connector.records import ENTITIES, Record
from connector.sync import rows
from connector.sync.schema import ALLOCATION_COLUMNS, COLUMNS

_FLUSH_EVERY = 5_000
_ORIGIN = re.compile(r"^(?P<file>.*):(?P<line>[0-9]+)$")


class RestageForLines(Exception):
    """A load straight into the store (`into_store`) found a problem it cannot place in a file and line:
    the caller rolls it back and stages the ledger again the usual way, which reports it with its line."""


class Staging:
    """TEMP tables `stg_<entity>` and `stg_allocations`, filled by `add` and read by the store.

    `into_store` stages a first load straight into the store's own (empty) tables instead, inside the
    caller's transaction: a million invoices are then written once, not staged and copied (about 5 s of
    a 25 s load).  Rows keep no origin there, so the checks can only tell that something is wrong; they
    raise `RestageForLines`, and a duplicate id, refused by the tables' keys, does the same.
    """

    def __init__(self, conn: sqlite3.Connection, *, into_store: bool = False) -> None:
        self.conn = conn
        self.into_store = into_store
        self.count: dict[str, int] = dict.fromkeys(ENTITIES, 0)
        self._pending: dict[str, list[rows.Row]] = {name: [] for name in (*ENTITIES, "allocations")}
        self._fixed: dict[str, tuple[tuple[str, Any], ...]] = dict.fromkeys(self._pending, ())  # (of pending rows)
        conn.execute("DROP TABLE IF EXISTS temp.stg_applied")
        self.table = {name: f"main.{name}" if into_store else f"temp.stg_{name}" for name in self._pending}
        self._insert: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}
        if into_store:
            return
        for entity in ENTITIES:
            conn.execute(f"DROP TABLE IF EXISTS temp.stg_{entity}")
            conn.execute(f"CREATE TEMP TABLE stg_{entity} ({', '.join(COLUMNS[entity])}, origin)")
        conn.execute("DROP TABLE IF EXISTS temp.stg_allocations")
        conn.execute(f"CREATE TEMP TABLE stg_allocations ({', '.join(ALLOCATION_COLUMNS)}, origin)")

    def _origin(self, alias: str) -> str:
        return "NULL" if self.into_store else f"{alias}.origin"

    def _insert_sql(self, name: str, fixed: tuple[tuple[str, Any], ...]) -> str:
        """The INSERT for rows of `name` that leave out the `fixed` columns (written as literals instead)."""
        left_out = dict(fixed)
        columns = [c for c in COLUMNS.get(name, ALLOCATION_COLUMNS) if c not in left_out]
        values = [f"?{n}" for n in range(1, len(columns) + 1)]
        if self.into_store:  # (rows without their origin)
            if name == "invoices":  # what it owes before any allocation; the store subtracts those once all are in
                values.append(f"CASE WHEN ?{columns.index('status') + 1} = 'void' THEN 0 "
                              f"ELSE ?{columns.index('total') + 1} END")
                columns.append("balance")
        else:
            columns.append("origin")
            values.append(f"?{len(values) + 1}")
        columns += left_out
        values += map(_literal, left_out.values())
        return f"INSERT INTO {self.table[name]} ({', '.join(columns)}) VALUES ({', '.join(values)})"

    def add(self, record: Record | rows.Prepared) -> int:
        """Stage one record (with its allocations, for payments and credit notes), or prepared rows.

        Returns how many records that was, for progress.
        """
        if isinstance(record, rows.Prepared):
            self._queue_many(record.entity, record.records, record.allocations, record.fixed)
            return len(record.records)
        entity, row, allocations = rows.prepare(record)
        self._queue(entity, row, allocations)
        return 1

    def add_all(self, records: Iterable[Record | rows.Prepared]) -> None:
        for record in records:
            self.add(record)

    def _queue(self, entity: str, row: rows.Row, allocations: Sequence[rows.Row] = ()) -> None:
        if self._fixed[entity]:  # (as in `_queue_many`)
            self.flush()
            self._fixed[entity] = ()
        self.count[entity] += 1
        self._pending[entity].append(row)
        if allocations:
            self._pending["allocations"].extend(allocations)
        if len(self._pending[entity]) >= _FLUSH_EVERY:
            self.flush()

    def _queue_many(self, entity: str, records: list[rows.Row], allocations: list[rows.Row],
                    fixed: tuple[tuple[str, Any], ...] = ()) -> None:
        if fixed != self._fixed[entity]:  # rows of another shape: those pending go first, keeping their order
            self.flush()
            self._fixed[entity] = fixed
        self.count[entity] += len(records)
        self._pending[entity].extend(records)
        self._pending["allocations"].extend(allocations)
        if len(self._pending[entity]) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write queued rows into the TEMP tables, in one transaction on the temp database only (or,
        `into_store`, into the store's tables, inside the caller's transaction).

        The BEGIN is explicit: the store's connection is in autocommit mode, where each row would otherwise
        be a transaction of its own.  Once the temp database holds pages (from the second batch of a run
        on), each of those commits wrote to its file and journal, and staging ran five times slower.
        """
        if self.into_store:  # (inside the caller's transaction; rows without their origin)
            try:
                for name, pending in self._pending.items():
                    if pending:
                        self.conn.executemany(self._statement(name), [row[:-1] for row in pending])
                        pending.clear()
            except sqlite3.IntegrityError as exc:  # a duplicate id
                raise RestageForLines(str(exc)) from exc
            return
        self.conn.execute("BEGIN")
        try:
            for name, pending in self._pending.items():
                if pending:
                    self.conn.executemany(self._statement(name), pending)
                    pending.clear()
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _statement(self, name: str) -> str:
        key = (name, self._fixed[name])
        if key not in self._insert:
            self._insert[key] = self._insert_sql(*key)
        return self._insert[key]

    def seal(self) -> None:
        """Flush and index the staged rows, ready for checks and the merge."""
        self.flush()
        if self.into_store:
            return
        for entity in ENTITIES:
            self.conn.execute(f"CREATE INDEX temp.stg_{entity}_id ON stg_{entity} (id)")
        self.conn.execute("CREATE INDEX temp.stg_allocations_source ON stg_allocations "
                          "(source, source_id, invoice_id)")
        self.conn.execute("CREATE INDEX temp.stg_allocations_invoice ON stg_allocations (invoice_id)")

    def applied(self) -> str:
        """`temp.stg_applied`: what the staged allocations apply to each invoice, in all, and on which first
        and last day.  Built on first use, once, for the over-allocation check and for a snapshot's balances."""
        built = self.conn.execute("SELECT 1 FROM sqlite_temp_master WHERE name = 'stg_applied'").fetchone()
        if not built:  # (asked of SQLite: a rolled-back merge takes the table with it)
            self.conn.execute("CREATE TEMP TABLE stg_applied "
                              "(invoice_id TEXT PRIMARY KEY, applied INTEGER, first_date TEXT, last_date TEXT) "
                              "WITHOUT ROWID")
            self.conn.execute("INSERT INTO temp.stg_applied SELECT invoice_id, SUM(amount), MIN(date), MAX(date) "
                              f"FROM {self.table['allocations']} GROUP BY invoice_id")
        return "temp.stg_applied"

    def drop(self) -> None:
        for name in ("applied",) if self.into_store else (*ENTITIES, "allocations", "applied"):
            self.conn.execute(f"DROP TABLE IF EXISTS temp.stg_{name}")

    def problems(self, limit: int = 100) -> list[Problem]:
        """Check a complete snapshot of a ledger: ids unique, every reference resolves, currencies agree.

        Only for snapshots (csv ledgers): an incremental batch refers to records staged in earlier runs.
        """
        found: list[Problem] = []
        checks = (self._unknown_customers, self._allocation_checks, self._over_allocated)
        for check in checks if self.into_store else (self._duplicates, *checks):  # (keys refuse duplicates there)
            found += check(limit - len(found))
            if len(found) >= limit:
                break
        if found and self.into_store:
            raise RestageForLines(found[0].reason)
        return found

    def _duplicates(self, limit: int) -> list[Problem]:
        found = []
        for entity in ENTITIES:
            sql = f"""
                SELECT origin, id, first FROM (
                    SELECT origin, id, rowid AS r,
                           FIRST_VALUE(origin) OVER (PARTITION BY id ORDER BY rowid) AS first,
                           ROW_NUMBER() OVER (PARTITION BY id ORDER BY rowid) AS n
                    FROM stg_{entity}
                    WHERE id IN (SELECT id FROM stg_{entity} GROUP BY id HAVING COUNT(*) > 1))
                WHERE n > 1 ORDER BY r LIMIT ?"""
            for origin, key, first in self.conn.execute(sql, (limit,)):
                hint = "; rows of one payment or credit note must be adjacent" if entity in (
                    "payments", "credit_notes") else ""
                found.append(_problem(origin, "id", f"duplicate id '{key}' (first at {_where(first)}){hint}"))
        # The repeated keys come from the (source, source_id, invoice_id) index alone; only theirs are looked up.
        found += [_problem(origin, "invoice_id", f"allocates to invoice '{invoice}' more than once")
                  for origin, invoice in self.conn.execute("""
                      SELECT (SELECT MAX(a.origin) FROM stg_allocations a WHERE a.source = d.source
                              AND a.source_id = d.source_id AND a.invoice_id = d.invoice_id), d.invoice_id
                      FROM (SELECT source, source_id, invoice_id FROM stg_allocations
                            GROUP BY source, source_id, invoice_id HAVING COUNT(*) > 1 LIMIT ?) d""", (limit,))]
        return found[:limit]

    def _unknown_customers(self, limit: int) -> list[Problem]:
        found = []
        table = self.table
        for entity in ("invoices", "payments", "credit_notes"):
            sql = f"""SELECT {self._origin('s')}, s.customer_id FROM {table[entity]} s
                      WHERE NOT EXISTS (SELECT 1 FROM {table['customers']} c WHERE c.id = s.customer_id)
                      ORDER BY s.rowid LIMIT ?"""
            found += [_problem(origin, "customer_id", f"unknown customer '{customer}'")
                      for origin, customer in self.conn.execute(sql, (limit,))]
        sql = f"""SELECT {self._origin('i')}, i.currency, c.currency, c.id FROM {table['invoices']} i
                  JOIN {table['customers']} c ON c.id = i.customer_id
                  WHERE c.currency IS NOT NULL AND c.currency <> i.currency ORDER BY i.rowid LIMIT ?"""
        found += [_problem(origin, "currency", f"invoice in {cur} for customer '{cid}', whose currency is {own}")
                  for origin, cur, own, cid in self.conn.execute(sql, (limit,))]
        return found[:limit]

    def _allocation_checks(self, limit: int) -> list[Problem]:
        found = []
        for source in ("payments", "credit_notes"):
            what = source[:-1].replace("_", " ")
            sql = f"""
                SELECT {self._origin('a')}, a.invoice_id, i.id IS NULL, p.currency, i.currency, p.customer_id,
                       i.customer_id, i.status = 'void'
                FROM {self.table['allocations']} a
                JOIN {self.table[source]} p ON p.id = a.source_id
                LEFT JOIN {self.table['invoices']} i ON i.id = a.invoice_id
                WHERE a.source = '{source}'
                  AND (i.id IS NULL OR i.currency <> p.currency OR i.customer_id <> p.customer_id OR i.status = 'void')
                {'' if self.into_store else 'ORDER BY a.rowid'} LIMIT ?"""  # (the store's table has no rowid)
            for origin, invoice, missing, own, theirs, payer, billed, void in self.conn.execute(sql, (limit,)):
                if missing:
                    reason = f"unknown invoice '{invoice}'"
                elif void:
                    # (a void invoice owes nothing: money applied to it would vanish from every report;
                    # Xero, likewise, voids only an invoice without payments)
                    reason = (f"invoice '{invoice}' is void: nothing can be applied to it (a {what} kept as credit "
                              "on account has no invoice_id)")
                elif own != theirs:
                    reason = f"{what} in {own} allocated to invoice '{invoice}' in {theirs}"
                else:
                    reason = f"invoice '{invoice}' belongs to customer '{billed}', not '{payer}'"
                found.append(_problem(origin, "invoice_id", reason))
        return found[:limit]

    def _over_allocated(self, limit: int) -> list[Problem]:
        sql = f"""SELECT {self._origin('i')}, i.id, i.currency, i.total, s.applied FROM {self.table['invoices']} i
                  JOIN {self.applied()} s ON s.invoice_id = i.id
                  WHERE s.applied > i.total ORDER BY i.rowid LIMIT ?"""
        return [_problem(origin, "total", f"payments and credits applied to invoice '{key}' come to "
                                          f"{from_minor(applied, cur)}, more than its total {from_minor(total, cur)}")
                for origin, key, cur, total, applied in self.conn.execute(sql, (limit,))]


def _literal(value: Any) -> str:
    """A fixed column's value as SQL."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {value!r}")


def _where(origin: str | None) -> str:
    match = _ORIGIN.match(origin or "")
    return f"line {match['line']}" if match else (origin or "?")


def _problem(origin: str | None, column: str, reason: str) -> Problem:
    match = _ORIGIN.match(origin or "")
    if match:
        return Problem(match["file"], int(match["line"]), column, reason)
    return Problem(origin or "(ledger)", None, column, reason)


