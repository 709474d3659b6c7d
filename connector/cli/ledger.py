"""Commands about clients and their ledgers: init, clients, sync."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from connector.cli.common import (
    CsvOption,
    JsonOption,
    app,
    err,
    fail,
    guard,
    out,
    print_csv,
    print_json,
    print_table,
    styled,
    when,
    workspace_of,
)
from connector.clients import ClientSummary, list_clients
from connector.config import Workspace
from connector.errors import ConnectorError, UsageError
from connector.sync.runner import SyncReport, sync_client


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
        fail(UsageError(f"--host must be quickbooks, xero or csv, not '{host}'"))
    policy = workspace_of(ctx).policy_file("default")
    had_policy = policy.exists()
    file = guard(lambda: workspace_of(ctx).create_client(
        client, host, name=name, path=str(path) if path else None, timezone=timezone, currency=currency, force=force))  # type: ignore[arg-type]
    out.print(f"wrote {file}")
    if not had_policy and policy.exists():
        out.print(f"wrote {policy}: the dunning policy clients follow unless their config names another")
    next_step = "connector sync" if host == "csv" else "connector auth"
    out.print(f"next: review it, then run `{next_step} {client}`")


@app.command()
def auth(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client to connect.")],
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the consent URL.")] = False,
    port: Annotated[int, typer.Option(help="Loopback port of the redirect URI registered with the app.")] = 8765,
) -> None:
    """Connect a QuickBooks or Xero client: consent in the browser, tokens stored for the scheduled jobs."""
    from connector.adapters.authorize import authorize

    tokens = guard(lambda: authorize(workspace_of(ctx), client, port=port, open_browser=not no_browser,
                                     show=lambda url: out.print(url, soft_wrap=True, markup=False, highlight=False)))
    out.print(f"client {client} connected (company {tokens.tenant}); tokens stored in its data folder")


@app.command()
def clients(ctx: typer.Context, as_json: JsonOption = False, as_csv: CsvOption = False) -> None:
    """List clients with their host, last sync and open balance."""
    summaries = list_clients(workspace_of(ctx))
    if as_json:
        print_json({"clients": [s.as_json() for s in summaries]})
    elif as_csv:
        listed = [s.as_json() for s in summaries]
        print_csv(list(listed[0]) if listed else list(ClientSummary(client="").as_json()),
                  [["" if v is None else v for v in row.values()] for row in listed])
    else:
        table = Table("client", "name", "host", Column("last sync", no_wrap=True), Column("open balance", no_wrap=True),
                      box=None)
        for s in summaries:
            if s.error and s.name is None:  # (the config itself did not load; a policy's error keeps the row)
                table.add_row(s.client, styled("invalid config", "red"), "", "", "")
            else:
                balance = "" if s.open_balance is None else f"{s.currency} {s.open_balance:,}"
                synced = when(s.last_sync)
                if s.last_outcome not in (None, "succeeded"):  # (the one to look at: `sync` says why)
                    synced += f"; last run {s.last_outcome}"
                table.add_row(s.client, s.name, s.host, synced, balance)
        if summaries:
            print_table(table)
        else:
            out.print("no clients yet; create one with `connector init`")
    # (a policy several clients share is wrong once: its error is said once, naming the clients)
    errors: dict[str, list[str]] = {}
    for s in summaries:
        if s.error:
            errors.setdefault(s.error, []).append(s.client)
        elif s.warning:
            err.print(styled("warning:", "yellow", f" {s.warning}"))
    for error, keys in errors.items():
        err.print(styled("error:", "red", f" {', '.join(keys)}: {error}"))
    if errors:
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
    workspace = workspace_of(ctx)
    if bool(client) == all_clients:
        fail(UsageError("name one client, or pass --all"))
    keys = workspace.client_keys() if all_clients or client is None else [client]
    if not keys:
        fail(UsageError(f"no clients in {workspace.clients_dir}; create one with `connector init`"))
    reports = _run_syncs(workspace, keys, full, show_progress=not as_json and err.is_terminal)
    if as_json:
        print_json({"clients": [r.as_json() for r in reports]})
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
        out.print(report.summary())
    else:
        err.print(styled(f"{report.client}: sync failed:", "red", f" {report.error}"))


