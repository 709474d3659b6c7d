"""The `connector` command: parses what people type, calls the library, prints for people or scripts.

This package holds the shared options and error handling; the commands live in one module per concern
(ledger, analysis, dunning, tools), each registering on the same Typer `app`.

Exit status: 0 success; 1 the job ran and something failed; 2 bad usage or configuration (including
ledger data that failed validation).  Errors are one line (or one line per problem) on stderr.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector import __version__, reports
from connector.config import Workspace
from connector.errors import ConnectorError, StoreBusy, UsageError
from connector.sync.store import is_busy

app = typer.Typer(help="Accounts-receivable collections for QuickBooks Online, Xero and CSV ledgers.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
# No markup: what is printed carries ledger data (customer names, invoice numbers, reasons people typed), and
# rich would take a "[b]" in a name for a style and a "[/x]" for a tag to close (an error).  Our own
# emphasis is built as `Text` with a style.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def styled(label: str, style: str, rest: str = "") -> Text:
    """`label` in `style`, then `rest` as it is: an error or warning line, a total row's first cell."""
    return Text.assemble((label, style), rest)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of text.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV (one row per line of the table).")]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Date (YYYY-MM-DD) to report as of.", show_default="today in the client's time zone")]


def parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(UsageError(f"'{text}' is not a date as YYYY-MM-DD"))


def when(instant: str | None) -> str:
    """A stored UTC instant as people read it, to the minute ("2026-11-29 06:31 UTC"); a date stays a date."""
    if instant is None:
        return "never"
    if "T" not in instant:
        return instant
    return f"{dt.datetime.fromisoformat(instant).astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def warn_about_day(ctx: typer.Context, client: str, day: dt.date | None, *, ahead: bool = True) -> None:
    """Say on stderr when a report's day makes it read as fact what is not: a day after the client's today
    (what is paid from now on is not in it; `ahead=False` for the plan, which looks ahead on purpose), or a
    day before its first invoice (nothing was owed yet: the empty report says so only by being empty)."""
    if day is None:
        return
    config = guard(lambda: workspace_of(ctx).load_client(client))
    today = reports.today_for(config)
    if ahead and day > today:
        err.print(styled("warning:", "yellow", f" {day} is after today ({today} in {config.timezone}): what is "
                                               "paid from now on is not in it"))
    first = guard(lambda: reports.first_issued(workspace_of(ctx), config))  # (the config read once, above)
    if first is not None and day < first:
        err.print(styled("warning:", "yellow", f" {day} is before the client's first invoice (issued {first}): "
                                               "nothing was owed yet"))


def workspace_of(ctx: typer.Context) -> Workspace:
    return ctx.obj  # type: ignore[no-any-return]


def fail(exc: ConnectorError) -> NoReturn:
    err.print(styled("error:", "red", f" {exc}"))
    raise typer.Exit(exc.exit_status)


def guard(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except ConnectorError as exc:
        fail(exc)
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise
        fail(StoreBusy("the client's store is busy: a sync is writing it (a client's first load holds it to "
                       "itself until it ends); nothing was read or written: try again when it ends"))


# A table of more rows than this is printed as plain aligned text: rich lays a table out cell by cell, about
# a millisecond a row, so the aging of 56,631 customers took 46 s to print (plain: about a second).
PLAIN_TABLE_ROWS = 500
# In plain text, a column of names or lists is as wide as this at most: the rare longer cell (an action for
# forty invoices) runs into the rest of its own line rather than widening every line of the table.
PLAIN_TEXT_WIDTH = 40


def print_table(table: Table) -> None:
    """Print a report's table for people: laid out by rich when small and when it fits the terminal, as plain
    aligned columns otherwise (no wrapping: long lines stay whole, for `less -S` or a wide terminal).

    Nothing is ever cut: rich, squeezed, shortens what does not fit to "1,125.…" or "2026-11…", a figure or
    date nobody can read.  Each column keeps at least its longest word (a `no_wrap` column, such as a date
    and time, its longest cell), so only names and reasons wrap (at spaces); a table that cannot fit so is
    printed plain."""
    if table.row_count == 0:  # (a header over nothing reads like a fault: say there is nothing)
        out.print(Text.assemble(_plain(table.title) + ": " if table.title else "", ("none", "italic")))
        return
    columns = [[_plain(column.header), *(_plain(cell) for cell in column.cells)] for column in table.columns]
    if table.row_count <= PLAIN_TABLE_ROWS:
        words = [max((cell_len(part) for cell in cells for part in ([cell] if column.no_wrap else cell.split())),
                     default=0) for column, cells in zip(table.columns, columns)]
        if sum(words) + 2 * len(words) <= out.width:  # (each column is padded by a space either side)
            for column, width in zip(table.columns, words):
                column.min_width = width
            out.print(table)
            return
    right = [column.justify == "right" for column in table.columns]
    widths = [max(map(cell_len, cells)) if flush else max(cell_len(cells[0]), min(max(map(cell_len, cells)),
                                                                                 PLAIN_TEXT_WIDTH))
              for cells, flush in zip(columns, right)]
    lines = [_plain(table.title)] if table.title else []
    for row in zip(*columns):
        lines.append("  ".join(cell.rjust(width) if flush else cell + " " * max(0, width - cell_len(cell))
                               for cell, width, flush in zip(row, widths, right)).rstrip())
    sys.stdout.write("\n".join(lines) + "\n")


def _plain(cell: object) -> str:
    """A cell's text without its style (a bold total row's, say)."""
    return cell.plain if isinstance(cell, Text) else str(cell)


def print_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """CSV for spreadsheets: the header, then a row per line of the table, amounts as plain decimals."""
    writer = csv.writer(sys.stdout)
    writer.writerow(header)
    writer.writerows(rows)


def print_json(data: Any) -> None:
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


