"""Sandbox records in Xero Accounting JSON: PascalCase keys, `/Date(ms+0000)/` dates, amounts as numbers.

Xero keeps one payment per invoice, so a receipt that pays several invoices is several Xero payments (ids
derived from the receipt's and the invoice's).  `CurrencyRate` is written as units of the invoice's
currency per unit of the organisation's (the inverse of the canonical `exchange_rate`); the sync adapter
reads it back the same way (an assumption to check against a real multi-currency organisation).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from decimal import Decimal
from typing import Any

from connector.records import CreditNote, Customer, Invoice, InvoiceStatus, Payment, PaymentKind, Refund
from connector.sandbox.world import HostRecord, World, guid

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@functools.lru_cache(maxsize=65536)
def ms_date(value: dt.date | dt.datetime) -> str:
    """Microsoft JSON date: milliseconds since the epoch, UTC (few distinct days and instants, many
    documents: kept)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), dt.UTC)
    return f"/Date({(value - EPOCH) // _MILLISECOND}+0000)/"


_MILLISECOND = dt.timedelta(milliseconds=1)


@functools.lru_cache(maxsize=8192)
def _date_string(value: dt.date) -> str:
    return f"{value.isoformat()}T00:00:00"


def _number(amount: Decimal) -> float | int:
    return int(amount) if amount == amount.to_integral_value() else float(amount)  # ok: wire format, not math


def _rate(rate: Decimal | None) -> float | int:
    return 1 if rate is None else _number((1 / rate).quantize(Decimal("0.000001")))


def _applying(world: World, entity: str, key: str) -> Payment | CreditNote:
    """The payment or credit note behind one of an invoice's applied parts."""
    record = world.records[entity][key].record
    assert isinstance(record, Payment | CreditNote)
    return record


def _credit_note(world: World, key: str) -> CreditNote:
    record = world.records["credit_notes"][key].record
    assert isinstance(record, CreditNote)
    return record


def _contact_ref(world: World, customer_id: str) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        host = world.by_id("customers", customer_id) or world.by_id("suppliers", customer_id)
        return {"ContactID": host.xero_id if host else customer_id,
                "Name": host.record.name if host else customer_id}  # type: ignore[union-attr]
    return world.part(("xero-contact", customer_id), build)  # type: ignore[no-any-return]


def contact(world: World, host: HostRecord, supplier: bool = False) -> dict[str, Any]:
    c: Customer = host.record  # type: ignore[assignment]
    body: dict[str, Any] = {
        "ContactID": host.xero_id, "ContactStatus": "ACTIVE" if c.active else "ARCHIVED", "Name": c.name,
        "Addresses": [], "Phones": [], "UpdatedDateUTC": ms_date(host.updated), "ContactGroups": [],
        "IsSupplier": supplier, "IsCustomer": not supplier, "ContactPersons": [], "HasAttachments": False,
        "HasValidationErrors": False,
    }
    if c.email:
        body["EmailAddress"] = c.email
    if c.currency:
        body["DefaultCurrency"] = c.currency
    return body


def invoice_status(world: World, host: HostRecord, balance: Decimal | None = None) -> str:
    i: Invoice = host.record  # type: ignore[assignment]
    if host.deleted:
        return "DELETED"
    if i.status is InvoiceStatus.VOID:
        return "VOIDED"
    return "PAID" if (world.balance(i) if balance is None else balance) == 0 else "AUTHORISED"


def bill(world: World, host: HostRecord) -> dict[str, Any]:
    """A supplier's bill (ACCPAY): unpaid, to be ignored by a receivables connector."""
    body = invoice(world, host, summary=True)
    return {**body, "Type": "ACCPAY", "Status": "AUTHORISED", "AmountDue": body["Total"], "AmountPaid": 0,
            "AmountCredited": 0}


