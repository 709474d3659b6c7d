"""Collections work: plan, dispute, promise, payment-plan, log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Column, Table

from connector import planning
from connector.cli.common import (
    AsOfOption,
    CsvOption,
    JsonOption,
    app,
    err,
    fail,
    guard,
    out,
    parse_date,
    print_csv,
    print_json,
    print_table,
    styled,
    warn_about_day,
    when,
    workspace_of,
)
from connector.errors import UsageError


@app.command()
def plan(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
         as_of: AsOfOption = None,
         record: Annotated[bool, typer.Option(
             "--record", help="Record every action of this plan as executed on the as-of date.")] = False,
         as_json: JsonOption = False,
         as_csv: Annotated[bool, typer.Option("--csv", help="Print the actions as CSV, one row each.")] = False,
         ) -> None:
    """The next dunning actions and the holds; sends nothing."""
    warn_about_day(ctx, client, parse_date(as_of), ahead=False)
    result = guard(lambda: planning.plan(workspace_of(ctx), client, as_of=parse_date(as_of), record=record))
    for warning in result.warnings:
        err.print(styled("warning:", "yellow", f" {warning}"))
    if as_json:
        print_json(result.as_json())
        return
    if as_csv:  # (a collector's worklist in a spreadsheet: the holds are in the text and the JSON)
        print_csv(["due_at", "customer_id", "customer_name", "step", "kind", "channel", "invoice_numbers",
                   f"amount_{result.currency}", "reason", "key"],
                  [[a.due_at.isoformat().replace("+00:00", "Z"), a.customer_id, result.customer_name(a.customer_id),
                    a.step, a.kind, a.channel, "; ".join(map(result.invoice_number, a.invoice_ids)), a.amount,
                    a.reason, a.key] for a in result.by_name])
        return
    table = Table(Column("due at (UTC)", no_wrap=True), "customer", "step", "kind", "channel", "invoices",
                  f"amount ({result.currency})", "why", title=f"plan as of {result.as_of}", box=None)
    table.columns[6].justify = "right"
    for a in result.by_name:
        table.add_row(f"{a.due_at:%Y-%m-%d %H:%M}", result.customer_name(a.customer_id), a.step, a.kind, a.channel,
                      ", ".join(map(result.invoice_number, a.invoice_ids)), f"{a.amount:,}", a.reason)
    print_table(table)
    calls = Table("#", "customer", "kind", "step", f"amount at risk ({result.currency})", "why", box=None,
                  title="worklist: calls and escalations, the largest amount at risk first")
    calls.columns[4].justify = "right"
    for rank, a in enumerate(result.worklist, 1):
        calls.add_row(str(rank), result.customer_name(a.customer_id), a.kind, a.step, f"{a.amount:,}", a.reason)
    print_table(calls)
    holds = Table("customer", "invoices", "held because", title="holds", box=None)
    held: dict[tuple[str, str], list[str]] = {}  # (a payment plan holds many invoices for one reason: one row)
    for h in result.holds:
        held.setdefault((h.customer_id, h.reason), []).append(
            result.invoice_number(h.invoice_id) if h.invoice_id else "(all)")
    for (customer_id, reason), numbers in sorted(held.items(), key=lambda row: (
            result.customer_name(row[0][0]).casefold(), row[0][0])):  # (by name, as people look customers up)
        holds.add_row(result.customer_name(customer_id), ", ".join(numbers), reason)
    print_table(holds)
    if record:
        out.print(f"recorded {len(result.actions)} action(s) as executed on {result.as_of}")


@app.command()
def dispute(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
            invoice: Annotated[str, typer.Argument(help="The invoice: its number, or its id.")],
            open_reason: Annotated[str | None, typer.Option("--open", help="Open a dispute, with its reason.")] = None,
            resolve: Annotated[str | None, typer.Option("--resolve", help="Resolve the open dispute, with a note.")] = None,
            as_of: Annotated[str | None, typer.Option(
                "--as-of", help="Day the dispute was raised or settled (YYYY-MM-DD).",
                show_default="today in the client's time zone")] = None) -> None:
    """Open or resolve a dispute: a disputed invoice is held out of the plan from that day."""
    if (open_reason is None) == (resolve is None):
        fail(UsageError("give --open REASON or --resolve NOTE"))
    out.print(guard(lambda: planning.dispute(workspace_of(ctx), client, invoice, open_reason=open_reason,
                                              resolve_note=resolve, as_of=parse_date(as_of))))


@app.command()
def promise(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
            invoice: Annotated[str, typer.Argument(help="The invoice: its number, or its id.")],
            date: Annotated[str, typer.Option("--date", help="Date the customer promised to pay by.")],
            as_of: Annotated[str | None, typer.Option(
                "--as-of", help="Day the promise was made (YYYY-MM-DD).",
                show_default="today in the client's time zone")] = None) -> None:
    """Record a promise to pay: the invoice is held until that date."""
    out.print(guard(lambda: planning.promise(workspace_of(ctx), client, invoice, parse_date(date),  # type: ignore[arg-type]
                                             as_of=parse_date(as_of))))


@app.command(name="payment-plan")
def payment_plan(
    ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
    customer: Annotated[str, typer.Argument(help="The customer: its id, or its exact name.")],
    installment: Annotated[list[str] | None, typer.Option(
        "--installment", help="DATE=AMOUNT; repeat for each installment to create a plan.")] = None,
    invoice: Annotated[list[str] | None, typer.Option(
        "--invoice", help="An invoice the plan covers, by number or id (repeat; default: all the customer's "
                          "open invoices).")] = None,
    cancel: Annotated[int | None, typer.Option("--cancel", help="Cancel the plan with this number.")] = None,
    as_of: AsOfOption = None, as_json: JsonOption = False, as_csv: CsvOption = False,
) -> None:
    """Create (--installment), cancel (--cancel) or show a customer's installment plans."""
    installments = [_installment(text) for text in installment or []]
    customer_id, states, numbers, warnings = guard(lambda: planning.payment_plan(
        workspace_of(ctx), client, customer, installments=installments, invoices=invoice, cancel=cancel,
        as_of=parse_date(as_of)))
    rows = [{"plan_id": s.plan.plan_id, "status": s.status, "invoice_ids": list(s.plan.invoice_ids),
             "invoice_numbers": [numbers[i] for i in s.plan.invoice_ids], "currency": s.plan.currency,
             "paid": str(s.paid),
             "installments": [{"date": str(d), "amount": str(a), "status": status}
                              for (d, a), status in zip(s.plan.installments, s.installment_statuses)],
             "missed": s.missed and {"date": str(s.missed[0]), "amount": str(s.missed[1])}} for s in states]
    for warning in warnings:
        err.print(styled("warning:", "yellow", f" {warning}"))
    if as_json:
        print_json({"customer_id": customer_id, "plans": rows, "warnings": warnings})
        return
    if as_csv:  # (one row per installment, for a collector's spreadsheet of who pays what when)
        print_csv(["customer_id", "plan_id", "plan_status", "invoice_numbers", "currency", "paid", "installment_date",
                   "installment_amount", "installment_status"],
                  [[customer_id, row["plan_id"], row["status"], "; ".join(row["invoice_numbers"]), row["currency"],
                    row["paid"], i["date"], i["amount"], i["status"]] for row in rows for i in row["installments"]])
        return
    for s in states:  # (amounts grouped by thousands, as in the reports)
        out.print(f"plan #{s.plan.plan_id} ({s.status}) for invoice(s) "
                  f"{', '.join(numbers[i] for i in s.plan.invoice_ids)}: {s.plan.currency} {s.paid:,} paid; "
                  "installments " + ", ".join(f"{on} {amount:,}" for on, amount in s.plan.installments)
                  + (f"; missed the one of {s.missed[0]} ({s.missed[1]:,})" if s.missed else ""))
    if not rows:
        named = customer if customer_id == customer else f"{customer} (id {customer_id})"
        out.print(f"no payment plans for customer {named}")


