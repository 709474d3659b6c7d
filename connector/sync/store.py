"""The sync store: one SQLite file per client, and the one module that writes it.

Every write goes through `Store.transaction()`.  A batch's merge and the cursors that cover it commit
together (invariant 2), so a crash at any point leaves either the old state or the new one; the run's own
record is finished just after, and a run a crash left `running` is marked `interrupted` by the next one.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from connector.errors import StoreError
from connector.money import from_minor, to_home
from connector.records import ENTITIES, UnappliedCredit
from connector.sync.schema import ALLOCATION_COLUMNS, COLUMNS, MIGRATIONS
from connector.sync.staging import Staging

T = TypeVar("T")
_SOURCES = ("payments", "credit_notes")
# An invoice's balance, and the day it was paid in full (schema version 5), from what the staged
# allocations apply to it (`Staging.applied`, joined as `ap`): right only when every allocation was staged.
# `{s}` is the invoice row's qualifier.
_STAGED_BALANCE = "CASE WHEN {s}status = 'void' THEN 0 ELSE {s}total - COALESCE(ap.applied, 0) END"
# An invoice paid in full by credit the customer held before it was issued (a prepayment a ledger applied
# to it, with the prepayment's own date) was paid on its issue date, not before it existed (version 17).
_STAGED_PAID_ON = ("CASE WHEN {s}status = 'void' OR {s}total <= 0 THEN NULL "
                   "WHEN ap.applied >= {s}total THEN max(ap.last_date, {s}issue_date) END")
# The first day credit was applied to it when that is before it was issued (a prepayment; else NULL): the
# credit was still the customer's until the invoice existed (`connector.engine.inputs.credit_items`).
_STAGED_APPLIED_EARLY = "CASE WHEN ap.first_date < {s}issue_date THEN ap.first_date END"
# Days from its due date to that day (negative: paid early), kept with it (schema version 12).
_PAID_DAYS_LATE = "CAST(julianday({paid_on}) - julianday({s}due_date) AS INTEGER)"
_STAGED_PAID_DAYS_LATE = _PAID_DAYS_LATE.replace("{paid_on}", _STAGED_PAID_ON)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class EntityCounts:
    """What a merge did to one entity's records."""

    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


@dataclass
class MergeResult:
    counts: dict[str, EntityCounts] = field(default_factory=dict)

    def total(self, what: str) -> int:
        return sum(getattr(c, what) for c in self.counts.values())


# How long a connection waits for another one's lock.  A sync's merge holds the write lock for seconds; a
# client's first load holds the whole store (rollback journal) until it ends, and a wait that runs out
# then is reported as `StoreBusy` (`is_busy`).
BUSY_TIMEOUT_MS = 30_000


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """True for SQLite's "database is locked" (another connection's lock outlasted our wait)."""
    return "locked" in str(exc) or "busy" in str(exc)


