"""Read-only reports: aging, metrics, allowance, segments, forecast."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from connector import reports
from connector.cli.common import (
    AsOfOption,
    CsvOption,
    JsonOption,
    app,
    fail,
    guard,
    out,
    parse_date,
    print_csv,
    print_json,
    print_table,
    styled,
    warn_about_day,
    workspace_of,
)
from connector.engine.aging import AgingReport
from connector.engine.aging import as_json as aging_json
from connector.engine.segments import CustomerSegment
from connector.errors import UsageError


@app.command()
def aging(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client.")],
    as_of: AsOfOption = None,
    by: Annotated[str, typer.Option("--by", help="customer | invoice")] = "customer",
    basis: Annotated[str | None, typer.Option(
        help="due_date | invoice_date", show_default="the client's config")] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The receivables aging: open balances by days past due, in the home currency."""
    if by not in ("customer", "invoice"):
        fail(UsageError(f"--by must be customer or invoice, not '{by}'"))
    if basis not in (None, "due_date", "invoice_date"):
        fail(UsageError(f"--basis must be due_date or invoice_date, not '{basis}'"))
    warn_about_day(ctx, client, parse_date(as_of))
    report = guard(lambda: reports.aging(workspace_of(ctx), client, as_of=parse_date(as_of), by=by, basis=basis))  # type: ignore[arg-type]
    if as_json:
        print_json(aging_json(report))
    elif as_csv:
        _print_aging_csv(report)
    else:
        _print_aging(report)


def _aging_rows(report: AgingReport, money: Callable[[Decimal], str] = str) -> tuple[list[str], list[list[str]]]:
    """The header and the lines, amounts written by `money` (plain for CSV, with thousands separators for people)."""
    by_invoice = bool(report.lines and report.lines[0].invoice_id)
    head = ["customer_id", "name", *(["invoice_id", "number", "due_date", "days_past_due"] if by_invoice else [])]
    tail = ["total"] if by_invoice else ["total", "unapplied_credit"]
    rows = []
    for line in report.lines:
        lead = [line.customer_id, line.name]
        if by_invoice:
            lead += [line.invoice_id or "", line.number or "", str(line.due_date), str(line.days)]
        credit = line.unapplied_credit if line.unapplied_credit is not None else Decimal(0)
        rest = [money(line.total)] if by_invoice else [money(line.total), money(credit)]
        rows.append([*lead, *(money(line.amounts[b]) for b in report.buckets), *rest])
    return [*head, *report.buckets, *tail], rows


def _separated(amount: Decimal) -> str:
    return f"{amount:,}"


def _print_aging_csv(report: AgingReport) -> None:
    header, rows = _aging_rows(report)
    by_invoice = "invoice_id" in header  # (what is in dispute: an invoice's reason, or a customer's amount)
    extra = [(line.dispute or "") if by_invoice else str(line.disputed) for line in report.lines]
    print_csv([*header, "dispute" if by_invoice else "disputed"], [[*row, more] for row, more in zip(rows, extra)])


def _print_aging(report: AgingReport) -> None:
    header, rows = _aging_rows(report, _separated)
    table = Table(*header, title=f"aging as of {report.as_of} ({report.currency})", box=None)
    for column in table.columns[len(header) - len(report.buckets) - (2 if "unapplied_credit" in header else 1):]:
        column.justify = "right"
    if "days_past_due" in header:
        table.columns[header.index("days_past_due")].justify = "right"
    for row in rows:
        table.add_row(*row)
    blanks = [""] * (len(header) - len(report.buckets) - (2 if "unapplied_credit" in header else 1) - 1)
    credit = [_separated(report.unapplied_credit)] if "unapplied_credit" in header else []
    table.add_row(styled("total", "bold"), *blanks, *(_separated(report.totals[b]) for b in report.buckets),
                  _separated(report.total), *credit)
    print_table(table)
    if set(report.by_currency) - {report.currency}:
        # A multi-currency ledger: what is owed in each invoice currency, before conversion (the figure the
        # customer's statement and a currency hedge start from).
        native = Table("currency", *report.buckets, "total", box=None,
                       title="by invoice currency (amounts in that currency, not converted)")
        for column in native.columns[1:]:
            column.justify = "right"
        for currency, amounts in sorted(report.by_currency.items()):
            native.add_row(currency, *(_separated(amounts[b]) for b in [*report.buckets, "total"]))
        print_table(native)
    if report.disputed:
        disputing = sum(1 for line in report.lines if line.disputed or line.dispute)
        out.print(f"in dispute: {report.currency} {report.disputed:,} of the total ("
                  f"{disputing} {'invoice(s)' if report.lines[0].invoice_id else 'customer(s)'}; "
                  "`connector plan` holds them)")


