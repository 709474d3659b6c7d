"""A client whose ledger has nothing in it yet: every report says so plainly and scripts get whole shapes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from connector.config import Workspace
from tests.conftest import cli


def empty_client(workspace: Workspace, folder: Path) -> None:
    folder.mkdir()
    (folder / "customers.csv").write_text("id,name\n")
    (folder / "invoices.csv").write_text("id,customer_id,issue_date,due_date,total\n")
    (folder / "payments.csv").write_text("id,customer_id,date,amount,invoice_id\n")
    assert cli(workspace, "init", "new", "--host", "csv", "--path", str(folder), "--currency", "GBP").exit_code == 0
    assert cli(workspace, "sync", "new").exit_code == 0


def test_reports_of_an_empty_ledger_say_there_is_nothing(workspace: Workspace, tmp_path: Path) -> None:
    empty_client(workspace, tmp_path / "ledger")
    metrics = cli(workspace, "metrics", "new", "--as-of", "2026-06-30")
    assert metrics.exit_code == 0 and "total_outstanding" in metrics.stdout
    assert metrics.stdout.split("total_outstanding")[1].split()[0] == "0.00"  # (money, not a bare 0)
    assert json.loads(cli(workspace, "metrics", "new", "--json").stdout)["total_outstanding"] == "0.00"
    plan = cli(workspace, "plan", "new", "--as-of", "2026-06-30").stdout
    assert "plan as of 2026-06-30: none" in plan and "holds: none" in plan
    assert "segments as of 2026-06-30: none" in cli(workspace, "segments", "new", "--as-of", "2026-06-30").stdout
    assert "executed actions, oldest first: none" in cli(workspace, "log", "new").stdout
    header, *rows = list(csv.reader(cli(workspace, "segments", "new", "--csv").stdout.splitlines()))
    assert rows == [] and header[:4] == ["customer_id", "name", "segment", "risk"] and "reasons" in header
