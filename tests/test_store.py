"""The store itself: migrations, WAL, soft deletes, derived balances and unapplied credit."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from connector.engine import inputs
from connector.errors import StoreError, SyncInProgress
from connector.records import Allocation, CreditNote, Customer, Invoice, Payment, PaymentKind
from connector.sync.lock import client_lock
from connector.sync.schema import MIGRATIONS
from connector.sync.store import Store

D = dt.date(2026, 1, 1)


def merge(store: Store, *records, snapshot=frozenset(), deletions=None, cursors=None):
    staging = store.staging()
    staging.add_all(records)
    staging.seal()
    try:
        return store.merge(staging, snapshot=snapshot, deletions=deletions, cursors=cursors)
    finally:
        staging.drop()


def test_new_store_records_its_migrations_and_uses_wal(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        assert store.schema_version == MIGRATIONS[-1].version
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with Store(tmp_path / "s.sqlite") as again:  # reopening applies nothing twice
        assert again.conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (len(MIGRATIONS),)


def test_store_from_a_newer_version_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer connector"):
        Store(path)


def test_host_records_merge_incrementally_with_cursor_in_the_same_transaction(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        customer = Customer(id="C1", name="Ngata Marine", raw={"Id": "C1", "Extra": "kept"},
                            updated_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-8))))
        invoice = Invoice(id="I1", customer_id="C1", issue_date=D, due_date=D, currency="JPY",
                          total=Decimal("12000"), exchange_rate=Decimal("0.0052"))
        result = merge(store, customer, invoice, cursors={"invoices": "2026-01-02T11:04:05Z"})
        assert result.total("new") == 2
        assert store.cursors() == {"invoices": "2026-01-02T11:04:05Z"}
        row = store.conn.execute("SELECT updated_at, raw FROM customers").fetchone()
        assert row == ("2026-01-02T11:04:05+00:00", '{"Id":"C1","Extra":"kept"}')
        # a later batch with only a payment: the invoice's balance follows, nothing else changes
        payment = Payment(id="P1", customer_id="C1", date=D, currency="JPY", amount=Decimal("5000"),
                          allocations=(Allocation(invoice_id="I1", amount=Decimal("4000")),))
        result = merge(store, payment)
        assert (result.total("new"), result.total("updated")) == (1, 0)
        assert store.conn.execute("SELECT balance FROM invoices").fetchone() == (8000,)
        assert store.conn.execute("SELECT unapplied FROM payments").fetchone() == (1000,)
        assert store.open_balance("GBP") == Decimal("41.60")
        (credit,) = store.unapplied_credits("C1")
        assert (credit.source, credit.source_id, credit.amount, credit.currency) == (
            "payment", "P1", Decimal("1000"), "JPY")
        assert store.unapplied_credits("C2") == []


def test_host_deletion_is_a_soft_delete_that_reopens_balances(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        merge(store,
              Customer(id="C1", name="A"),
              Invoice(id="I1", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("100")),
              CreditNote(id="N1", customer_id="C1", date=D, currency="GBP", amount=Decimal("30"),
                         allocations=(Allocation(invoice_id="I1", amount=Decimal("30")),)))
        assert store.conn.execute("SELECT balance FROM invoices").fetchone() == (7000,)
        result = merge(store, deletions={"credit_notes": ["N1", "N-unknown"]})
        assert result.counts["credit_notes"].deleted == 1
        assert store.conn.execute("SELECT balance FROM invoices").fetchone() == (10000,)
        assert store.conn.execute("SELECT deleted_at IS NOT NULL FROM credit_notes").fetchone() == (1,)
        assert store.count("credit_notes") == 0 and store.count("credit_notes", include_deleted=True) == 1


def test_void_invoice_owes_nothing_but_is_kept(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="A"),
              Invoice(id="I1", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("100"),
                      status="void"))
        assert store.conn.execute("SELECT status, total, balance FROM invoices").fetchone() == ("void", 10000, 0)


def test_naive_timestamps_are_refused_by_the_canonical_model() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Customer(id="C1", name="A", updated_at=dt.datetime(2026, 1, 1))
    assert Payment(id="P", customer_id="C", date=D, currency="GBP", amount=Decimal("1"),
                   kind=PaymentKind.PREPAYMENT).kind is PaymentKind.PREPAYMENT


def test_second_job_for_the_same_client_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    with client_lock(tmp_path, "acme"):
        with pytest.raises(SyncInProgress, match="already running"):
            with client_lock(tmp_path, "acme"):
                pass
    with client_lock(tmp_path, "acme"):  # released when the first job ends
        pass


def test_a_store_from_before_paid_on_gets_each_invoices_paid_day_when_it_is_opened(tmp_path: Path) -> None:
    """Schema versions 5 and 12 fill in the day each invoice was paid in full, and how many days after its due
    date, for what an older store already holds."""
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        merge(store, Customer(id="C1", name="Ngata Marine"),
              *(Invoice(id=f"I{n}", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("10.00"))
                for n in (1, 2)),
              Payment(id="P1", customer_id="C1", date=D, currency="GBP", amount=Decimal("15.00"), allocations=(
                  Allocation(invoice_id="I1", amount=Decimal("6.00")), Allocation(invoice_id="I2", amount=Decimal("5.00")))),
              Payment(id="P2", customer_id="C1", date=dt.date(2026, 1, 9), currency="GBP", amount=Decimal("4.00"),
                      allocations=(Allocation(invoice_id="I1", amount=Decimal("4.00")),)))
        expected = store.conn.execute("SELECT id, paid_on, paid_days_late FROM invoices ORDER BY id").fetchall()
        assert expected == [("I1", "2026-01-09", 8), ("I2", None, None)]  # (due on the 1st: paid 8 days late)
    conn = sqlite3.connect(path)
    conn.executescript("DROP INDEX invoices_paid; DROP INDEX invoices_settled; DROP INDEX invoices_issued; "
                       "ALTER TABLE invoices DROP COLUMN paid_days_late; "
                       "ALTER TABLE invoices DROP COLUMN paid_on; DELETE FROM schema_migrations WHERE version IN (5, 12)")
    conn.close()
    with Store(path) as store:
        assert store.conn.execute("SELECT id, paid_on, paid_days_late FROM invoices ORDER BY id").fetchall() == expected
        # (read through the indexes version 12 builds: one invoice settled, 8 days late)
        assert inputs.lateness(store, D, dt.date(2026, 1, 31)) == {"C1": inputs.Lateness(1, 8, 1)}


def test_an_invoice_paid_by_credit_held_before_it_was_issued_is_paid_on_its_issue_date(tmp_path: Path) -> None:
    """A prepayment a ledger applies to a later invoice keeps its own, earlier date; the invoice was paid on
    the day it was issued, by the first merge, by a later one, and in a store from before version 17."""
    path = tmp_path / "s.sqlite"
    due = dt.date(2026, 2, 9)
    with Store(path) as store:
        merge(store, Customer(id="C1", name="Ngata Marine"),
              Invoice(id="I1", customer_id="C1", issue_date=dt.date(2026, 1, 10), due_date=due, currency="GBP",
                      total=Decimal("10.00")),
              Payment(id="P1", customer_id="C1", date=D, currency="GBP", amount=Decimal("10.00"),
                      allocations=(Allocation(invoice_id="I1", amount=Decimal("10.00")),)))
        merge(store, Invoice(id="I2", customer_id="C1", issue_date=dt.date(2026, 1, 20), due_date=due,
                             currency="GBP", total=Decimal("5.00")),
              Payment(id="P2", customer_id="C1", date=D, currency="GBP", amount=Decimal("5.00"),
                      allocations=(Allocation(invoice_id="I2", amount=Decimal("5.00")),)))
        paid = "SELECT id, paid_on, paid_days_late, applied_early FROM invoices ORDER BY id"
        expected = [("I1", "2026-01-10", -30, "2026-01-01"), ("I2", "2026-01-20", -20, "2026-01-01")]
        assert store.conn.execute(paid).fetchall() == expected
        # (the prepayments were the customer's credit until the invoices were issued)
        assert [c.amount for c in inputs.credit_items(store, dt.date(2026, 1, 15))] == [Decimal("5.00")]
    conn = sqlite3.connect(path)  # (as an older store kept them: paid on the prepayments' day)
    conn.executescript("UPDATE invoices SET paid_on = '2026-01-01', paid_days_late = -39; "
                       "DROP INDEX invoices_applied_early; ALTER TABLE invoices DROP COLUMN applied_early; "
                       "DELETE FROM schema_migrations WHERE version = 17")
    conn.close()
    with Store(path) as store:
        assert store.conn.execute(paid).fetchall() == expected
        assert [c.amount for c in inputs.credit_items(store, dt.date(2026, 1, 15))] == [Decimal("5.00")]


def test_a_first_merge_rebuilds_the_indexes_it_set_aside_and_the_planner_uses_them(tmp_path: Path) -> None:
    """A merge into empty tables drops their indexes while it writes and builds them again before it
    commits; afterwards the store has exactly the indexes it started with, with every row in them."""
    def indexes(store: Store) -> list[tuple[str, str]]:
        return store.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall()

    with Store(tmp_path / "s.sqlite") as store:
        before = indexes(store)
        merge(store, Customer(id="C1", name="Ngata Marine"),
              *(Invoice(id=f"I{n}", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("10.00"))
                for n in range(50)),
              Payment(id="P1", customer_id="C1", date=D, currency="GBP", amount=Decimal("30.00"),
                      allocations=(Allocation(invoice_id="I7", amount=Decimal("10.00")),)))
        assert indexes(store) == before
        assert store.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        plan = " ".join(str(row) for row in store.conn.execute(
            "EXPLAIN QUERY PLAN SELECT customer_id, due_date FROM invoices WHERE balance <> 0 AND deleted_at IS NULL"))
        assert "invoices_open" in plan
        assert store.conn.execute("SELECT COUNT(*) FROM invoices INDEXED BY invoices_open "
                                  "WHERE balance <> 0 AND deleted_at IS NULL").fetchone() == (49,)


def test_a_payment_whose_allocations_alone_change_is_updated_and_rebalances(tmp_path: Path) -> None:
    """The merge compares staged rows with stored ones column by column, and a payment's allocations with
    the stored ones: an allocation moved, re-dated or re-split is a change even when the payment's own row
    (its amount and what is left unapplied) is exactly as before."""
    invoices = [Invoice(id=f"I{n}", customer_id="C1", issue_date=D, due_date=D, currency="GBP",
                        total=Decimal("10.00")) for n in (1, 2)]

    def paid(*parts: tuple[str, str, dt.date | None]) -> Payment:
        return Payment(id="P1", customer_id="C1", date=D, currency="GBP", amount=Decimal("12.00"), allocations=tuple(
            Allocation(invoice_id=invoice, amount=Decimal(amount), date=on) for invoice, amount, on in parts))

    def balances(store: Store) -> list[tuple[str, int, str | None]]:
        rows = store.conn.execute("SELECT id, balance, paid_on, due_date, paid_days_late FROM invoices ORDER BY id")
        found = []
        for key, balance, paid_on, due, days_late in rows:  # (the days paid late are kept with the day paid)
            assert days_late == (None if paid_on is None else (dt.date.fromisoformat(paid_on) - dt.date.fromisoformat(due)).days)
            found.append((key, balance, paid_on))
        return found

    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Ngata Marine"), *invoices, paid(("I1", "10.00", None), ("I2", "2.00", None)))
        assert balances(store) == [("I1", 0, "2026-01-01"), ("I2", 800, None)]
        assert merge(store, paid(("I1", "10.00", None), ("I2", "2.00", None))).counts["payments"].updated == 0
        steps = [
            ((("I1", "2.00", None), ("I2", "10.00", None)), [("I1", 800, None), ("I2", 0, "2026-01-01")]),  # re-split
            ((("I1", "2.00", None), ("I2", "10.00", dt.date(2026, 1, 5))), [("I1", 800, None), ("I2", 0, "2026-01-05")]),
        ]
        for parts, expected in steps:
            result = merge(store, paid(*parts))
            assert (result.counts["payments"].new, result.counts["payments"].updated) == (0, 1), parts
            assert balances(store) == expected
        # one allocation taken away and the same amount applied to the other: the row is unchanged again
        store_amount = store.conn.execute("SELECT amount, unapplied FROM payments").fetchone()
        merge(store, Invoice(id="I3", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("2.00")))
        result = merge(store, paid(("I3", "2.00", None), ("I2", "10.00", dt.date(2026, 1, 5))))
        assert result.counts["payments"].updated == 1
        assert store.conn.execute("SELECT amount, unapplied FROM payments").fetchone() == store_amount
        assert store.conn.execute("SELECT id, balance FROM invoices ORDER BY id").fetchall() == [
            ("I1", 1000), ("I2", 0), ("I3", 0)]
        # a credit note whose remaining credit the host states: an allocation taken away leaves its row as it was
        def noted(*invoices: str) -> CreditNote:
            return CreditNote(id="N1", customer_id="C1", date=D, currency="GBP", amount=Decimal("2.00"),
                              host_remaining=Decimal("0"), allocations=tuple(
                                  Allocation(invoice_id=i, amount=Decimal("1.00")) for i in invoices))
        merge(store, noted("I1", "I3"))
        assert merge(store, noted("I1")).counts["credit_notes"].updated == 1
        assert store.conn.execute("SELECT id, balance FROM invoices ORDER BY id").fetchall() == [
            ("I1", 900), ("I2", 0), ("I3", 0)]


def test_a_store_from_before_version_7_loses_its_row_hashes_and_nothing_else(tmp_path: Path) -> None:
    """Schema version 7 drops the row hash; the records stay, and the next identical batch changes nothing."""
    path = tmp_path / "s.sqlite"
    batch = (Customer(id="C1", name="Ngata Marine"),
             Invoice(id="I1", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("10.00")),
             Payment(id="P1", customer_id="C1", date=D, currency="GBP", amount=Decimal("4.00"),
                     allocations=(Allocation(invoice_id="I1", amount=Decimal("4.00")),)))
    with Store(path) as store:
        merge(store, *batch)
        before = {t: store.conn.execute(f"SELECT * FROM {t}").fetchall()
                  for t in ("customers", "invoices", "payments", "allocations")}
    conn = sqlite3.connect(path)
    for table in ("customers", "invoices", "payments", "credit_notes"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN row_hash TEXT NOT NULL DEFAULT 'old'")
    conn.execute("DELETE FROM schema_migrations WHERE version = 7")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert "row_hash" not in {row[1] for row in store.conn.execute("PRAGMA table_info(invoices)")}
        assert {t: store.conn.execute(f"SELECT * FROM {t}").fetchall() for t in before} == before
        assert merge(store, *batch).total("updated") == 0


def test_a_first_load_writes_through_a_rollback_journal_only_when_it_has_the_store_to_itself(tmp_path: Path) -> None:
    """Leaving WAL mode needs the store to itself: with a report's connection open it stays in WAL mode
    (and does not wait for that connection); either way the store is back in WAL mode afterwards."""
    def mode(store: Store) -> str:
        return store.conn.execute("PRAGMA journal_mode").fetchone()[0]

    with Store(tmp_path / "s.sqlite") as store:
        report = sqlite3.connect(tmp_path / "s.sqlite")
        report.execute("SELECT COUNT(*) FROM invoices").fetchall()
        with store.rollback_journal():
            assert mode(store) == "wal"
        report.close()
        with store.rollback_journal():
            assert mode(store) == "delete"
            with store.transaction():
                staging = store.load_staging()
                staging.add_all([Customer(id="C1", name="Ngata Marine"), Invoice(
                    id="I1", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("10.00"))])
                staging.seal()
                assert staging.problems() == []
                assert store.settle_load(staging, {"ledger": "v1"}).total("new") == 2
        assert mode(store) == "wal"
        assert store.conn.execute("SELECT id, balance FROM invoices").fetchall() == [("I1", 1000)]
        assert store.cursors() == {"ledger": "v1"}


def test_a_read_alongside_runs_on_its_own_read_only_connection_and_hands_back_its_result_or_error(
        tmp_path: Path) -> None:
    """Reports run their heaviest queries on a second connection, in a thread: it sees the store, cannot
    change it, and whatever it raises is raised again where the report collects the result (also in a
    folder whose name a URI would misread: a space, a hash, a question mark)."""
    with Store(tmp_path / "Acme & Co #1? data" / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Ngata Marine"))
        seen = store.alongside(lambda other: (other is not store, other.count("customers"), threading.get_ident()))
        assert seen.result(timeout=10)[:2] == (True, 1) and seen.result()[2] != threading.get_ident()
        refused = store.alongside(lambda other: other.conn.execute("DELETE FROM customers"))
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            refused.result(timeout=10)
        assert store.count("customers") == 1


def test_rows_read_alongside_come_back_as_the_query_gives_them(tmp_path: Path) -> None:
    """Alongside, SQLite packs a query's rows into one JSON text; unpacked, they are the rows a plain read
    gives, in its order: text (not ASCII too), big integers and NULLs, with named or positional parameters."""
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Zoë Çelik GmbH"), Customer(id="C2", name="Ngata \"Marine\""))
        sql = ("WITH x AS (SELECT id, name, NULL AS missing, 9007199254740993 AS big FROM customers) "
               "SELECT * FROM x WHERE id >= {} ORDER BY id DESC")
        for where, args in (("'C1'", ()), (":low", {"low": "C1"}), ("?", ("C1",))):
            query = sql.format(where)
            direct = [tuple(row) for row in store.rows(query, args)]
            packed = store.alongside(lambda other: [tuple(row) for row in other.rows(query, args)]).result(timeout=10)
            assert packed == direct == [("C2", 'Ngata "Marine"', None, 9007199254740993),
                                        ("C1", "Zoë Çelik GmbH", None, 9007199254740993)]


def test_a_read_that_another_connection_committed_during_is_read_again_in_one_snapshot(tmp_path: Path) -> None:
    """`consistent` notices a commit made while a report read, and reads again on its own connection, in one
    read transaction (reads alongside run there too), so later commits change nothing of what it sees."""
    with Store(tmp_path / "s.sqlite") as store, Store(tmp_path / "s.sqlite") as writer:
        merge(store, Customer(id="C1", name="Ngata Marine"))
        seen: list[tuple[int, bool, bool]] = []

        def read() -> int:
            counted = store.alongside(lambda other: (other.count("customers"), threading.get_ident())).result()
            merge(writer, Customer(id=f"C{len(seen) + 2}", name="Aalto Oy"))  # a sync commits meanwhile
            seen.append((counted[0], counted[1] == threading.get_ident(), store.conn.in_transaction))
            return store.count("customers")

        assert store.consistent(read) == 2  # the second read's snapshot: C2 in, C3 (committed during it) not
        assert seen == [(1, False, False), (2, True, True)] and not store.conn.in_transaction
        assert store.consistent(lambda: store.count("customers")) == 3  # nothing committed during: one read


def test_the_open_balance_converts_and_rounds_each_foreign_invoice_as_the_aging_does(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Ngata Marine"),
              *(Invoice(id=f"I{n}", customer_id="C1", issue_date=D, due_date=D, currency="EUR", total=Decimal("0.01"),
                        exchange_rate=Decimal("0.5")) for n in range(3)),
              Invoice(id="H", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("2.50")))
        assert store.open_balance("GBP") == Decimal("2.53")  # 0.005 rounds to 0.01 three times; not 2.52
