"""The `connector` command: parses what people type, calls the library, prints for people or scripts.

Exit status: 0 success; 1 the job ran and something failed; 2 bad usage or configuration (including
ledger data that failed validation).  Errors are one line (or one line per problem) on stderr.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector import __version__, planning, reports
from connector.clients import list_clients
from connector.config import Workspace
from connector.engine.aging import AgingReport
from connector.engine.aging import as_json as aging_json
from connector.errors import ConnectorError, UsageError
from connector.sync.runner import SyncReport, sync_client

app = typer.Typer(help="Accounts-receivable collections for QuickBooks Online, Xero and CSV ledgers.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of text.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV (one row per line of the table).")]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Date (YYYY-MM-DD) to report as of [default: today in the client's time zone].")]


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(UsageError(f"'{text}' is not a date as YYYY-MM-DD"))


def _workspace(ctx: typer.Context) -> Workspace:
    return ctx.obj  # type: ignore[no-any-return]


def _fail(exc: ConnectorError) -> NoReturn:
    err.print(f"[red]error:[/red] {exc}", markup=True)
    raise typer.Exit(exc.exit_status)


def _guard(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except ConnectorError as exc:
        _fail(exc)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


@app.callback()
def main(
    ctx: typer.Context,
    config_dir: Annotated[Path | None, typer.Option(
        "--config-dir", envvar="CONNECTOR_CONFIG_DIR", help="Folder of clients/ and policies/ (default ./config).")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", envvar="CONNECTOR_DATA_DIR", help="Folder of the clients' stores (default ./data).")] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Sync a client's receivables, work out what is owed and who to chase, and write it back."""
    if version:
        out.print(f"connector {__version__}")
        raise typer.Exit(0)
    ctx.obj = Workspace.from_env(config_dir, data_dir)


@app.command()
def init(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client's short name, used on the command line.")],
    host: Annotated[str, typer.Option("--host", help="quickbooks | xero | csv")],
    name: Annotated[str | None, typer.Option(help="The client's display name.")] = None,
    path: Annotated[Path | None, typer.Option(help="csv only: the folder of the client's CSV files.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the client.")] = "UTC",
    currency: Annotated[str, typer.Option(help="Home currency of the client.")] = "USD",
    force: Annotated[bool, typer.Option(help="Overwrite an existing config file.")] = False,
) -> None:
    """Write config/clients/CLIENT.toml from a commented template."""
    if host not in ("quickbooks", "xero", "csv"):
        _fail(UsageError(f"--host must be quickbooks, xero or csv, not '{host}'"))
    folder = str(path.resolve()) if path else None
    file = _guard(lambda: _workspace(ctx).create_client(
        client, host, name=name, path=folder, timezone=timezone, currency=currency, force=force))  # type: ignore[arg-type]
    out.print(f"wrote {file}")
    next_step = "connector sync" if host == "csv" else "connector auth"
    out.print(f"next: review it, then run `{next_step} {client}`")


@app.command()
def clients(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List clients with their host, last sync and open balance."""
    summaries = list_clients(_workspace(ctx))
    if as_json:
        _print_json({"clients": [s.as_json() for s in summaries]})
    else:
        table = Table("client", "name", "host", "last sync", "open balance", box=None)
        for s in summaries:
            if s.error:
                table.add_row(s.client, "[red]invalid config[/red]", "", "", "")
            else:
                balance = "" if s.open_balance is None else f"{s.currency} {s.open_balance:,}"
                table.add_row(s.client, s.name, s.host, s.last_sync or "never", balance)
        out.print(table if summaries else "no clients yet; create one with `connector init`")
    for s in summaries:
        if s.error:
            err.print(f"[red]error:[/red] {s.error}")
    if any(s.error for s in summaries):
        raise typer.Exit(2)


@app.command()
def sync(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Argument(help="The client to sync.")] = None,
    all_clients: Annotated[bool, typer.Option("--all", help="Sync every configured client.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Re-read everything, not just what changed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Pull changes from the ledger into the client's store."""
    workspace = _workspace(ctx)
    if bool(client) == all_clients:
        _fail(UsageError("name one client, or pass --all"))
    keys = workspace.client_keys() if all_clients else [client]
    if not keys:
        _fail(UsageError(f"no clients in {workspace.clients_dir}; create one with `connector init`"))
    reports = _run_syncs(workspace, keys, full, show_progress=not as_json and err.is_terminal)
    if as_json:
        _print_json({"clients": [r.as_json() for r in reports]})
    else:
        for report in reports:
            _print_report(report)
    failed = [r for r in reports if r.outcome != "succeeded"]
    if failed:
        raise typer.Exit(failed[0].exit_status if not all_clients else 1)


def _run_syncs(workspace: Workspace, keys: list[str], full: bool, show_progress: bool) -> list[SyncReport]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, disable=not show_progress, transient=True) as progress:
        def one(key: str) -> SyncReport:
            task = progress.add_task(key, total=None)

            def advance(done: int, expected: int | None, phase: str) -> None:
                progress.update(task, completed=done, total=expected, description=f"{key}: {phase}")
            try:
                return sync_client(workspace, key, full=full, progress=advance)
            except ConnectorError as exc:
                return SyncReport(client=key, host="?", outcome="failed", error=str(exc),
                                  exit_status=exc.exit_status)
        with ThreadPoolExecutor(max_workers=min(4, len(keys))) as pool:
            return list(pool.map(one, keys))


