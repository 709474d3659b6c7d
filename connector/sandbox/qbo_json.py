"""Sandbox records in QuickBooks Online v3 JSON: the keys, nesting and value formats of real QBO records.

Amounts are JSON numbers, dates `YYYY-MM-DD`, instants in US Pacific time with their offset
(`2023-02-18T12:57:24-08:00`), references `{"value", "name"}`, and every record carries `domain`,
`sparse`, `Id`, `SyncToken` and `MetaData`, as in tests/data/qbo/sandbox_records.json.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from connector.records import CreditNote, Customer, Invoice, InvoiceStatus, Payment
from connector.sandbox.world import PACIFIC, HostRecord, Listed, World

CURRENCY_NAMES = {"USD": "United States Dollar", "GBP": "British Pound Sterling", "EUR": "Euro",
                  "AUD": "Australian Dollar", "NZD": "New Zealand Dollar", "CAD": "Canadian Dollar"}
ENTITY_NAMES = {"Customer": "customers", "Invoice": "invoices", "Payment": "payments", "CreditMemo": "credit_notes"}


def _number(amount: Decimal) -> float | int:
    """QBO writes amounts as JSON numbers; the emulator renders them from exact decimals."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)  # ok: wire format, not math


def _meta(host: HostRecord) -> dict[str, Any]:
    return {"domain": "QBO", "sparse": False, "Id": host.qbo_id, "SyncToken": str(host.sync_token),
            "MetaData": {"CreateTime": _pacific(host.created), "LastUpdatedTime": _pacific(host.updated)}}


@functools.lru_cache(maxsize=65536)
def _pacific(moment: dt.datetime) -> str:
    """An instant as QBO writes it, in US Pacific time with its offset (a company's records share few
    instants: a day's documents are entered at the same hour, so these are kept)."""
    return moment.astimezone(PACIFIC).isoformat()


_COUNTRIES = {"USD": "US", "GBP": "GB", "EUR": "IE", "AUD": "AU", "NZD": "NZ", "CAD": "CA"}


def company_info(world: World) -> dict[str, Any]:
    """The company's one CompanyInfo record (Id 1, as in QBO), in its real layout."""
    country = _COUNTRIES.get(world.spec.home_currency, "US")
    address = {"Id": "1", "Line1": "1 Ledger Street", "City": "Sandbox City", "PostalCode": "00001",
               "Country": country}
    started = dt.datetime.combine(world.spec.today.replace(day=1) - dt.timedelta(days=31 * world.spec.months),
                                  dt.time(9), PACIFIC)
    return {
        "CompanyName": f"Sandbox Company {world.spec.seed}", "LegalName": f"Sandbox Company {world.spec.seed} Ltd",
        "CompanyAddr": address, "CustomerCommunicationAddr": address, "LegalAddr": address,
        "CustomerCommunicationEmailAddr": {"Address": "accounts@sandbox.example"}, "PrimaryPhone": {},
        "CompanyStartDate": started.date().isoformat(), "FiscalYearStartMonth": "January", "Country": country,
        "Email": {"Address": "accounts@sandbox.example"}, "WebAddr": {}, "SupportedLanguages": "en",
        "NameValue": [{"Name": "NeoEnabled", "Value": "true"}, {"Name": "IsQbdtMigrated", "Value": "false"},
                      {"Name": "OfferingSku", "Value": "QuickBooks Online Advanced"}],
        "domain": "QBO", "sparse": False, "Id": "1", "SyncToken": "1",
        "MetaData": {"CreateTime": _pacific(started), "LastUpdatedTime": _pacific(started)},
    }


@functools.lru_cache(maxsize=256)
def _currency(code: str) -> dict[str, str]:
    """A currency reference (shared by every record in that currency: never to be changed in place)."""
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def _ref(world: World, entity: str, key: str) -> dict[str, str]:
    def build() -> dict[str, str]:
        host = world.by_id(entity, key)
        record = host.record if host else None
        name = getattr(record, "name", None) or getattr(record, "number", None) or key
        return {"value": host.qbo_id if host else key, "name": name}
    if entity != "customers":  # an invoice is referred to once or twice: not worth keeping
        return build()
    return world.part(("qbo-customer", key), build)  # type: ignore[no-any-return]


def _kind(host: HostRecord) -> str:
    return type(host.record).__name__


def render(world: World, host: HostRecord) -> dict[str, Any]:
    """The record as QBO JSON (list answers keep it, rendered once per change: `entity_records`)."""
    record = host.record
    if isinstance(record, Customer):
        body = _customer(world, host, record)
    elif isinstance(record, Invoice):
        body = _invoice(world, host, record)
    elif isinstance(record, Payment):
        body = _payment(world, host, record)
    else:
        body = _credit_memo(world, host, record)
    return {**body, **(host.extras or {})}


def _customer(world: World, host: HostRecord, c: Customer) -> dict[str, Any]:
    owed = world.customer_balance(c.id)
    body: dict[str, Any] = {
        "Taxable": False, "Job": False, "BillWithParent": False, "Balance": _number(owed),
        "BalanceWithJobs": _number(owed), "CurrencyRef": _currency(c.currency or world.spec.home_currency),
        "PreferredDeliveryMethod": "Email" if c.email else "Print", **_meta(host),
        "FullyQualifiedName": c.name, "CompanyName": c.name, "DisplayName": c.name, "PrintOnCheckName": c.name,
        "Active": c.active,
    }
    if c.email:
        body["PrimaryEmailAddr"] = {"Address": c.email}
    return body


