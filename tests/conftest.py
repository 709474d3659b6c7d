"""Shared fixtures: a workspace in a temp folder, generated csv companies, the CLI, store dumps."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.config import Workspace
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.csv_export import write_csv_company

TODAY = dt.date(2026, 6, 30)
DATA_TABLES = ("customers", "invoices", "payments", "credit_notes", "allocations")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "config", tmp_path / "data")


def make_company(folder: Path, invoices: int, seed: int = 3) -> Path:
    write_csv_company(generate(CompanySpec(seed=seed, invoices=invoices, today=TODAY)), folder)
    return folder


def cli(workspace: Workspace, *args: str):
    """Run the `connector` command in-process against the workspace's folders."""
    return CliRunner().invoke(app, ["--config-dir", str(workspace.config_dir),
                                    "--data-dir", str(workspace.data_dir), *args])


def dump_store(path: Path, *, deleted_as_flag: bool = False) -> dict[str, list[tuple]]:
    """Every data row of a store, in a stable order: what "identical stores" compares.

    With `deleted_as_flag`, `deleted_at` becomes 0/1, for comparing stores that learnt of the same
    deletions at different times.
    """
    conn = sqlite3.connect(path)
    try:
        dump = {}
        for table in DATA_TABLES:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            if deleted_as_flag:
                columns = ["deleted_at IS NOT NULL" if c == "deleted_at" else c for c in columns]
            dump[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2, 3").fetchall()
        return dump
    finally:
        conn.close()


def read_rows(file: Path) -> tuple[list[str], list[list[str]]]:
    with file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write_rows(file: Path, header: list[str], rows: list[list[str]]) -> None:
    with file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
