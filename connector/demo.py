"""`connector demo`: the loop on a bundled sample company, with no credentials and no network.

Until the QuickBooks and Xero emulators exist, the sample company is a csv ledger generated from the
sandbox's seeded company (deterministic for a seed and a date).  The demo works in its own folder, so it
never touches the user's config or data.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from connector import planning, reports
from connector.clients import list_clients
from connector.config import Workspace
from connector.errors import ConnectorError
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.csv_export import write_csv_company
from connector.sync.runner import SyncReport, sync_client
from connector.sync.store import Store

CLIENT = "demo-csv"


def run_demo(console: Console, *, workdir: Path | None = None, size: int = 2000, seed: int = 7) -> None:
    """Generate the sample company, configure it as a client, sync it twice and show what is owed."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="connector-demo-") as temp:
            _run(console, Path(temp), size, seed)
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        _run(console, workdir, size, seed)


def _run(console: Console, root: Path, size: int, seed: int) -> None:
    console.rule("connector demo")
    spec = CompanySpec(seed=seed, invoices=size, today=dt.date.today(), home_currency="GBP")
    counts = write_csv_company(generate(spec), root / "ledger")
    console.print(f"sample company (seed {seed}) written to {root / 'ledger'}: "
                  + ", ".join(f"{n:,} rows in {name}" for name, n in counts.items()))
    workspace = Workspace(root / "config", root / "data")
    file = workspace.create_client(CLIENT, "csv", name="Demo Trading Ltd", path=str(root / "ledger"),
                                   timezone="Europe/London", currency="GBP", force=True)
    console.print(f"client config written to {file}")
    for label in ("first sync", "second sync (nothing changed)"):
        _show_sync(console, label, sync_client(workspace, CLIENT))
    table = Table("client", "host", "last sync", "open balance", title="connector clients", box=None)
    for s in list_clients(workspace):
        table.add_row(s.client, s.host or "", s.last_sync or "never", f"{s.currency} {s.open_balance:,}")
    console.print(table)
    _show_balances(console, workspace)
    _show_engine(console, workspace)
    console.print("[green]demo finished[/green]")


def _show_sync(console: Console, label: str, report: SyncReport) -> None:
    if report.outcome != "succeeded":
        raise ConnectorError(f"demo sync failed: {report.error}")
    console.print(f"{label}: {report.total('new'):,} new, {report.total('updated'):,} updated, "
                  f"{report.total('deleted'):,} deleted in {report.seconds:.2f} s")


def _show_balances(console: Console, workspace: Workspace) -> None:
    table = Table("customer", "name", "owes", title="largest open balances", box=None)
    with Store(workspace.store_path(CLIENT)) as store:
        for customer_id, name, currency, owed in store.open_balances_by_customer(limit=10):
            table.add_row(customer_id, name, f"{currency} {owed:,}")
    console.print(table)


def _show_engine(console: Console, workspace: Workspace) -> None:
    aging = reports.aging(workspace, CLIENT)
    table = Table(*aging.buckets, "total", "unapplied credit", title=f"aging as of {aging.as_of} ({aging.currency})",
                  box=None)
    table.add_row(*(f"{aging.totals[b]:,}" for b in aging.buckets), f"{aging.total:,}", f"{aging.unapplied_credit:,}")
    console.print(table)
    day, figures = reports.metrics(workspace, CLIENT)
    data = figures.as_json(day)
    console.print(f"metrics {data['from']} to {data['to']}: " + ", ".join(
        f"{key} {data[key]}" for key in ("dso", "best_possible_dso", "cei", "overdue_pct", "avg_days_late")))
    plan = planning.plan(workspace, CLIENT)
    table = Table("due at (UTC)", "customer", "step", "invoices", "amount", title=f"plan: {len(plan.actions)} "
                  f"action(s), {len(plan.holds)} hold(s); the first ten", box=None)
    for action in plan.actions[:10]:
        table.add_row(f"{action.due_at:%Y-%m-%d %H:%M}", action.customer_id, action.step,
                      str(len(action.invoice_ids)), f"{action.amount:,}")
    console.print(table)