def _invoice(world: World, host: HostRecord, i: Invoice) -> dict[str, Any]:
    links = [{"TxnId": world.records[e][k].qbo_id if e == "payments" else application_id(world.records[e][k], i.id),
              "TxnType": "Payment"} for e, k, _ in world.applied.get(i.id, []) if not world.records[e][k].deleted]
    total = _number(i.total)
    body = {
        "AllowIPNPayment": False, "AllowOnlinePayment": False, "AllowOnlineCreditCardPayment": False,
        "AllowOnlineACHPayment": False, **_meta(host), "DocNumber": i.number or host.qbo_id,
        "TxnDate": i.issue_date.isoformat(), "CurrencyRef": _currency(i.currency), "LinkedTxn": links,
        "Line": [{"Id": "1", "LineNum": 1, "Description": "Services", "Amount": total,
                  "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"},
                                          "UnitPrice": total, "Qty": 1, "TaxCodeRef": {"value": "NON"}}},
                 {"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
        "TxnTaxDetail": {"TotalTax": 0}, "CustomerRef": _ref(world, "customers", i.customer_id),
        "DueDate": i.due_date.isoformat(), "TotalAmt": total, "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NotSet", "EmailStatus": "NotSet", "Balance": _number(world.balance(i)),
    }
    if i.exchange_rate is not None:
        body["ExchangeRate"] = _number(i.exchange_rate)
    if i.status is InvoiceStatus.VOID:  # as QBO shows a voided invoice: amounts zeroed, a note saying so
        for line in body["Line"]:
            line["Amount"] = 0
        body.update(TotalAmt=0, Balance=0, PrivateNote="Voided")
    return body


def _payment(world: World, host: HostRecord, p: Payment) -> dict[str, Any]:
    unapplied = p.unapplied  # (QuickBooks' figure leaves refunds out, as the record's does)
    return {
        "CustomerRef": _ref(world, "customers", p.customer_id), "DepositToAccountRef": {"value": "4"},
        "TotalAmt": _number(p.amount), "UnappliedAmt": _number(unapplied), "ProcessPayment": False,
        **_meta(host), "TxnDate": p.date.isoformat(), "CurrencyRef": _currency(p.currency), "LinkedTxn": [],
        "Line": [{"Amount": _number(a.amount),
                  "LinkedTxn": [{"TxnId": _ref(world, "invoices", a.invoice_id)["value"], "TxnType": "Invoice"}]}
                 for a in p.allocations],
    }


def _credit_memo(world: World, host: HostRecord, n: CreditNote) -> dict[str, Any]:
    remaining = n.unapplied
    return {
        "RemainingCredit": _number(remaining), **_meta(host), "DocNumber": n.number or host.qbo_id,
        "TxnDate": n.date.isoformat(), "CurrencyRef": _currency(n.currency),
        "Line": [{"Id": "1", "LineNum": 1, "Description": n.reason or "Credit", "Amount": _number(n.amount),
                  "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "2", "name": "Bad Debt"} if n.write_off
                                          else {"value": "1", "name": "Services"},
                                          "UnitPrice": _number(n.amount), "Qty": 1, "TaxCodeRef": {"value": "NON"}}},
                 {"Amount": _number(n.amount), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
        "TxnTaxDetail": {"TotalTax": 0}, "CustomerRef": _ref(world, "customers", n.customer_id),
        "TotalAmt": _number(n.amount), "ApplyTaxAfterDiscount": False, "PrintStatus": "NotSet",
        "EmailStatus": "NotSet", "Balance": _number(remaining),
    }


def application_id(credit_memo: HostRecord, invoice_id: str) -> str:
    """The Id of the zero-total Payment through which QBO applies a credit memo to one invoice."""
    return f"{9_000_000 + int(credit_memo.qbo_id) * 10 + _position(credit_memo, invoice_id)}"


def _position(credit_memo: HostRecord, invoice_id: str) -> int:
    ids = [a.invoice_id for a in credit_memo.record.allocations]  # type: ignore[union-attr]
    return ids.index(invoice_id) if invoice_id in ids else 0


def credit_applications(world: World, host: HostRecord) -> list[dict[str, Any]]:
    """How QBO records a credit memo applied to invoices: a Payment of total 0, one line taking the amount
    off the invoice and one taking it from the credit memo (`LinkedTxn` of type CreditMemo)."""
    n: CreditNote = host.record  # type: ignore[assignment]
    result = []
    for allocation in n.allocations:
        invoice = _ref(world, "invoices", allocation.invoice_id)["value"]
        result.append({
            "CustomerRef": _ref(world, "customers", n.customer_id), "DepositToAccountRef": {"value": "4"},
            "TotalAmt": 0, "UnappliedAmt": 0, "ProcessPayment": False,
            **_meta(host), "Id": application_id(host, allocation.invoice_id),
            "TxnDate": (allocation.date or n.date).isoformat(), "CurrencyRef": _currency(n.currency),
            "LinkedTxn": [],
            "Line": [{"Amount": _number(allocation.amount), "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]},
                     {"Amount": _number(allocation.amount),
                      "LinkedTxn": [{"TxnId": host.qbo_id, "TxnType": "CreditMemo"}]}],
        })
    return result


def entity_records(world: World, entity: str, hosts: list[HostRecord]) -> Iterator[Listed]:
    """The QBO records of an entity for these host records, as list items; Payment also lists credit-memo
    applications.  One at a time, so that only what the query keeps stays in memory."""
    for h in hosts:
        yield from world.listed("qbo", _kind(h), h.record.id, functools.partial(render, world, h))
    if entity == "payments":
        for h in world.live("credit_notes"):
            yield from world.listed("qbo-apply", "credit_notes", h.record.id,
                                    functools.partial(credit_applications, world, h))
