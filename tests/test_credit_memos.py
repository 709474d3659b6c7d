"""QuickBooks applies a credit memo through a payment record, not on the memo: the credit that payment uses
must come off the memo's credit from the payment's date, and a payment with cash must not count the credit
it used as cash left over."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

from connector.adapters.quickbooks import to_record
from connector.engine import inputs
from connector.records import CreditNote, Customer, Invoice, Payment, PaymentKind
from connector.sync.store import Store
from tests.test_store import merge

D = dt.date(2026, 1, 1)


def _qbo_payment(key: str, day: dt.date, cash: str, invoices: dict[str, str], memos: dict[str, str]) -> Payment:
    """A QBO Payment as the API sends it: a line per linked invoice and a line per credit memo used."""
    lines = [{"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": kind}]}
             for kind, links in (("Invoice", invoices), ("CreditMemo", memos)) for txn, amount in links.items()]
    record = to_record("Payment", {"Id": key, "TxnDate": day.isoformat(), "TotalAmt": cash,
                                   "CustomerRef": {"value": "C1"}, "CurrencyRef": {"value": "GBP"}, "Line": lines})
    assert isinstance(record, Payment)
    return record


def _books() -> list[object]:
    memo = {"customer_id": "C1", "currency": "GBP", "host_remaining": Decimal(0)}
    return [
        Customer(id="C1", name="Ngata Marine"),
        Invoice(id="I1", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("100.00")),
        Invoice(id="I2", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("50.00")),
        CreditNote(id="CN1", date=D, amount=Decimal("60.00"), **memo),
        CreditNote(id="CN2", date=D, amount=Decimal("30.00"), **{**memo, "host_remaining": Decimal("10.00")}),
        # credit only (TotalAmt 0): CN1's 60 pays I1
        _qbo_payment("P1", D + dt.timedelta(days=10), "0", {"I1": "60.00"}, {"CN1": "60.00"}),
        # 35 of cash and 20 of CN2's credit: I2's 50 paid, 5 of cash left over
        _qbo_payment("P2", D + dt.timedelta(days=20), "35.00", {"I2": "50.00"}, {"CN2": "20.00"}),
    ]


def test_the_quickbooks_mapping_keeps_the_credit_each_payment_uses() -> None:
    *_, credit_only, mixed = _books()
    assert (credit_only.kind, credit_only.amount, credit_only.unapplied) == (
        PaymentKind.CREDIT_APPLICATION, Decimal("60.00"), Decimal(0))
    assert [(u.credit_note_id, u.amount) for u in credit_only.credit_used] == [("CN1", Decimal("60.00"))]
    assert (mixed.kind, mixed.amount, mixed.unapplied) == (PaymentKind.PAYMENT, Decimal("35.00"), Decimal("5.00"))
    # a memo refunded: the payment links the memo and the cheque paid to the customer, no invoice
    refund = to_record("Payment", {"Id": "P3", "TxnDate": "2026-02-01", "TotalAmt": 0, "UnappliedAmt": 0,
                                   "CustomerRef": {"value": "C1"}, "Line": [
                                       {"Amount": 25, "LinkedTxn": [{"TxnId": "CN3", "TxnType": "CreditMemo"}]},
                                       {"Amount": 25, "LinkedTxn": [{"TxnId": "77", "TxnType": "Check"}]}]})
    assert isinstance(refund, Payment)
    assert (refund.kind, refund.amount, refund.allocations, refund.unapplied) == (
        PaymentKind.CREDIT_APPLICATION, Decimal(25), (), Decimal(0))
    assert [(u.credit_note_id, u.amount) for u in refund.credit_used] == [("CN3", Decimal(25))]
    # a journal entry's credit applied to an invoice: no cash, no credit memo, and the invoice is paid
    journal = to_record("Payment", {"Id": "P4", "TxnDate": "2026-02-02", "TotalAmt": 0, "CustomerRef": {"value": "C1"},
                                    "Line": [{"Amount": 15, "LinkedTxn": [{"TxnId": "I2", "TxnType": "Invoice"}]},
                                             {"Amount": 15, "LinkedTxn": [{"TxnId": "5", "TxnType": "JournalEntry"}]}]})
    assert isinstance(journal, Payment)
    assert (journal.kind, journal.amount, journal.unapplied, journal.credit_used) == (
        PaymentKind.CREDIT_APPLICATION, Decimal(15), Decimal(0), ())
    assert [(a.invoice_id, a.amount) for a in journal.allocations] == [("I2", Decimal(15))]


def test_a_memos_credit_on_each_day_is_what_payments_had_not_used_by_then(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, *_books())
        assert dict(store.conn.execute("SELECT id, unapplied FROM payments")) == {"P1": 0, "P2": 500}
        assert dict(store.conn.execute("SELECT id, balance FROM invoices")) == {"I1": 4000, "I2": 0}

        def held(day: dt.date) -> dict[str, Decimal]:
            return {c.source_id: c.amount for c in inputs.credit_items(store, day)}

        assert held(D) == {"CN1": Decimal("60.00"), "CN2": Decimal("30.00")}
        assert held(D + dt.timedelta(days=10)) == {"CN2": Decimal("30.00")}
        assert held(D + dt.timedelta(days=20)) == {"CN2": Decimal("10.00"), "P2": Decimal("5.00")}
        # what the host says is left today agrees with what the store works out
        assert {c.source_id: c.amount for c in store.unapplied_credits("C1")} == held(D + dt.timedelta(days=20))

        # the same batch again changes nothing; a payment that now uses less of the memo is updated, and the
        # host says what is left of the memo
        assert merge(store, *_books()).total("updated") == 0
        less = _qbo_payment("P1", D + dt.timedelta(days=10), "0", {"I1": "30.00"}, {"CN1": "30.00"})
        cn1 = CreditNote(id="CN1", customer_id="C1", currency="GBP", date=D, amount=Decimal("60.00"),
                         host_remaining=Decimal("30.00"))
        assert merge(store, less, cn1).total("updated") == 2
        assert held(D) == {"CN1": Decimal("60.00"), "CN2": Decimal("30.00")}
        assert held(D + dt.timedelta(days=10)) == {"CN1": Decimal("30.00"), "CN2": Decimal("30.00")}

        # a deleted payment gives its credit back
        merge(store, cn1.model_copy(update={"host_remaining": Decimal("60.00")}), deletions={"payments": ["P1"]})
        assert held(D + dt.timedelta(days=10)) == {"CN1": Decimal("60.00"), "CN2": Decimal("30.00")}


def test_credit_refunded_is_not_held_today_though_no_allocation_shows_it(tmp_path: Path) -> None:
    """Xero refunds a credit note or an overpayment as a payment of its own (`Payments[]` on the credit):
    no allocation shows it, but `RemainingCredit` does, and what is left today is the host's figure."""
    from connector.adapters.xero import to_record as xero_record

    contact = {"ContactID": "C1"}
    note = xero_record("CreditNotes", {
        "CreditNoteID": "CN", "Type": "ACCRECCREDIT", "Status": "PAID", "Contact": contact, "Date": "2026-01-01",
        "Total": 50, "RemainingCredit": 0, "CurrencyCode": "GBP", "Payments": [{"PaymentID": "R1", "Amount": 30}],
        "Allocations": [{"Invoice": {"InvoiceID": "I1"}, "Amount": 20, "Date": "2026-01-10"}]})
    over = xero_record("Overpayments", {
        "OverpaymentID": "OP", "Type": "RECEIVE-OVERPAYMENT", "Status": "PAID", "Contact": contact,
        "Date": "2026-01-05", "Total": 50, "RemainingCredit": 10, "CurrencyCode": "GBP",
        "Payments": [{"PaymentID": "R2", "Amount": 30}],
        "Allocations": [{"Invoice": {"InvoiceID": "I1"}, "Amount": 10, "Date": "2026-01-20"}]})
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, Customer(id="C1", name="Ngata Marine"),
              Invoice(id="I1", customer_id="C1", issue_date=D, due_date=D, currency="GBP", total=Decimal("100.00")),
              note, over)
        held = {c.source_id: c.amount for c in inputs.credit_items(store, D + dt.timedelta(days=30))}
        assert held == {"OP": Decimal("10.00")}
        # the overpayment's allocation keeps its own date (the 20th): before it, that part was still credit
        assert {c.source_id: c.amount for c in inputs.credit_items(store, D + dt.timedelta(days=15))} == {
            "OP": Decimal("20.00")}
        # before the allocation, the credit note still held what it later applied (when it was refunded is
        # not known, so an earlier day leaves the refund out)
        assert {c.source_id: c.amount for c in inputs.credit_items(store, D + dt.timedelta(days=8))} == {
            "CN": Decimal("20.00"), "OP": Decimal("20.00")}


