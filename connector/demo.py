"""`connector demo`: the whole loop on the sandbox, with no credentials and no network.

It starts the sandbox on a free loopback port with a company dated up to today, configures the same books
three ways (a QuickBooks Online company, a Xero organisation, and a csv ledger), connects the two hosts
through the real OAuth flow (the demo plays the user's browser on the consent page), syncs all three,
shows that they agree, then runs the engine: aging, metrics and the plan.  It works in its own folder
(a temporary one unless `--workdir`), so it never touches the user's config or data.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import tempfile
import threading
from pathlib import Path

import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from connector import planning, reports
from connector.adapters.authorize import authorize
from connector.clients import list_clients
from connector.config import Workspace
from connector.errors import ConnectorError
from connector.sandbox.company import CompanySpec
from connector.sandbox.csv_export import write_csv_company
from connector.sandbox.server import DEMO_CLIENTS, SandboxServer
from connector.sync.runner import SyncReport, sync_client

CLIENTS = ("demo-qbo", "demo-xero", "demo-csv")
ID_ENV, SECRET_ENV = "CONNECTOR_DEMO_CLIENT_ID", "CONNECTOR_DEMO_CLIENT_SECRET"


def run_demo(console: Console, *, workdir: Path | None = None, size: int = 2000, seed: int = 7) -> None:
    """Run the demo in `workdir` (kept) or a temporary folder (removed)."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="connector-demo-") as temp:
            _run(console, Path(temp), size, seed)
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        _run(console, workdir, size, seed)


def _run(console: Console, root: Path, size: int, seed: int) -> None:
    console.rule("connector demo")
    spec = CompanySpec(seed=seed, invoices=size, today=dt.date.today(), home_currency="GBP")
    (client_id, secret), = DEMO_CLIENTS.items()
    os.environ[ID_ENV], os.environ[SECRET_ENV] = client_id, secret
    with SandboxServer(spec) as sandbox:
        console.print(f"sandbox on {sandbox.url}: a company of {size:,} invoices, seed {seed}, "
                      "served as QuickBooks Online and as Xero")
        workspace = Workspace(root / "config", root / "data")
        write_csv_company(sandbox.world.ledger_records(), root / "ledger")  # (the books the hosts serve)
        _configure(workspace, sandbox, root / "ledger")
        for key in CLIENTS[:2]:
            tokens = authorize(workspace, key, port=_free_port(), open_browser=False,
                               show=lambda url: _consent(console, url))
            console.print(f"{key}: connected through OAuth (company {tokens.tenant})")
        _sync(console, workspace)
        _show_clients(console, workspace)
        _show_engine(console, workspace, "demo-xero")
    console.print(Text("demo finished", style="green"))


def _configure(workspace: Workspace, sandbox: SandboxServer, ledger: Path) -> None:
    endpoints = {
        "demo-qbo": f'api_base = "{sandbox.url}/v3"\n'
                    f'discovery_url = "{sandbox.url}/.well-known/openid_sandbox_configuration"\n',
        "demo-xero": f'api_base = "{sandbox.url}/api.xro/2.0"\n'
                     f'authorize_url = "{sandbox.url}/identity/connect/authorize"\n'
                     f'token_url = "{sandbox.url}/connect/token"\nconnections_url = "{sandbox.url}/connections"\n',
    }
    names = {"demo-qbo": "quickbooks", "demo-xero": "xero"}
    for key, host in names.items():
        file = workspace.create_client(key, host, name=f"Demo Trading Ltd ({host})",  # type: ignore[arg-type]
                                       timezone="Europe/London", currency="GBP", force=True)
        text = file.read_text().replace("# [endpoints]", "# (sandbox endpoints below)")
        text = text.replace(f'"{"QBO" if host == "quickbooks" else "XERO"}_CLIENT_ID"', f'"{ID_ENV}"')
        text = text.replace(f'"{"QBO" if host == "quickbooks" else "XERO"}_CLIENT_SECRET"', f'"{SECRET_ENV}"')
        file.write_text(text + "\n[endpoints]\n" + endpoints[key])
    workspace.create_client("demo-csv", "csv", name="Demo Trading Ltd (csv)", path=str(ledger),
                            timezone="Europe/London", currency="GBP", force=True)


def _consent(console: Console, url: str) -> None:
    """Show the consent URL, then play the user's browser: open it and follow the redirect home."""
    console.print(f"consent page: {url[:90]}…", highlight=False)
    threading.Thread(target=lambda: requests.get(url, timeout=60), daemon=True).start()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sync(console: Console, workspace: Workspace) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        results: list[SyncReport] = []
        for key in CLIENTS:
            task = progress.add_task(key, total=None)

            def show(done: int, expected: int | None, phase: str, task: TaskID = task, key: str = key) -> None:
                progress.update(task, completed=done, total=expected, description=f"{key}: {phase}")

            results.append(sync_client(workspace, key, progress=show))
    for report in results:
        if report.outcome != "succeeded":
            raise ConnectorError(f"demo sync of {report.client} failed: {report.error}")
        console.print(report.summary())


def _show_clients(console: Console, workspace: Workspace) -> None:
    table = Table("client", "host", "open balance", title="connector clients: the same books, three ways", box=None)
    for s in list_clients(workspace):
        table.add_row(s.client, s.host or "", f"{s.currency} {s.open_balance:,}")
    console.print(table)


def _show_engine(console: Console, workspace: Workspace, key: str) -> None:
    aging = reports.aging(workspace, key)
    columns = (Column(name, justify="right") for name in (*aging.buckets, "total", "unapplied credit"))
    table = Table(*columns, title=f"{key}: aging as of {aging.as_of} ({aging.currency})", box=None)
    table.add_row(*(f"{aging.totals[b]:,}" for b in aging.buckets), f"{aging.total:,}", f"{aging.unapplied_credit:,}")
    console.print(table)
    day, figures = reports.metrics(workspace, key)
    data = figures.as_json(day)
    console.print(f"metrics {data['from']} to {data['to']}: " + ", ".join(
        f"{name} {getattr(figures, name)}" for name in ("dso", "best_possible_dso", "cei", "overdue_pct", "avg_days_late")))
    plan = planning.plan(workspace, key)
    # (the date and time stay on one line and names wrap at spaces: nothing is cut, as in the reports)
    due, customer = Column("due at (UTC)", no_wrap=True), Column("customer", overflow="fold")
    table = Table(due, customer, "step", Column("invoices", justify="right"),
                  Column(f"amount ({plan.currency})", justify="right"), box=None,
                  title=f"plan: {len(plan.actions)} action(s), {len(plan.holds)} hold(s); the first ten")
    for action in plan.by_name[:10]:
        table.add_row(f"{action.due_at:%Y-%m-%d %H:%M}", plan.customer_name(action.customer_id), action.step,
                      str(len(action.invoice_ids)), f"{action.amount:,}")
    console.print(table)