def invoice(world: World, host: HostRecord, summary: bool = False) -> dict[str, Any]:
    i: Invoice = host.record  # type: ignore[assignment]
    balance = world.balance(i)
    due = balance if i.status is InvoiceStatus.OPEN else Decimal(0)
    parts = [(e, k, a) for e, k, a in world.applied.get(i.id, []) if not world.records[e][k].deleted]
    paid = sum((a for e, _, a in parts if e == "payments"), Decimal(0))
    credited = sum((a for e, _, a in parts if e == "credit_notes"), Decimal(0))
    total, rate = _number(i.total), _rate(i.exchange_rate)
    body: dict[str, Any] = {
        "Type": "ACCREC", "InvoiceID": host.xero_id, "InvoiceNumber": i.number or host.qbo_id, "Reference": "",
        "Contact": _contact_ref(world, i.customer_id), "DateString": _date_string(i.issue_date),
        "Date": ms_date(i.issue_date), "DueDateString": _date_string(i.due_date), "DueDate": ms_date(i.due_date),
        "Status": invoice_status(world, host, balance), "LineAmountTypes": "Exclusive", "SubTotal": total,
        "TotalTax": 0, "Total": total, "UpdatedDateUTC": ms_date(host.updated),
        "CurrencyCode": i.currency, "CurrencyRate": rate, "AmountDue": _number(due),
        "AmountPaid": _number(paid), "AmountCredited": _number(credited), "SentToContact": False,
        "HasAttachments": False, "IsDiscounted": False, "HasErrors": False,
    }
    if not summary:
        body["LineItems"] = [{"Description": "Services", "Quantity": 1, "UnitAmount": total,
                              "LineAmount": total, "AccountCode": "200", "TaxType": "NONE",
                              "TaxAmount": 0}]
        body["Payments"] = [{"PaymentID": payment_id(world, k, i.id), "Date": ms_date(_applying(world, e, k).date),
                             "Amount": _number(a), "CurrencyRate": rate, "Reference": ""}
                            for e, k, a in parts if e == "payments"]
        body["CreditNotes"] = [{"CreditNoteID": world.records[e][k].xero_id, "AppliedAmount": _number(a),
                                "Date": ms_date(_applying(world, e, k).date),
                                "CreditNoteNumber": _credit_note(world, k).number or k}
                               for e, k, a in parts if e == "credit_notes"]
    if due == 0 and i.status is InvoiceStatus.OPEN and parts:
        body["FullyPaidOnDate"] = ms_date(max(_applying(world, e, k).date for e, k, _ in parts))
    return body


def payment_id(world: World, payment_key: str, invoice_key: str) -> str:
    return guid(f"{world.spec.seed}/{payment_key}/{invoice_key}")


def payments(world: World, host: HostRecord) -> list[dict[str, Any]]:
    """The Xero payments of one receipt: one per invoice it pays."""
    p: Payment = host.record  # type: ignore[assignment]
    result = []
    for allocation in p.allocations:
        inv = world.by_id("invoices", allocation.invoice_id)
        rate = inv.record.exchange_rate if inv else None  # type: ignore[union-attr]
        result.append({
            "PaymentID": payment_id(world, p.id, allocation.invoice_id), "Date": ms_date(p.date),
            "BankAmount": _number(allocation.amount), "Amount": _number(allocation.amount),
            "Reference": p.reference or "", "CurrencyRate": _rate(rate), "PaymentType": "ACCRECPAYMENT",
            "Status": "DELETED" if host.deleted else "AUTHORISED", "UpdatedDateUTC": ms_date(host.updated),
            "HasAccount": True, "IsReconciled": False, "Account": {"AccountID": str(uuid.UUID(int=1)), "Code": "090"},
            "Invoice": {"Type": "ACCREC", "InvoiceID": inv.xero_id if inv else allocation.invoice_id,
                        "InvoiceNumber": (inv.record.number if inv else None) or "",  # type: ignore[union-attr]
                        "CurrencyCode": p.currency, "Contact": _contact_ref(world, p.customer_id)},
            "HasValidationErrors": False,
        })
    return result


