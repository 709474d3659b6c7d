"""QuickBooks' AgedReceivables report, computed from the sandbox company in the real report layout.

Parameters: `report_date` (default the company's today), `aging_period` (days, default 30), `num_periods`
(default 4) and `aging_method` (`Report_Date`, the default, ignores payments dated after the report date;
`Current` counts every payment to date).  Buckets are by days past due: `Current` (not yet due, due today
included), then `1 - 30`, `31 - 60`, …, and `91 and over`.  Amounts are in the home currency, each invoice
converted at its own rate, written as strings with two decimals, empty for zero, as QBO writes them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connector.records import Invoice, InvoiceStatus
from connector.sandbox.world import PACIFIC, World

CENT = Decimal("0.01")


def _columns(period: int, periods: int) -> list[str]:
    titles = ["Current"] + [f"{period * n + 1} - {period * (n + 1)}" for n in range(periods - 1)]
    return titles + [f"{period * (periods - 1) + 1} and over"]


def _bucket(days: int, period: int, periods: int) -> int:
    if days <= 0:
        return 0
    return min((days - 1) // period + 1, periods)


def _owed(world: World, invoice: Invoice, on: dt.date, method: str) -> Decimal:
    paid = Decimal(0)
    for entity, key, amount in world.applied.get(invoice.id, []):
        host = world.records[entity][key]
        if not host.deleted and (method == "Current" or host.record.date <= on):  # type: ignore[union-attr]
            paid += amount
    return invoice.total - paid


def aged_receivables(world: World, args: Mapping[str, str]) -> dict[str, Any]:
    """The AgedReceivables report body for the query arguments of the request."""
    on = dt.date.fromisoformat(args.get("report_date") or world.today.isoformat())
    period, periods = int(args.get("aging_period", 30)), int(args.get("num_periods", 4))
    method = args.get("aging_method", "Report_Date")
    columns = _columns(period, periods)
    by_customer: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(columns))
    for host in world.live("invoices"):
        invoice: Invoice = host.record  # type: ignore[assignment]
        if invoice.status is not InvoiceStatus.OPEN or invoice.issue_date > on:
            continue
        owed = _owed(world, invoice, on, method)
        if owed:
            home = owed * (invoice.exchange_rate or 1)
            by_customer[invoice.customer_id][_bucket((on - invoice.due_date).days, period, periods)] += \
                home.quantize(CENT, ROUND_HALF_UP)
    rows = []
    for customer_id, amounts in sorted(by_customer.items(),
                                       key=lambda kv: world.records["customers"][kv[0]].record.name.casefold()):  # type: ignore[union-attr]
        customer = world.records["customers"][customer_id]
        rows.append({"ColData": [{"value": customer.record.name, "id": customer.qbo_id},  # type: ignore[union-attr]
                                 *(_cell(a) for a in amounts), _cell(sum(amounts, Decimal(0)))]})
    totals = [sum((r[i] for r in by_customer.values()), Decimal(0)) for i in range(len(columns))]
    rows.append({"Summary": {"ColData": [{"value": "TOTAL"}, *(_cell(t) for t in totals),
                                         _cell(sum(totals, Decimal(0)))]}, "type": "Section", "group": "GrandTotal"})
    return {
        "Header": {"Time": dt.datetime.now(PACIFIC).isoformat(timespec="seconds"), "ReportName": "AgedReceivables",
                   "StartPeriod": on.isoformat(), "EndPeriod": on.isoformat(), "SummarizeColumnsBy": "Total",
                   "Currency": world.spec.home_currency,
                   "Option": [{"Name": "report_date", "Value": on.isoformat()},
                              {"Name": "NoReportData", "Value": "false" if by_customer else "true"}]},
        "Columns": {"Column": [{"ColTitle": "", "ColType": "Customer"},
                               *({"ColTitle": t, "ColType": "Money"} for t in columns),
                               {"ColTitle": "Total", "ColType": "Money"}]},
        "Rows": {"Row": rows},
    }


def _cell(amount: Decimal) -> dict[str, str]:
    return {"value": "" if amount == 0 else f"{amount.quantize(CENT)}"}
