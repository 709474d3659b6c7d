"""Commands run while a sync holds the store: a clear word, never a traceback.

A client's first load writes through a rollback journal and holds the store until it ends (see
`Store.rollback_journal`); the reports, `clients` and the dunning commands must say so rather than fail
with SQLite's "database is locked".
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.config import Workspace
from connector.sync import store as store_module
from connector.sync.lock import client_lock
from connector.sync.store import Store
from tests.conftest import cli


@pytest.fixture
def loading(workspace: Workspace, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A client whose first sync is loading: its run recorded as running, the store in rollback-journal mode
    with the load's write lock held by another connection."""
    workspace.create_client("acme", "csv", path=str(tmp_path), currency="GBP")
    with client_lock(workspace.client_data_dir("acme"), "acme"):  # (the sync's process: this one)
        with Store(workspace.store_path("acme")) as store:
            store.start_run("csv", "full")
        load = sqlite3.connect(workspace.store_path("acme"), isolation_level=None)
        assert load.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
        load.execute("BEGIN IMMEDIATE")
        load.execute("INSERT INTO customers (id, name, active) VALUES ('C1', 'Ngata Marine', 1)")
        yield load
        if load.in_transaction:
            load.execute("ROLLBACK")
        load.close()


def test_a_report_during_a_first_load_says_to_wait_for_it(workspace: Workspace, loading: sqlite3.Connection) -> None:
    """Opening the store tried to switch it back to WAL mode, which SQLite refuses at once while the load
    holds it: `aging` and `plan` stopped with a traceback, and so did `clients`, a scheduled job's monitor."""
    for command in ("aging", "plan", "dispute"):
        result = cli(workspace, command, "acme", *(["I1", "--open", "x"] if command == "dispute" else []))
        assert result.exit_code == 2, result.output
        assert "no successful sync yet (its first sync is still running): try again when it ends" in result.output
        assert "Traceback" not in result.output
    listed = cli(workspace, "clients")
    assert listed.exit_code == 0 and "Traceback" not in listed.output and "last run running" in listed.stdout


def test_a_store_held_longer_than_the_wait_is_reported_as_busy(workspace: Workspace, loading: sqlite3.Connection,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """When the load holds the whole store (its commit, or a cache spill), readers wait for it, and a wait
    that runs out is a plain error naming the cause."""
    loading.execute("COMMIT")
    loading.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)
    result = cli(workspace, "aging", "acme")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the client's store is busy: a sync is writing it" in result.output
    listed = cli(workspace, "clients", "--json")  # (the monitor's view: the client listed, with why it is blank)
    assert listed.exit_code == 0 and "Traceback" not in listed.output
    (acme,) = json.loads(listed.stdout)["clients"]
    assert "its store is busy" in acme["warning"] and acme["open_balance"] is None


def test_a_first_sync_killed_midway_is_not_taken_for_one_still_running(workspace: Workspace, tmp_path: Path) -> None:
    """A run killed (say by the OOM killer) stays recorded as running until the next sync; reports said to wait
    for it, when nothing was running and a sync was what they needed."""
    workspace.create_client("acme", "csv", path=str(tmp_path), currency="GBP")
    with client_lock(workspace.client_data_dir("acme"), "acme"), Store(workspace.store_path("acme")) as store:
        store.start_run("csv", "full")
    (workspace.client_data_dir("acme") / "job.lock").write_text("999999999")  # (a pid no process has)
    result = cli(workspace, "aging", "acme")
    assert result.exit_code == 2
    assert ("no successful sync yet (its last sync stopped before it finished): run `connector sync acme`"
            in result.output)
    (listed,) = json.loads(cli(workspace, "clients", "--json").stdout)["clients"]
    assert listed["last_outcome"] == "interrupted"  # (as the next sync will record it)