def credit_note(world: World, host: HostRecord) -> dict[str, Any]:
    n: CreditNote = host.record  # type: ignore[assignment]
    remaining = n.unapplied  # (Xero's RemainingCredit leaves refunds out, as the record's figure does)
    status = "DELETED" if host.deleted else ("PAID" if remaining == 0 else "AUTHORISED")
    return {
        "CreditNoteID": host.xero_id, "CreditNoteNumber": n.number or host.qbo_id, "Type": "ACCRECCREDIT",
        "Contact": _contact_ref(world, n.customer_id), "DateString": _date_string(n.date), "Date": ms_date(n.date),
        "Status": status, "LineAmountTypes": "Exclusive", "SubTotal": _number(n.amount), "TotalTax": 0,
        "Total": _number(n.amount), "UpdatedDateUTC": ms_date(host.updated), "CurrencyCode": n.currency,
        "RemainingCredit": _number(remaining), "Payments": _refund_payments(world, n.id, n.refunds),
        "Reference": n.reason or "", "HasAttachments": False,
        "LineItems": [{"Description": "Bad debt written off" if n.write_off else "Credit", "Quantity": 1,
                       "UnitAmount": _number(n.amount), "LineAmount": _number(n.amount), "TaxType": "NONE",
                       "TaxAmount": 0, **({"ItemCode": "Bad Debt", "AccountCode": "489"} if n.write_off
                                          else {"AccountCode": "200"})}],
        "Allocations": [{"Amount": _number(a.amount), "Date": ms_date(a.date or n.date),
                         "Invoice": {"InvoiceID": (world.by_id("invoices", a.invoice_id) or host).xero_id,
                                     "InvoiceNumber": a.invoice_id}} for a in n.allocations],
        "CurrencyRate": _rate(n.exchange_rate),
    }


def _refund_payments(world: World, credit_id: str, refunds: tuple[Refund, ...]) -> list[dict[str, Any]]:
    """A credit's cash refunds as Xero lists them: the credit's `Payments[]` (shape of the OpenAPI example)."""
    return [{"PaymentID": payment_id(world, credit_id, f"refund-{n}"), "Date": ms_date(r.date),
             "Amount": _number(r.amount), "Reference": "Refund", "CurrencyRate": 1.0, "HasAccount": False,
             "HasValidationErrors": False} for n, r in enumerate(refunds, 1)]


def overpayment(world: World, host: HostRecord) -> dict[str, Any] | None:
    """The unapplied part of a receipt, which Xero keeps as a RECEIVE-OVERPAYMENT (None if fully applied,
    and for a prepayment, which Xero keeps apart)."""
    p: Payment = host.record  # type: ignore[assignment]
    left = p.amount - sum((a.amount for a in p.allocations), Decimal(0))
    if left <= 0 or p.kind is PaymentKind.PREPAYMENT:
        return None
    key = payment_id(world, p.id, "overpayment")
    return _credit(world, host, left, {"OverpaymentID": key, "ID": key, "Type": "RECEIVE-OVERPAYMENT"})


def prepayment(world: World, host: HostRecord) -> dict[str, Any] | None:
    """Money received ahead of any invoice, as Xero's RECEIVE-PREPAYMENT (None for any other receipt)."""
    p: Payment = host.record  # type: ignore[assignment]
    if p.kind is not PaymentKind.PREPAYMENT:
        return None
    left = p.amount - sum((a.amount for a in p.allocations), Decimal(0))
    return _credit(world, host, left, {"PrepaymentID": host.xero_id, "ID": host.xero_id, "Type": "RECEIVE-PREPAYMENT"})


def _credit(world: World, host: HostRecord, left: Decimal, ids: dict[str, Any]) -> dict[str, Any]:
    """What an overpayment and a prepayment share: a customer's credit with what is left of it."""
    p: Payment = host.record  # type: ignore[assignment]
    return {
        **ids, "Reference": p.reference or "", "RemainingCredit": _number(p.unapplied),
        "Allocations": [], "Payments": _refund_payments(world, p.id, p.refunds), "HasAttachments": False,
        "Contact": _contact_ref(world, p.customer_id), "DateString": _date_string(p.date), "Date": ms_date(p.date),
        "Status": "DELETED" if host.deleted else "AUTHORISED", "LineAmountTypes": "NoTax", "LineItems": [],
        "SubTotal": _number(left), "TotalTax": 0, "Total": _number(left), "UpdatedDateUTC": ms_date(host.updated),
        "CurrencyCode": p.currency,
    }