def _print_report(report: SyncReport) -> None:
    if report.outcome == "succeeded":
        out.print(f"{report.client}: {report.total('new'):,} new, {report.total('updated'):,} updated, "
                  f"{report.total('deleted'):,} deleted, {report.total('unchanged'):,} unchanged "
                  f"in {report.seconds:.1f} s")
    else:
        err.print(f"[red]{report.client}: sync failed:[/red] {report.error}")


@app.command()
def aging(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client.")],
    as_of: AsOfOption = None,
    by: Annotated[str, typer.Option("--by", help="customer | invoice")] = "customer",
    basis: Annotated[str | None, typer.Option(help="due_date | invoice_date [default: the client's config].")] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The receivables aging: open balances by days past due, in the home currency."""
    if by not in ("customer", "invoice"):
        _fail(UsageError(f"--by must be customer or invoice, not '{by}'"))
    if basis not in (None, "due_date", "invoice_date"):
        _fail(UsageError(f"--basis must be due_date or invoice_date, not '{basis}'"))
    report = _guard(lambda: reports.aging(_workspace(ctx), client, as_of=_as_of(as_of), by=by, basis=basis))  # type: ignore[arg-type]
    if as_json:
        _print_json(aging_json(report))
    elif as_csv:
        _print_aging_csv(report)
    else:
        _print_aging(report)


def _aging_rows(report: AgingReport) -> tuple[list[str], list[list[str]]]:
    by_invoice = bool(report.lines and report.lines[0].invoice_id)
    head = ["customer_id", "name", *(["invoice_id", "number", "due_date", "days_past_due"] if by_invoice else [])]
    tail = ["total"] if by_invoice else ["total", "unapplied_credit"]
    rows = []
    for line in report.lines:
        lead = [line.customer_id, line.name]
        if by_invoice:
            lead += [line.invoice_id or "", line.number or "", str(line.due_date), str(line.days)]
        rest = [str(line.total)] if by_invoice else [str(line.total), str(line.unapplied_credit)]
        rows.append([*lead, *(str(line.amounts[b]) for b in report.buckets), *rest])
    return [*head, *report.buckets, *tail], rows


def _print_aging_csv(report: AgingReport) -> None:
    header, rows = _aging_rows(report)
    writer = csv.writer(sys.stdout)
    writer.writerow(header)
    writer.writerows(rows)


def _print_aging(report: AgingReport) -> None:
    header, rows = _aging_rows(report)
    table = Table(*header, title=f"aging as of {report.as_of} ({report.currency})", box=None)
    for column in table.columns[len(header) - len(report.buckets) - (2 if "unapplied_credit" in header else 1):]:
        column.justify = "right"
    for row in rows:
        table.add_row(*row)
    blanks = [""] * (len(header) - len(report.buckets) - (2 if "unapplied_credit" in header else 1) - 1)
    credit = [str(report.unapplied_credit)] if "unapplied_credit" in header else []
    table.add_row("[b]total[/b]", *blanks, *(str(report.totals[b]) for b in report.buckets), str(report.total),
                  *credit)
    out.print(table)


@app.command()
def metrics(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client.")],
    as_of: AsOfOption = None,
    start: Annotated[str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")] = None,
    as_json: JsonOption = False,
) -> None:
    """DSO, CEI and the other collection metrics for a period (default: the 90 days to the as-of date)."""
    day, result = _guard(lambda: reports.metrics(_workspace(ctx), client, as_of=_as_of(as_of),
                                                 start=_as_of(start), end=_as_of(end)))
    data = result.as_json(day)
    if as_json:
        _print_json(data)
        return
    table = Table("metric", "value", title=f"metrics {data['from']} to {data['to']}", box=None)
    for name, value in data.items():
        if name not in ("as_of", "from", "to"):
            table.add_row(name, "n/a" if value is None else str(value))
    out.print(table)


@app.command()
def allowance(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
              as_of: AsOfOption = None, as_json: JsonOption = False) -> None:
    """The allowance for doubtful accounts by the aging method, for the month-end close."""
    result = _guard(lambda: reports.allowance(_workspace(ctx), client, as_of=_as_of(as_of)))
    if as_json:
        _print_json(result.as_json())
        return
    table = Table("bucket", "balance", "rate %", "allowance", title=f"allowance as of {result.as_of} "
                  f"({result.currency}, rounded {result.rounding.replace('_', ' ')})", box=None)
    for line in result.lines:
        table.add_row(line.bucket, f"{line.balance:,}", str(line.rate), f"{line.allowance:,}")
    table.add_row("[b]total[/b]", "", "", f"{result.total:,}")
    out.print(table)


@app.command()
def segments(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
             as_of: AsOfOption = None, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """Each customer's payment-behaviour segment and risk score, and why."""
    day, rows = _guard(lambda: reports.segments(_workspace(ctx), client, as_of=_as_of(as_of)))
    data = [row.as_json() for row in rows]
    if as_json:
        _print_json({"as_of": str(day), "customers": data})
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(list(data[0]) if data else ["customer_id"])
        writer.writerows([["; ".join(v) if isinstance(v, list) else v for v in row.values()] for row in data])
    else:
        table = Table("customer", "name", "segment", "risk", "owes", "why", title=f"segments as of {day}", box=None)
        for row in rows:
            table.add_row(row.customer_id, row.name, row.segment, str(row.risk), f"{row.open_balance:,}",
                          "; ".join(row.reasons))
        out.print(table)


@app.command()
def forecast(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
             as_of: AsOfOption = None,
             weeks: Annotated[int, typer.Option(min=1, max=104, help="Weeks to forecast.")] = 13,
             as_json: JsonOption = False) -> None:
    """Expected cash by week, from each customer's own payment history."""
    result = _guard(lambda: reports.forecast(_workspace(ctx), client, as_of=_as_of(as_of), weeks=weeks))
    if as_json:
        _print_json(result.as_json())
        return
    table = Table("week", "from", "to", "expected", title=f"expected cash ({result.currency})", box=None)
    for n, (start, end, amount) in enumerate(result.weeks, 1):
        table.add_row(str(n), str(start), str(end), f"{amount:,}")
    table.add_row("later", "", "", f"{result.later:,}")
    table.add_row("doubtful", "", "", f"{result.doubtful:,}")
    out.print(table)


@app.command()
def plan(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
         as_of: AsOfOption = None,
         record: Annotated[bool, typer.Option(
             "--record", help="Record every action of this plan as executed on the as-of date.")] = False,
         as_json: JsonOption = False) -> None:
    """The next dunning actions and the holds; sends nothing."""
    result = _guard(lambda: planning.plan(_workspace(ctx), client, as_of=_as_of(as_of), record=record))
    if as_json:
        _print_json(result.as_json())
        return
    table = Table("due at (UTC)", "customer", "step", "kind", "channel", "invoices", "amount", "why",
                  title=f"plan as of {result.as_of}", box=None)
    for a in result.actions:
        table.add_row(f"{a.due_at:%Y-%m-%d %H:%M}", a.customer_id, a.step, a.kind, a.channel,
                      ", ".join(a.invoice_ids), f"{a.amount:,}", a.reason)
    out.print(table)
    holds = Table("customer", "invoice", "held because", title="holds", box=None)
    for h in result.holds:
        holds.add_row(h.customer_id, h.invoice_id or "(all)", h.reason)
    out.print(holds)
    if record:
        out.print(f"recorded {len(result.actions)} action(s) as executed on {result.as_of}")


@app.command()
def dispute(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
            invoice: Annotated[str, typer.Argument(help="The invoice id.")],
            open_reason: Annotated[str | None, typer.Option("--open", help="Open a dispute, with its reason.")] = None,
            resolve: Annotated[str | None, typer.Option("--resolve", help="Resolve the open dispute, with a note.")] = None,
            ) -> None:
    """Open or resolve a dispute: a disputed invoice is held out of the plan."""
    if (open_reason is None) == (resolve is None):
        _fail(UsageError("give --open REASON or --resolve NOTE"))
    out.print(_guard(lambda: planning.dispute(_workspace(ctx), client, invoice, open_reason=open_reason,
                                              resolve_note=resolve)))


@app.command()
def promise(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
            invoice: Annotated[str, typer.Argument(help="The invoice id.")],
            date: Annotated[str, typer.Option("--date", help="Date the customer promised to pay by.")]) -> None:
    """Record a promise to pay: the invoice is held until that date."""
    out.print(_guard(lambda: planning.promise(_workspace(ctx), client, invoice, _as_of(date))))  # type: ignore[arg-type]


@app.command(name="payment-plan")
def payment_plan(
    ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
    customer: Annotated[str, typer.Argument(help="The customer id.")],
    installment: Annotated[list[str] | None, typer.Option(
        "--installment", help="DATE=AMOUNT; repeat for each installment to create a plan.")] = None,
    invoice: Annotated[list[str] | None, typer.Option(
        "--invoice", help="An invoice the plan covers (repeat; default: all the customer's open invoices).")] = None,
    cancel: Annotated[int | None, typer.Option("--cancel", help="Cancel the plan with this number.")] = None,
    as_of: AsOfOption = None, as_json: JsonOption = False,
) -> None:
    """Create (--installment), cancel (--cancel) or show a customer's installment plans."""
    installments = [_installment(text) for text in installment or []]
    states = _guard(lambda: planning.payment_plan(_workspace(ctx), client, customer, installments=installments,
                                                  invoices=invoice, cancel=cancel, as_of=_as_of(as_of)))
    rows = [{"plan_id": s.plan.plan_id, "status": s.status, "invoice_ids": list(s.plan.invoice_ids),
             "currency": s.plan.currency, "paid": str(s.paid),
             "installments": [{"date": str(d), "amount": str(a)} for d, a in s.plan.installments],
             "missed": s.missed and {"date": str(s.missed[0]), "amount": str(s.missed[1])}} for s in states]
    if as_json:
        _print_json({"customer_id": customer, "plans": rows})
        return
    for row in rows:
        out.print(f"plan #{row['plan_id']} ({row['status']}): {row['currency']} {row['paid']} paid; "
                  + ", ".join(f"{i['date']} {i['amount']}" for i in row["installments"]))  # type: ignore[union-attr]
    if not rows:
        out.print(f"no payment plans for customer {customer}")


def _installment(text: str) -> tuple[dt.date, Decimal]:
    on, _, amount = text.partition("=")
    try:
        return dt.date.fromisoformat(on), Decimal(amount)
    except (ValueError, ArithmeticError):
        _fail(UsageError(f"--installment '{text}' is not DATE=AMOUNT (like 2026-07-01=500.00)"))


@app.command()
def log(ctx: typer.Context, client: Annotated[str, typer.Argument(help="The client.")],
        as_json: JsonOption = False) -> None:
    """The audit trail of executed actions: what, for whom, when, recorded by whom."""
    rows = _guard(lambda: planning.log(_workspace(ctx), client))
    if as_json:
        _print_json({"actions": rows})
        return
    table = Table("executed", "customer", "step", "kind", "invoices", "recorded by", "source", box=None)
    for r in rows:
        table.add_row(str(r["executed_on"]), str(r["customer_id"]), str(r["step"]), str(r["kind"]),
                      str(r["invoice_ids"]), str(r["recorded_by"]), str(r["source"]))
    out.print(table)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Loopback port to listen on (0 picks a free one).")] = 8700,
    seed: Annotated[int, typer.Option(help="Seed of the generated company.")] = 1,
    size: Annotated[int, typer.Option(help="Invoices in the company.")] = 2000,
) -> None:
    """Run the local QuickBooks Online and Xero emulator in the foreground (Ctrl-C stops it)."""
    from connector.sandbox.company import CompanySpec
    from connector.sandbox.server import DEMO_CLIENTS, SandboxServer

    server = SandboxServer(CompanySpec(seed=seed, invoices=size), port=port)
    (client_id, secret), = DEMO_CLIENTS.items()
    config = server.app.config
    out.print(f"sandbox on {server.url}\n  QuickBooks: discovery {server.url}/.well-known/openid_sandbox_configuration,"
              f" API {server.url}/v3, realm {config['REALM']}\n  Xero: API {server.url}/api.xro/2.0,"
              f" tokens {server.url}/connect/token, tenant {config['TENANT']}\n  OAuth client: {client_id} / {secret}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.print("sandbox stopped")


@app.command()
def demo(
    workdir: Annotated[Path | None, typer.Option(help="Keep the demo's files here (default: a temp folder).")] = None,
    size: Annotated[int, typer.Option(help="Invoices in the sample company.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the sample company.")] = 7,
) -> None:
    """Run the whole loop on a bundled sample company; needs no credentials and no network."""
    from connector.demo import run_demo

    _guard(lambda: run_demo(out, workdir=workdir, size=size, seed=seed))