class Store:
    """A client's store: open it, stage a batch, merge it, read it."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (creating and migrating if need be) the store; `read_only` opens an existing one to read."""
        self.path = path
        if read_only:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._set_aside: list[str] = []  # index definitions a load straight into the store rebuilds
        self._packs_rows = False  # see `rows`
        self._one_snapshot = False  # see `consistent`
        for pragma in ("cache_size = -65536", "temp.cache_size = -131072", "temp_store = FILE"):
            conn.execute(f"PRAGMA {pragma}")
        if read_only:
            return
        # A new store gets 8 KB pages: rows carry the host's JSON (1–1.5 KB), and bigger pages made a large
        # merge about 10 % faster.  An existing store keeps its page size (this is a no-op there).
        conn.execute("PRAGMA page_size = 8192")
        try:
            self.db.enable_wal()
        except sqlite3.OperationalError:  # a first load holds it in rollback-journal mode: it switches back itself
            pass
        conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def alongside(self, read: Callable[[Store], T]) -> Future[T]:
        """Run `read` in a thread, on a read-only connection of its own, while this connection reads on.

        SQLite lets go of Python's lock while it works, so on a second core a report's heavy query costs
        it only the rows it returns.  Each connection reads the store as it finds it: `consistent` makes
        sure that is one state of the store.  Inside its fallback, `read` runs here, on this connection.
        """
        future: Future[T] = Future()
        if self._one_snapshot:
            future.set_result(read(self))
            return future

        def run() -> None:
            try:
                with Store(self.path, read_only=True) as other:
                    other._packs_rows = True
                    future.set_result(read(other))
            except BaseException as exc:  # handed to whoever collects the result
                future.set_exception(exc)

        threading.Thread(target=run, name="store-reader", daemon=True).start()
        return future

    def consistent(self, read: Callable[[], T]) -> T:
        """`read()`, as of one state of the store.

        A report reads with many statements, some on a second connection (`alongside`), each seeing the
        store as it is when it runs; a sync committing in between would give the report figures from both
        sides of its commit.  So if another connection committed while `read` ran (SQLite's
        `data_version` moved), it runs again, this time on this connection alone and inside one read
        transaction, which sees a single snapshot however many commits follow.
        """
        before = self._data_version()
        result = read()
        if self._data_version() == before:
            return result
        self._one_snapshot = True
        self.conn.execute("BEGIN")  # (deferred: the snapshot is taken by the first read)
        try:
            return read()
        finally:
            self.conn.execute("COMMIT")
            self._one_snapshot = False

    def _data_version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def rows(self, sql: str, args: Mapping[str, object] | Sequence[object] = ()) -> Iterable[Sequence[Any]]:
        """The rows of a query, for the engine's reads.

        On a connection reading `alongside` another, SQLite packs the rows into one JSON text, which is
        decoded here: fetched one by one, each row would make this thread wait for Python's lock while the
        other thread holds it, and the two would take turns (measured: two threads fetching 50,000 rows each
        took 2.1 s, against 0.73 s alone).  Values come back as SQLite gives them: integers, text, NULL.
        """
        if not self._packs_rows:
            return self.conn.execute(sql, args)
        width = len(self.conn.execute(f"SELECT * FROM ({sql}) LIMIT 0", args).description)
        columns = ", ".join(f"c{k}" for k in range(width))
        packed = self.conn.execute(
            f"WITH q({columns}) AS ({sql}) SELECT json_group_array(json_array({columns})) FROM q", args).fetchone()[0]
        return json.loads(packed)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception: the only way to write."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def rollback_journal(self) -> Iterator[None]:
        """Write through a rollback journal instead of the WAL for a while: for a first load.

        In WAL mode every page of a load is written twice, to the WAL and then back into the database;
        a rollback journal writes it once and journals only the pages that held something before, which in
        an empty store are a handful (a first csv load of a million invoices: 21 → 18 s).  A crash still
        leaves the store as it was: the next connection rolls the journal back.  Leaving WAL mode needs
        the store to itself; when another connection has it open (a report, the console), nothing changes.
        While the load runs, other connections read the store as it was before it (reports say the first sync
        is still running), or wait for it while it holds the store whole, up to `BUSY_TIMEOUT_MS`.
        """
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            mode = self.conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlite3.OperationalError:  # another connection holds it
            mode = "wal"
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            yield
        finally:
            if mode != "wal":
                try:
                    self.db.enable_wal()
                except sqlite3.OperationalError:  # a reader still holds it: the store's next opening does it
                    pass

    # -- schema ---------------------------------------------------------------------------------

    def _migrate(self) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                          "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        applied = {row[0] for row in self.conn.execute("SELECT version FROM schema_migrations")}
        newest = max((m.version for m in MIGRATIONS), default=0)
        if applied and max(applied) > newest:
            raise StoreError(f"{self.path} was written by a newer connector (schema {max(applied)}, "
                             f"this one knows {newest}): upgrade connector")
        for migration in MIGRATIONS:
            if migration.version not in applied:
                with self.transaction() as conn:
                    migration.apply(conn)
                    conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                 (migration.version, migration.name, utc_now()))

    @property
    def schema_version(self) -> int:
        return self.conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0

    # -- sync runs and cursors -----------------------------------------------------------------

    def start_run(self, host: str, mode: str) -> int:
        """Record a run as started; runs left 'running' by a crashed process become 'interrupted'."""
        with self.transaction() as conn:
            conn.execute("UPDATE sync_runs SET outcome = 'interrupted' WHERE outcome = 'running'")
            cursor = conn.execute("INSERT INTO sync_runs (started_at, host, mode, outcome) "
                                  "VALUES (?, ?, ?, 'running')", (utc_now(), host, mode))
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, outcome: str, result: MergeResult | None = None,
                   api_calls: int = 0, error: str | None = None) -> None:
        """Record how a run ended: 'succeeded' or 'failed', with its counts or its error."""
        detail = None if result is None else json.dumps({k: vars(v) for k, v in result.counts.items()})
        totals = (0, 0, 0, 0) if result is None else tuple(
            result.total(k) for k in ("new", "updated", "deleted", "unchanged"))
        with self.transaction() as conn:
            conn.execute("""UPDATE sync_runs SET ended_at = ?, outcome = ?, new = ?, updated = ?, deleted = ?,
                            unchanged = ?, api_calls = ?, error = ?, detail = ? WHERE id = ?""",
                         (utc_now(), outcome, *totals, api_calls, error, detail, run_id))

    def cursors(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT entity, value FROM cursors"))

    def last_run(self, outcome: str | None = "succeeded") -> dict[str, object] | None:
        """The latest sync run with that outcome (any outcome when None), as a dict of its columns."""
        where = "outcome = ?" if outcome else "1"
        rows = self.db["sync_runs"].rows_where(where, [outcome] if outcome else [], order_by="id DESC", limit=1)
        return next(iter(rows), None)

    # -- the merge ------------------------------------------------------------------------------

    def staging(self) -> Staging:
        return Staging(self.conn)

    def is_empty(self) -> bool:
        """True while the store holds no record at all: a client's first sync."""
        return not any(self.conn.execute(f"SELECT EXISTS (SELECT 1 FROM main.{table})").fetchone()[0]
                       for table in (*ENTITIES, "allocations"))

    def load_staging(self) -> Staging:
        """Staging straight into this empty store's tables, for a complete snapshot (a csv ledger's first
        sync), inside a transaction the caller holds until `settle_load`.

        The tables' secondary indexes are set aside until every row is in (`_unindex_empty_tables`).
        """
        if not self.conn.in_transaction or not self.is_empty():
            raise StoreError("a load straight into the store needs an empty store and an open transaction")
        self._set_aside = self._unindex_empty_tables()
        return Staging(self.conn, into_store=True)

    def settle_load(self, staging: Staging, cursors: Mapping[str, str]) -> MergeResult:
        """Finish a checked load from `load_staging`: each invoice's balance and paid-in-full day from its
        allocations, the indexes built, the cursors set.  Every record is new."""
        self.conn.execute(f"UPDATE main.invoices SET balance = {_STAGED_BALANCE.format(s='')}, "
                          f"paid_on = {_STAGED_PAID_ON.format(s='')}, "
                          f"paid_days_late = {_STAGED_PAID_DAYS_LATE.format(s='')}, "
                          f"applied_early = {_STAGED_APPLIED_EARLY.format(s='')} "
                          f"FROM {staging.applied()} ap WHERE ap.invoice_id = invoices.id")
        for statement in self._set_aside:
            self.conn.execute(statement)
        self._set_aside = []
        self._set_cursors(cursors, utc_now())
        return MergeResult({entity: EntityCounts(new=staging.count[entity]) for entity in ENTITIES})

    def merge(self, staging: Staging, *, snapshot: frozenset[str] = frozenset(),
              deletions: Mapping[str, list[str]] | None = None, cursors: Mapping[str, str] | None = None,
              ) -> MergeResult:
        """Apply a sealed batch in one transaction with the cursors that cover it.

        Entities in `snapshot` were staged in full: their stored records missing from the batch are
        marked deleted.  `deletions` names records the host reports deleted.
        """
        now, result = utc_now(), MergeResult()
        # With every allocation staged (a csv snapshot), a changed invoice's balance is worked out as it is
        # written, instead of writing the invoice and then rewriting it with its balance.
        balanced = frozenset(_SOURCES) <= snapshot
        with self.transaction() as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS touched (id TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM temp.touched")
            rebuild = self._unindex_empty_tables()
            for entity in ENTITIES:
                result.counts[entity] = self._merge_entity(
                    entity, staging.count[entity], entity in snapshot, (deletions or {}).get(entity, []), now,
                    applied=staging.applied() if balanced and entity == "invoices" else None)
                if entity in _SOURCES:
                    self._merge_allocations(entity, balanced=balanced)
            for statement in rebuild:
                conn.execute(statement)
            self._rebalance(balanced)
            for entity in ENTITIES:
                conn.execute(f"DROP TABLE temp.chg_{entity}")
                conn.execute(f"DROP TABLE temp.gone_{entity}")
            self._set_cursors(cursors or {}, now)
        return result

    def _set_cursors(self, cursors: Mapping[str, str], now: str) -> None:
        for entity, value in cursors.items():
            self.conn.execute("INSERT INTO cursors VALUES (?, ?, ?) ON CONFLICT (entity) DO UPDATE "
                              "SET value = excluded.value, updated_at = excluded.updated_at", (entity, value, now))

    def _unindex_empty_tables(self) -> list[str]:
        """Drop the secondary indexes of the record tables that are still empty; return what rebuilds them.

        Into an empty table (a first sync), writing every row and then building each index once, from
        sorted keys, is faster than keeping the indexes up to date row by row (2.5 s of a 38 s csv load of
        a million invoices).  Both happen inside the merge's transaction, so a crash leaves the indexes as
        they were; they are rebuilt before the balances are worked out, which read them.
        """
        tables = [t for t in (*ENTITIES, "allocations")
                  if not self.conn.execute(f"SELECT EXISTS (SELECT 1 FROM main.{t})").fetchone()[0]]
        indexes = self.conn.execute(
            f"SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join('?' * len(tables))})", tables).fetchall()
        for name, _ in indexes:
            self.conn.execute(f"DROP INDEX main.{name}")
        return [sql for _, sql in indexes]

    def _merge_entity(self, entity: str, staged: int, snapshot: bool, deleted_ids: list[str],
                      now: str, *, applied: str | None = None) -> EntityCounts:
        """Upsert the changed records of one entity, mark the vanished and the host-deleted ones deleted.

        With `applied` (a balanced merge's invoices: `Staging.applied`), each written invoice gets its
        balance and paid-in-full day as it is written.
        """
        cols = COLUMNS[entity]
        conn = self.conn
        values, source = ", ".join(f"s.{c}" for c in cols), f"temp.stg_{entity} s"
        if applied:
            cols = (*cols, "balance", "paid_on", "paid_days_late", "applied_early")
            values += (f", {_STAGED_BALANCE.format(s='s.')}, {_STAGED_PAID_ON.format(s='s.')}, "
                       f"{_STAGED_PAID_DAYS_LATE.format(s='s.')}, {_STAGED_APPLIED_EARLY.format(s='s.')}")
            source += f" LEFT JOIN {applied} ap ON ap.invoice_id = s.id"
        conn.execute(f"CREATE TEMP TABLE chg_{entity} (id TEXT PRIMARY KEY, is_new INTEGER)")
        same = " AND ".join(f"t.{c} IS s.{c}" for c in COLUMNS[entity][1:])
        conn.execute(f"""INSERT OR IGNORE INTO temp.chg_{entity}
            SELECT s.id, t.id IS NULL FROM temp.stg_{entity} s LEFT JOIN main.{entity} t ON t.id = s.id
            WHERE t.id IS NULL OR t.deleted_at IS NOT NULL OR NOT ({same})""")
        if entity in _SOURCES:
            self._reallocated(entity)
        conn.execute(f"CREATE TEMP TABLE gone_{entity} (id TEXT PRIMARY KEY)")
        if snapshot:  # before the batch is written: the stored records it leaves out are the same, and fewer
            conn.execute(f"""INSERT INTO temp.gone_{entity} SELECT id FROM main.{entity}
                WHERE deleted_at IS NULL AND id NOT IN (SELECT id FROM temp.stg_{entity})""")
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
        conn.execute(f"""INSERT INTO main.{entity} ({', '.join(cols)})
            SELECT {values} FROM {source} WHERE s.id IN (SELECT id FROM temp.chg_{entity})
            ORDER BY s.rowid
            ON CONFLICT (id) DO UPDATE SET {updates}, deleted_at = NULL""")
        conn.executemany(f"""INSERT OR IGNORE INTO temp.gone_{entity} SELECT id FROM main.{entity}
                             WHERE id = ? AND deleted_at IS NULL""", [(i,) for i in deleted_ids])
        deleted = conn.execute(f"UPDATE main.{entity} SET deleted_at = ? WHERE id IN "
                               f"(SELECT id FROM temp.gone_{entity})", (now,)).rowcount
        new, changed = conn.execute(f"SELECT COALESCE(SUM(is_new), 0), COUNT(*) FROM temp.chg_{entity}").fetchone()
        if entity == "invoices":  # (a balanced merge has already worked out the balances of those it wrote)
            conn.execute("INSERT OR IGNORE INTO temp.touched SELECT id FROM temp.gone_invoices" +
                         ("" if applied else " UNION ALL SELECT id FROM temp.chg_invoices"))
        return EntityCounts(new=new, updated=changed - new, deleted=deleted, unchanged=staged - changed)

    def _reallocated(self, source: str) -> None:
        """Add to `chg_<source>` the staged payments (or credit notes) whose allocations differ from the
        stored ones: one applied elsewhere, for another amount or on another day, added or taken away.

        Their own row may be unchanged (an allocation moved between two invoices leaves the unapplied
        amount as it was).  Into an empty table (a first load) every staged record is new already.
        """
        conn = self.conn
        if not conn.execute(f"SELECT EXISTS (SELECT 1 FROM main.{source})").fetchone()[0]:
            return
        conn.execute(f"""INSERT OR IGNORE INTO temp.chg_{source}
            SELECT a.source_id, 0 FROM temp.stg_allocations a
            LEFT JOIN main.allocations m
                ON m.source = a.source AND m.source_id = a.source_id AND m.invoice_id = a.invoice_id
            WHERE a.source = :source AND (m.source IS NULL OR m.date IS NOT a.date OR m.amount IS NOT a.amount)
            UNION ALL
            SELECT m.source_id, 0 FROM main.allocations m
            WHERE m.source = :source AND m.source_id IN (SELECT id FROM temp.stg_{source})
              AND NOT EXISTS (SELECT 1 FROM temp.stg_allocations a WHERE a.source = m.source
                              AND a.source_id = m.source_id AND a.invoice_id = m.invoice_id)""",
                     {"source": source})

    def _merge_allocations(self, source: str, *, balanced: bool = False) -> None:
        """Replace the allocations of changed and deleted payments (or credit notes) with the staged ones.

        The invoices they were or are applied to are `touched`, for their balances to be worked out again;
        in a `balanced` merge, except those the merge wrote, whose balances it already worked out.
        """
        conn = self.conn
        replaced = f"SELECT id FROM temp.chg_{source} UNION ALL SELECT id FROM temp.gone_{source}"
        unbalanced = " AND invoice_id NOT IN (SELECT id FROM temp.chg_invoices)" if balanced else ""
        conn.execute(f"""INSERT OR IGNORE INTO temp.touched SELECT invoice_id FROM main.allocations
                         WHERE source = ? AND source_id IN ({replaced}){unbalanced}""", (source,))
        conn.execute(f"DELETE FROM main.allocations WHERE source = ? AND source_id IN ({replaced})", (source,))
        cols = ", ".join(ALLOCATION_COLUMNS)
        conn.execute(f"""INSERT OR REPLACE INTO main.allocations ({cols}) SELECT {cols}
                         FROM temp.stg_allocations WHERE source = ?
                         AND source_id IN (SELECT id FROM temp.chg_{source}) ORDER BY rowid""", (source,))
        conn.execute(f"""INSERT OR IGNORE INTO temp.touched SELECT invoice_id FROM temp.stg_allocations
                         WHERE source = ? AND source_id IN (SELECT id FROM temp.chg_{source}){unbalanced}""",
                     (source,))

    def _rebalance(self, balanced: bool) -> None:
        """Recompute the balance of every invoice the merge touched: total less what is applied to it;
        then the day it was paid in full, if it was, and how many days after its due date, and the first day
        credit was applied to it if that was before it was issued.

        When the merge `balanced` the invoices it wrote, only the others are left to do.
        """
        touched = "id IN (SELECT id FROM temp.touched)" + (
            " AND id NOT IN (SELECT id FROM temp.chg_invoices)" if balanced else "")
        self.conn.execute(f"""
            UPDATE main.invoices SET balance = CASE
                WHEN status = 'void' OR deleted_at IS NOT NULL THEN 0
                ELSE total - COALESCE((SELECT SUM(a.amount) FROM main.allocations a
                                       WHERE a.invoice_id = invoices.id), 0) END
            WHERE {touched}""")
        paid_days_late = _PAID_DAYS_LATE.format(paid_on="paid", s="invoices.")
        self.conn.execute(f"""
            UPDATE main.invoices SET (paid_on, paid_days_late, applied_early) = (
                SELECT paid, {paid_days_late}, early FROM (SELECT CASE
                    WHEN invoices.balance <= 0 AND invoices.total > 0 AND invoices.status <> 'void'
                         AND invoices.deleted_at IS NULL
                    THEN max(d.last, invoices.issue_date) END AS paid,
                    CASE WHEN d.first < invoices.issue_date THEN d.first END AS early
                FROM (SELECT MIN(a.date) AS first, MAX(a.date) AS last FROM main.allocations a
                      WHERE a.invoice_id = invoices.id) d))
            WHERE {touched}""")  # (all at once: one pass over the invoices, each one's allocations' days read once)

    # -- reads ----------------------------------------------------------------------------------

    def count(self, entity: str, *, include_deleted: bool = False) -> int:
        where = "" if include_deleted else " WHERE deleted_at IS NULL"
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {entity}{where}").fetchone()[0])

    def open_balance(self, home_currency: str) -> Decimal:
        """What the ledger shows open now, in the home currency: each foreign invoice converted at its own
        rate and rounded, as the aging does (an invoice the ledger gave no rate counts at 1).  Payments and
        credits dated ahead count here, as in the ledger; the aging as of today leaves them out."""
        total = from_minor(0, home_currency)
        for currency, rate, units in self.conn.execute(
                "SELECT currency, exchange_rate, SUM(balance) FROM invoices WHERE balance <> 0 AND deleted_at IS NULL "
                "AND currency = ? AND exchange_rate IS NULL UNION ALL "
                "SELECT currency, exchange_rate, balance FROM invoices WHERE balance <> 0 AND deleted_at IS NULL "
                "AND NOT (currency = ? AND exchange_rate IS NULL)", (home_currency, home_currency)):
            if units:
                total += to_home(from_minor(units, currency), Decimal(rate) if rate else None, home_currency)
        return total

    def unapplied_credits(self, customer_id: str | None = None) -> list[UnappliedCredit]:
        """Credit customers hold and have not applied: unapplied cash, overpayments, prepayments, credit notes.

        Derived from the live payments and credit notes, so it can never disagree with them.
        """
        where = "AND customer_id = ?" if customer_id else ""
        args = [customer_id] * 2 if customer_id else []
        rows = self.conn.execute(f"""
            SELECT customer_id, kind, id, date, currency, unapplied FROM payments
            WHERE unapplied > 0 AND deleted_at IS NULL {where}
            UNION ALL
            SELECT customer_id, 'credit_note', id, date, currency, unapplied FROM credit_notes
            WHERE unapplied > 0 AND deleted_at IS NULL {where}
            ORDER BY 1, 4, 3""", args)
        return [UnappliedCredit(customer_id=cid, source=kind, source_id=key, date=on, currency=cur,
                                amount=from_minor(units, cur)) for cid, kind, key, on, cur, units in rows]
