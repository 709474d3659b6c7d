"""Xero's Aged Receivables By Contact report, computed from the sandbox company in Xero's row layout.

One contact's invoices open on the report `date` (default the company's today) with payments up to that
date: a header row, an opening-balance section, a section of invoice rows (date, number, due date, "N days
overdue", total, paid, credited, due) with its Total summary row, and a Closing Balance.  Amounts are
strings with two decimals in the invoice currency, as Xero writes them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from connector.records import Invoice, InvoiceStatus
from connector.sandbox import xero_json
from connector.sandbox.world import HostRecord, World

CENT = Decimal("0.01")


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT)}"


def _cells(values: list[str], invoice_id: str | None = None) -> list[dict[str, Any]]:
    attributes = [{"Value": invoice_id, "Id": "invoiceID"}] if invoice_id else None
    return [{"Value": v, **({"Attributes": attributes} if attributes else {})} for v in values]


def _row(world: World, host: HostRecord, on: dt.date) -> tuple[list[dict[str, Any]], Decimal, Decimal, Decimal]:
    invoice: Invoice = host.record  # type: ignore[assignment]
    paid = credited = Decimal(0)
    for entity, key, amount in world.applied.get(invoice.id, []):
        other = world.records[entity][key]
        if not other.deleted and other.record.date <= on:  # type: ignore[union-attr]
            if entity == "payments":
                paid += amount
            else:
                credited += amount
    late = (on - invoice.due_date).days
    values = [f"{invoice.issue_date}T00:00:00", invoice.number or host.qbo_id, f"{invoice.due_date}T00:00:00",
              f"{late} days overdue" if late > 0 else "", _money(invoice.total), _money(paid), _money(credited),
              _money(invoice.total - paid - credited)]
    return _cells(values, host.xero_id), paid, credited, invoice.total - paid - credited


def aged_receivables_by_contact(world: World, contact_id: str, on: dt.date | None) -> dict[str, Any] | None:
    """The report body, or None when no contact has that id."""
    contact = next((h for h in world.live("customers") if h.xero_id.lower() == contact_id.lower()), None)
    if contact is None:
        return None
    on = on or world.today
    rows, totals = [], [Decimal(0)] * 4
    for host in sorted(world.live("invoices"), key=lambda h: (h.record.issue_date, h.record.id)):  # type: ignore[union-attr]
        invoice: Invoice = host.record  # type: ignore[assignment]
        if invoice.customer_id != contact.record.id or invoice.status is not InvoiceStatus.OPEN or invoice.issue_date > on:
            continue
        cells, paid, credited, due = _row(world, host, on)
        if due:
            rows.append({"RowType": "Row", "Cells": cells})
            totals = [t + v for t, v in zip(totals, (invoice.total, paid, credited, due), strict=True)]
    total_cells = _cells(["Total", "", "", "", *map(_money, totals)])
    closing = _cells(["Closing Balance", "", "", "", *map(_money, totals)])
    name = contact.record.name  # type: ignore[union-attr]
    return {
        "Id": xero_json.payment_id(world, "report", contact.record.id), "Status": "OK",
        "ProviderName": "connector sandbox", "DateTimeUTC": xero_json.ms_date(dt.datetime.now(dt.UTC)),
        "Reports": [{
            "ReportName": "Aged Receivables By Contact", "ReportType": "AgedReceivablesByContact",
            "ReportTitles": ["Invoices", name, f"Showing payments to {on:%d %B %Y}"],
            "ReportDate": f"{on:%d %B %Y}", "UpdatedDateUTC": xero_json.ms_date(world.now), "Fields": [],
            "Rows": [
                {"RowType": "Header", "Cells": _cells(["Date", "Number", "Due Date", "", "Total", "Paid",
                                                       "Credited", "Due"])},
                {"RowType": "Section", "Title": "", "Rows": [
                    {"RowType": "Row", "Cells": _cells([f"{on}T00:00:00", "Opening Balance", "", "", "", "", "",
                                                        "0.00"])}]},
                {"RowType": "Section", "Title": "", "Rows": [*rows, {"RowType": "SummaryRow", "Cells": total_cells}]},
                {"RowType": "Section", "Title": "", "Rows": [{"RowType": "SummaryRow", "Cells": closing}]},
            ]}],
    }