@app.command()
def metrics(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client.")],
    as_of: AsOfOption = None,
    start: Annotated[str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """DSO, CEI and the other collection metrics for a period (default: the 90 days to the as-of date)."""
    warn_about_day(ctx, client, parse_date(end or as_of))
    day, result = guard(lambda: reports.metrics(workspace_of(ctx), client, as_of=parse_date(as_of),
                                                 start=parse_date(start), end=parse_date(end)))
    data = result.as_json(day)
    if as_json:
        print_json(data)
        return
    if as_csv:  # (a figure not worked out, for want of data, is an empty cell)
        print_csv(["metric", "value"], [[name, "" if (value := getattr(result, name)) is None else str(value)]
                                        for name in data if name not in ("as_of", "from", "to")])
        return
    currency = workspace_of(ctx).load_client(client).home_currency
    table = Table("metric", "value", "", title=f"metrics {data['from']} to {data['to']}", box=None)
    table.columns[1].justify = "right"
    for name in data:
        if name == "total_outstanding":
            table.add_row(name, f"{result.total_outstanding:,}", currency)
        elif name not in ("as_of", "from", "to"):  # (the Decimal, not JSON's number: 34.70 rather than 34.7)
            figure = getattr(result, name)
            table.add_row(name, "n/a" if figure is None else f"{figure:,}", "" if figure is None else _UNITS[name])
    print_table(table)


# What each metric is measured in (the README's "Metrics"): the text says it beside the figure.
_UNITS = {"overdue_pct": "%", "dso": "days", "dso_countback": "days", "best_possible_dso": "days", "add": "days",
          "cei": "%", "collection_rate": "%", "bad_debt_ratio": "%", "avg_days_to_pay": "days",
          "avg_days_to_pay_weighted": "days", "avg_days_late": "days", "pct_paid_late": "%"}


@app.command()
def allowance(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
              as_of: AsOfOption = None, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """The allowance for doubtful accounts by the aging method, for the month-end close."""
    warn_about_day(ctx, client, parse_date(as_of))
    result = guard(lambda: reports.allowance(workspace_of(ctx), client, as_of=parse_date(as_of)))
    if as_json:
        print_json(result.as_json())
        return
    if as_csv:
        print_csv(["bucket", "balance", "rate_pct", "allowance"],
                  [*([line.bucket, line.balance, line.rate, line.allowance] for line in result.lines),
                   ["total", "", "", result.total]])
        return
    table = Table("bucket", "balance", "rate %", "allowance", title=f"allowance as of {result.as_of} "
                  f"({result.currency}, rounded {result.rounding.replace('_', ' ')})", box=None)
    for column in table.columns[1:]:
        column.justify = "right"
    for line in result.lines:
        table.add_row(line.bucket, f"{line.balance:,}", str(line.rate), f"{line.allowance:,}")
    table.add_row(styled("total", "bold"), "", "", f"{result.total:,}")
    print_table(table)


@app.command()
def segments(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
             as_of: AsOfOption = None, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Each customer's payment-behaviour segment and risk score, and why."""
    warn_about_day(ctx, client, parse_date(as_of))
    day, rows = guard(lambda: reports.segments(workspace_of(ctx), client, as_of=parse_date(as_of)))
    data = [row.as_json() for row in rows]
    if as_json:
        print_json({"as_of": str(day), "customers": data})
    elif as_csv:
        print_csv([f.name for f in fields(CustomerSegment)],
                  [["; ".join(v) if isinstance(v, list) else v for v in row.values()] for row in data])
    else:
        home = workspace_of(ctx).load_client(client).home_currency
        table = Table("customer", "name", "segment", "risk", f"owes ({home})", "why", title=f"segments as of {day}",
                      box=None)
        table.columns[3].justify = table.columns[4].justify = "right"
        for row in rows:
            table.add_row(row.customer_id, row.name, row.segment, str(row.risk), f"{row.open_balance:,}",
                          "; ".join(row.reasons))
        print_table(table)


@app.command()
def forecast(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
             as_of: AsOfOption = None,
             weeks: Annotated[int, typer.Option(min=1, max=104, help="Weeks to forecast.")] = 13,
             as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Expected cash by week, from each customer's own payment history."""
    warn_about_day(ctx, client, parse_date(as_of))
    result = guard(lambda: reports.forecast(workspace_of(ctx), client, as_of=parse_date(as_of), weeks=weeks))
    if as_json:
        print_json(result.as_json())
        return
    if as_csv:
        print_csv(["week", "from", "to", "expected"],
                  [*([n, start, end, amount] for n, (start, end, amount) in enumerate(result.weeks, 1)),
                   ["later", "", "", result.later], ["doubtful", "", "", result.doubtful],
                   ["disputed", "", "", result.disputed]])
        return
    table = Table("week", "from", "to", "expected", title=f"expected cash ({result.currency})", box=None)
    table.columns[3].justify = "right"
    for n, (start, end, amount) in enumerate(result.weeks, 1):
        table.add_row(str(n), str(start), str(end), f"{amount:,}")
    table.add_row("later", "", "", f"{result.later:,}")
    table.add_row("doubtful", "", "", f"{result.doubtful:,}")
    table.add_row("disputed", "", "", f"{result.disputed:,}")
    print_table(table)