def test_a_host_store_from_before_version_9_reads_everything_again_on_its_next_sync(tmp_path: Path) -> None:
    for host, path in (("quickbooks", tmp_path / "qbo.sqlite"), ("xero", tmp_path / "xero.sqlite"),
                       ("csv", tmp_path / "csv.sqlite")):
        with Store(path) as store:
            merge(store, *_books(), cursors={f"{host}_cursor": "2026-01-30T00:00:00Z"})
            store.conn.execute("INSERT INTO sync_runs (started_at, host, mode, outcome) "
                               "VALUES ('2026-01-30T00:00:00Z', ?, 'full', 'succeeded')", (host,))
        conn = sqlite3.connect(path)
        conn.executescript("DROP INDEX payments_credit_used; ALTER TABLE payments DROP COLUMN credit_used; "
                           "DELETE FROM schema_migrations WHERE version = 9")
        conn.close()
        with Store(path) as store:
            assert store.conn.execute("SELECT COUNT(*) FROM payments WHERE credit_used IS NULL").fetchone() == (2,)
            assert bool(store.cursors()) is (host == "csv")
            merge(store, *_books())  # what the next sync brings: the column filled in
            assert store.conn.execute("SELECT COUNT(*) FROM payments WHERE credit_used IS NULL").fetchone() == (0,)


