"""What real CSV exports look like: BOMs, CRLF, quoted commas and newlines, extra columns, blank lines."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from connector.config import Workspace
from tests.conftest import cli, make_company


def test_excel_style_export_loads_and_keeps_extra_columns(workspace: Workspace, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "customers.csv").write_bytes(
        "\ufeffid,name,email,Account Manager\r\n"
        'C1,"Smith, Jones & Co","ar@smith.example",Priya\r\n'
        'C2,"Line one\r\nLine two Ltd",,\r\n'
        "\r\n".encode("utf-8"))
    (ledger / "invoices.csv").write_bytes(
        b"id,customer_id,issue_date,due_date,total,PO Number\r\n"
        b"I1,C1,2026-01-01,2026-01-31,100.00,PO-7\r\n"
        b"I2,C2,2026-01-01,2026-01-31,5.50,\r\n")
    (ledger / "payments.csv").write_text("id,customer_id,date,amount,invoice_id\r\n")
    cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger))
    result = cli(workspace, "sync", "acme", "--json")
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(workspace.store_path("acme"))
    assert conn.execute("SELECT name, raw FROM customers ORDER BY id").fetchall() == [
        ("Smith, Jones & Co", '{"Account Manager":"Priya"}'), ("Line one\r\nLine two Ltd", '{"Account Manager":""}')]
    assert conn.execute("SELECT raw FROM invoices WHERE id = 'I1'").fetchone() == ('{"PO Number":"PO-7"}',)


def test_a_line_number_after_a_quoted_newline_is_the_files_own(workspace: Workspace, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "customers.csv").write_text('id,name\nC1,"Two\nlines"\nC2,\n')
    (ledger / "invoices.csv").write_text("id,customer_id,issue_date,due_date,total\n")
    (ledger / "payments.csv").write_text("id,customer_id,date,amount\n")
    cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger))
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 2 and "customers.csv, line 4, column name: required value is empty" in result.output


def test_a_second_sync_of_the_same_client_is_refused_while_one_runs(workspace: Workspace, tmp_path: Path) -> None:
    make_company(tmp_path / "ledger", invoices=60_000)
    cli(workspace, "init", "acme", "--host", "csv", "--path", str(tmp_path / "ledger"), "--currency", "GBP")
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace.config_dir),
           "CONNECTOR_DATA_DIR": str(workspace.data_dir)}
    first = subprocess.Popen([sys.executable, "-m", "connector", "sync", "acme", "--json"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lock = workspace.data_dir / "acme" / "job.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.01)
    second = cli(workspace, "sync", "acme", "--json")
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.exit_code == 1
    (report,) = json.loads(second.stdout)["clients"]
    assert "another job is already running for client 'acme'" in report["error"]
    assert json.loads(out)["clients"][0]["outcome"] == "succeeded"
