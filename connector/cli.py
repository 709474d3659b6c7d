"""The `connector` command: parses what people type, calls the library, prints for people or scripts.

Exit status: 0 success; 1 the job ran and something failed; 2 bad usage or configuration (including
ledger data that failed validation).  Errors are one line (or one line per problem) on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector import __version__
from connector.clients import list_clients
from connector.config import Workspace
from connector.errors import ConnectorError, UsageError
from connector.sync.runner import SyncReport, sync_client

app = typer.Typer(help="Accounts-receivable collections for QuickBooks Online, Xero and CSV ledgers.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of text.")]


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
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


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

            def advance(done: int, expected: int | None) -> None:
                progress.update(task, completed=done, total=expected)
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
def demo(
    workdir: Annotated[Path | None, typer.Option(help="Keep the demo's files here (default: a temp folder).")] = None,
    size: Annotated[int, typer.Option(help="Invoices in the sample company.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the sample company.")] = 7,
) -> None:
    """Run the whole loop on a bundled sample company; needs no credentials and no network."""
    from connector.demo import run_demo

    _guard(lambda: run_demo(out, workdir=workdir, size=size, seed=seed))