def test_a_host_credit_note_on_a_bad_debt_item_or_account_is_a_write_off() -> None:
    """Neither host has a field for a write-off: accountants book it to a bad-debt item or account, which the
    client's `[write_offs]` names (QuickBooks: a line's item name; Xero: its item code or account code)."""
    from connector.adapters.xero import to_record as xero_record
    from connector.config.models import WriteOffSettings

    def memo(item: str) -> dict[str, object]:
        return {"Id": "CM", "TxnDate": "2026-01-01", "TotalAmt": 40, "CustomerRef": {"value": "C1"},
                "Line": [{"Amount": 40, "DetailType": "SalesItemLineDetail",
                          "SalesItemLineDetail": {"ItemRef": {"value": "9", "name": item}}}]}

    def note(line: dict[str, str]) -> dict[str, object]:
        return {"CreditNoteID": "CN", "Type": "ACCRECCREDIT", "Status": "AUTHORISED", "Contact": {"ContactID": "C1"},
                "Date": "2026-01-01", "Total": 40, "CurrencyCode": "GBP", "LineItems": [line]}

    default, ours = WriteOffSettings(), WriteOffSettings(items=["Uncollectable"], accounts=["489"])
    assert to_record("CreditMemo", memo("bad debt"), default).reason == "bad_debt"  # type: ignore[union-attr]
    assert to_record("CreditMemo", memo("Services"), default).reason is None  # type: ignore[union-attr]
    assert to_record("CreditMemo", memo("Bad Debt"), ours).reason is None  # type: ignore[union-attr]
    assert to_record("CreditMemo", memo("UNCOLLECTABLE"), ours).reason == "bad_debt"  # type: ignore[union-attr]
    assert xero_record("CreditNotes", note({"ItemCode": "Bad Debt"}), default).reason == "bad_debt"  # type: ignore[union-attr]
    assert xero_record("CreditNotes", note({"AccountCode": "489"}), default).reason is None  # type: ignore[union-attr]
    assert xero_record("CreditNotes", note({"AccountCode": "489"}), ours).reason == "bad_debt"  # type: ignore[union-attr]


def test_a_payment_plan_counts_a_payments_cash_not_the_credit_it_used(tmp_path: Path) -> None:
    """P2 paid I2's 50 with 35 of cash and 20 of CN2's credit, leaving 5 of cash on account.  Toward a payment
    plan on I2 it counts 35, what the customer paid: the credit was no installment (it counted 50), and the
    5 on account is money the customer may well mean for the plan (it counted 0)."""
    with Store(tmp_path / "s.sqlite") as store:
        merge(store, *_books())
        (p2,) = inputs.plan_payments(store, D + dt.timedelta(days=20), {"C1"})["C1"]
        assert (p2.cash, p2.applied, p2.unapplied) == (Decimal("35.00"), {"I2": Decimal("50.00")}, Decimal("5.00"))
        assert p2.toward(["I2"]) == Decimal("35.00")
        assert p2.toward(["I1"]) == Decimal("5.00")  # (nothing paid on I1; what was left on account)
