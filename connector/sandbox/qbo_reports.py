"""QuickBooks' AgedReceivables and AgedReceivableDetail reports, computed from the sandbox company in the
real report layouts.

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
    rows: list[dict[str, Any]] = []
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


def _detail_titles(period: int, periods: int) -> list[str]:
    titles = ["Current"] + [f"{period * n + 1} - {period * (n + 1)} days past due" for n in range(periods - 1)]
    return titles + [f"{period * (periods - 1) + 1} or more days past due"]


def aged_receivable_detail(world: World, args: Mapping[str, str]) -> dict[str, Any]:
    """The AgedReceivableDetail report: one section per bucket, one row per open invoice, with totals."""
    on = dt.date.fromisoformat(args.get("report_date") or world.today.isoformat())
    period, periods = int(args.get("aging_period", 30)), int(args.get("num_periods", 4))
    method = args.get("aging_method", "Report_Date")
    sections: list[list[tuple[Decimal, Decimal, dict[str, Any]]]] = [[] for _ in range(periods + 1)]
    for host in sorted(world.live("invoices"), key=lambda h: (h.record.due_date, h.record.id)):  # type: ignore[union-attr]
        invoice: Invoice = host.record  # type: ignore[assignment]
        if invoice.status is not InvoiceStatus.OPEN or invoice.issue_date > on:
            continue
        owed = _owed(world, invoice, on, method)
        if not owed:
            continue
        rate = invoice.exchange_rate or 1
        amount, open_balance = (invoice.total * rate).quantize(CENT, ROUND_HALF_UP), (owed * rate).quantize(CENT, ROUND_HALF_UP)
        customer = world.records["customers"][invoice.customer_id]
        row = {"ColData": [{"value": invoice.issue_date.isoformat()}, {"value": "Invoice", "id": host.qbo_id},
                           {"value": invoice.number or host.qbo_id},
                           {"value": customer.record.name, "id": customer.qbo_id},  # type: ignore[union-attr]
                           {"value": invoice.due_date.isoformat()}, {"value": f"{amount}"},
                           {"value": f"{open_balance}"}], "type": "Data"}
        sections[_bucket((on - invoice.due_date).days, period, periods)].append((amount, open_balance, row))
    rows, grand = [], [Decimal(0), Decimal(0)]
    for title, entries in zip(_detail_titles(period, periods), sections, strict=True):
        if not entries:
            continue
        amount, balance = sum((e[0] for e in entries), Decimal(0)), sum((e[1] for e in entries), Decimal(0))
        grand = [grand[0] + amount, grand[1] + balance]
        rows.append({"Header": {"ColData": [{"value": title}, *({"value": ""} for _ in range(6))]},
                     "Rows": {"Row": [e[2] for e in entries]},
                     "Summary": {"ColData": [{"value": f"Total for {title}"}, *({"value": ""} for _ in range(4)),
                                             {"value": f"{amount}"}, {"value": f"{balance}"}]}, "type": "Section"})
    rows.append({"Summary": {"ColData": [{"value": "TOTAL"}, *({"value": ""} for _ in range(4)),
                                         {"value": f"{grand[0]}"}, {"value": f"{grand[1]}"}]},
                 "type": "Section", "group": "GrandTotal"})
    columns = [("Date", "tx_date"), ("Transaction Type", "txn_type"), ("Num", "doc_num"), ("Customer", "cust_name"),
               ("Due Date", "due_date"), ("Amount", "subt_amount"), ("Open Balance", "subt_open_bal")]
    return {
        "Header": {"Time": dt.datetime.now(PACIFIC).isoformat(timespec="seconds"),
                   "ReportName": "AgedReceivableDetail", "StartPeriod": on.isoformat(), "EndPeriod": on.isoformat(),
                   "Currency": world.spec.home_currency,
                   "Option": [{"Name": "report_date", "Value": on.isoformat()},
                              {"Name": "NoReportData", "Value": "false" if len(rows) > 1 else "true"}]},
        "Columns": {"Column": [{"ColTitle": t, "ColType": c} for t, c in columns]},
        "Rows": {"Row": rows},
    }
