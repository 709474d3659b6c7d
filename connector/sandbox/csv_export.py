"""Write a generated company as a csv ledger folder (the format of the README's "The csv host")."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from connector.records import CreditNote, Customer, Invoice, Payment

HEADERS = {
    "customers.csv": ["id", "name", "email", "currency", "timezone", "country"],
    "invoices.csv": ["id", "customer_id", "issue_date", "due_date", "total", "number", "currency", "status",
                     "exchange_rate"],
    "payments.csv": ["id", "customer_id", "date", "amount", "invoice_id", "currency"],
    "credit_notes.csv": ["id", "customer_id", "date", "amount", "invoice_id", "reason", "currency"],
    "refunds.csv": ["payment_id", "credit_note_id", "date", "amount"],
}


def write_csv_company(records: Iterable[Customer | Invoice | Payment | CreditNote], folder: Path) -> dict[str, int]:
    """Write the records into `folder`, returning the number of data rows written per file."""
    folder.mkdir(parents=True, exist_ok=True)
    handles = {name: (folder / name).open("w", encoding="utf-8", newline="") for name in HEADERS}
    writers = {name: csv.writer(handle) for name, handle in handles.items()}
    counts = dict.fromkeys(HEADERS, 0)
    try:
        for name, header in HEADERS.items():
            writers[name].writerow(header)
        for record in records:
            for name, row in _rows(record):
                writers[name].writerow(row)
                counts[name] += 1
    finally:
        for handle in handles.values():
            handle.close()
    return counts


def _rows(record: Customer | Invoice | Payment | CreditNote) -> list[tuple[str, list[object]]]:
    if isinstance(record, Customer):
        return [("customers.csv", [record.id, record.name, record.email or "", record.currency or "",
                                   record.timezone or "", record.country or ""])]
    if isinstance(record, Invoice):
        return [("invoices.csv", [record.id, record.customer_id, record.issue_date, record.due_date,
                                  record.total, record.number or "", record.currency, record.status.value,
                                  record.exchange_rate or ""])]
    name = "payments.csv" if isinstance(record, Payment) else "credit_notes.csv"
    extra = [] if isinstance(record, Payment) else [record.reason or ""]
    rows = [(name, [record.id, record.customer_id, record.date, a.amount, a.invoice_id, *extra, record.currency])
            for a in record.allocations]
    refunded = sum((refund.amount for refund in record.refunds), Decimal(0))
    unapplied = record.unapplied + refunded  # (what was left on account, refunded later or not)
    if unapplied:
        rows.append((name, [record.id, record.customer_id, record.date, unapplied, "", *extra, record.currency]))
    names = [record.id, ""] if isinstance(record, Payment) else ["", record.id]
    rows += [("refunds.csv", [*names, refund.date, refund.amount]) for refund in record.refunds]
    return rows