def _installment(text: str) -> tuple[dt.date, Decimal]:
    on, _, amount = text.partition("=")
    try:
        return dt.date.fromisoformat(on), Decimal(amount)
    except (ValueError, ArithmeticError):
        fail(UsageError(f"--installment '{text}' is not DATE=AMOUNT (like 2026-07-01=500.00)"))


@app.command()
def log(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
        start: Annotated[str | None, typer.Option("--from", help="First day to show (YYYY-MM-DD).")] = None,
        end: Annotated[str | None, typer.Option("--to", help="Last day to show (YYYY-MM-DD).")] = None,
        customer: Annotated[str | None, typer.Option(
            "--customer", help="Only this customer (its id or exact name).")] = None,
        as_json: JsonOption = False,
        as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV of both, oldest first.")] = False) -> None:
    """The audit trail: executed actions, and every change to disputes, promises and payment plans, with who
    made it and when."""
    rows, changes = guard(lambda: planning.log(workspace_of(ctx), client, start=parse_date(start), end=parse_date(end),
                                               customer=customer))
    if as_json:
        print_json({"actions": rows, "arrangements": changes})
        return
    if as_csv:  # (one trail by day: an action's the day it was executed on, a change's the day it took effect)
        entries = [[str(r["executed_on"]), r["recorded_by"], f"executed {r['step']} ({r['kind']}, {r['channel']})",
                    r["customer_id"], r["customer_name"], "; ".join(r["invoice_numbers"]),  # type: ignore[arg-type]
                    f"{r['source']}, key {r['key']}", r["recorded_at"]] for r in rows]
        entries += [[str(c["on"]), c["by"], c["event"], c["customer_id"], c["customer_name"],
                     "; ".join(c["invoice_numbers"]), c["detail"] or "", c["at"]] for c in changes]  # type: ignore[arg-type]
        print_csv(["at", "by", "event", "customer_id", "customer_name", "invoice_numbers", "detail", "recorded_at"],
                  sorted(entries, key=lambda entry: (str(entry[0]), str(entry[-1]))))
        return
    table = Table("executed", "customer", "step", "kind", "invoices", "recorded by", "source", box=None,
                  title="executed actions, oldest first")
    for r in rows:
        table.add_row(str(r["executed_on"]), str(r["customer_name"] or r["customer_id"]), str(r["step"]),
                      str(r["kind"]), ", ".join(r["invoice_numbers"]), str(r["recorded_by"]), str(r["source"]))  # type: ignore[arg-type]
    print_table(table)
    held = Table(Column("on", no_wrap=True), "what", "customer", "invoices", "detail", "by",
                 Column("recorded", no_wrap=True), box=None, title="disputes, promises and payment plans, oldest first")
    for c in changes:
        held.add_row(str(c["on"]), str(c["event"]), str(c["customer_name"] or c["customer_id"] or ""),
                     ", ".join(c["invoice_numbers"]), str(c["detail"] or ""), str(c["by"]),  # type: ignore[arg-type]
                     when(str(c["at"])))
    print_table(held)


