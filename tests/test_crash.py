"""A sync killed with SIGKILL at any point, then run again, gives the store an uninterrupted sync gives."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from connector.config import Workspace
from tests.conftest import dump_store, make_company, read_rows, write_rows

INVOICES = 60_000


def start_sync(workspace: Workspace) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace.config_dir),
           "CONNECTOR_DATA_DIR": str(workspace.data_dir)}
    return subprocess.Popen([sys.executable, "-m", "connector", "sync", "acme", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def sync(workspace: Workspace) -> float:
    """Run a sync to its end; how long it took, so that kills can be timed as fractions of a whole run."""
    started = time.monotonic()
    process = start_sync(workspace)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, (stdout + stderr).decode()[-2000:]
    return time.monotonic() - started


def kill_after(workspace: Workspace, ready: Callable[[], bool]) -> bool:
    """Start a sync and SIGKILL it once `ready()` holds; False if it finished first."""
    process = start_sync(workspace)
    deadline = time.monotonic() + 120
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    return True


def after(seconds: float) -> Callable[[], bool]:
    start = time.monotonic()
    return lambda: time.monotonic() - start >= seconds


def running_for(workspace: Workspace, seconds: float) -> Callable[[], bool]:
    """True once this run has been recorded as running for `seconds`.  (A fixed delay from the start is not
    enough: on a busy machine the process can take longer to start, and a kill before its run is recorded
    leaves no run behind.)"""
    store, seen = workspace.store_path("acme"), []
    before = _runs(store) if store.exists() else 0

    def ready() -> bool:
        if not seen and (_runs(store) or 0) > (before or 0):
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= seconds
    return ready


def _runs(store: Path) -> int | None:
    """How many runs the store records; None while there is no store or its writer holds it."""
    try:  # (closed at once: an open reader would keep the load from leaving WAL mode)
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM sync_runs").fetchone()[0])
    except sqlite3.Error:
        return None


def wal_larger_than(workspace: Workspace, size: int) -> Callable[[], bool]:
    """True once the store's write-ahead log grows past `size`: the merge is writing the main tables."""
    wal = workspace.data_dir / "acme" / "store.sqlite-wal"
    base = wal.stat().st_size if wal.exists() else 0
    return lambda: wal.exists() and wal.stat().st_size > base + size


def journal(workspace: Workspace) -> Path:
    """A first load writes the store's tables through a rollback journal (not the WAL): the file is there
    from the load's first write to its commit."""
    return workspace.data_dir / "acme" / "store.sqlite-journal"


def writing_for(workspace: Workspace, seconds: float) -> Callable[[], bool]:
    """True once this run's first load has been writing the store's tables for `seconds`.

    The journal a killed run leaves behind is older than this run, and is rolled back when the store is
    opened: only a journal written since counts.  (The store's file itself grows only at the commit, a
    window of some 50 ms that a busy machine can miss.)
    """
    since, seen = time.time(), []

    def ready() -> bool:
        try:
            fresh = journal(workspace).stat().st_mtime >= since
        except FileNotFoundError:
            fresh = False
        if fresh and not seen:
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= seconds
    return ready


def sync_writing(workspace: Workspace) -> tuple[float, float]:
    """A first load to its end: how long it took, and how long it wrote the store's tables (its journal
    was there), so that kills can be placed in that phase as fractions of it."""
    started = time.monotonic()
    process = start_sync(workspace)
    first = last = None
    while process.poll() is None:
        if journal(workspace).exists():
            first, last = first or time.monotonic(), time.monotonic()
        time.sleep(0.002)
    assert process.returncode == 0, process.communicate()[1].decode()[-2000:]
    assert first is not None and last is not None, "the load never wrote through a journal"
    return time.monotonic() - started, last - first


def edit_ledger(folder: Path) -> None:
    """A second version of the ledger: one invoice in 50 gone, one in 20 re-priced, one new payment."""
    header, rows = read_rows(folder / "payments.csv")
    paid = {r[header.index("invoice_id")] for r in rows}
    write_rows(folder / "payments.csv", header, rows[len(rows) // 10:])
    header, rows = read_rows(folder / "credit_notes.csv")
    paid |= {r[header.index("invoice_id")] for r in rows}
    header, rows = read_rows(folder / "invoices.csv")
    total = header.index("total")
    kept = []
    for n, row in enumerate(rows):
        if n % 50 == 0 and row[0] not in paid:
            continue
        if n % 20 == 0:
            row[total] = _double(row[total])
        kept.append(row)
    write_rows(folder / "invoices.csv", header, kept)


def _double(amount: str) -> str:
    units, _, cents = amount.partition(".")
    return f"{int(units) * 2 + int(cents or 0) * 2 // 100}.{(int(cents or 0) * 2) % 100:02d}"


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first = make_company(tmp_path_factory.mktemp("v1"), invoices=INVOICES)
    second = tmp_path_factory.mktemp("v2")
    for file in first.iterdir():
        (second / file.name).write_bytes(file.read_bytes())
    edit_ledger(second)
    return first, second


def client(tmp_path: Path, name: str, ledger: Path) -> Workspace:
    workspace = Workspace(tmp_path / name / "config", tmp_path / name / "data")
    workspace.create_client("acme", "csv", path=str(ledger), currency="GBP")
    return workspace


def point_at(workspace: Workspace, ledger: Path) -> None:
    workspace.create_client("acme", "csv", path=str(ledger), currency="GBP", force=True)


def test_sigkill_during_first_load_then_rerun_gives_the_uninterrupted_store(
        tmp_path: Path, ledgers: tuple[Path, Path]) -> None:
    first, _ = ledgers
    reference = client(tmp_path, "reference", first)
    took, writing = sync_writing(reference)
    crashed = client(tmp_path, "crashed", first)

    # Kills are placed as fractions of the reference run's phases; on a busy machine a run can write faster
    # than the reference did and finish before its late kill.  Then the kills start again on an empty
    # store, the late one earlier in the writing.
    for late in (0.8, 0.55, 0.35):
        shutil.rmtree(crashed.data_dir, ignore_errors=True)
        if (kill_after(crashed, running_for(crashed, took * 0.1))  # early: the worker still reading the files
                and kill_after(crashed, writing_for(crashed, writing * 0.3))  # while the load writes the tables
                and kill_after(crashed, writing_for(crashed, writing * late))):  # ... late in that
            break
    else:
        pytest.fail("every try's sync finished before its kills: make the load larger")
    sync(crashed)

    assert dump_store(crashed.store_path("acme")) == dump_store(reference.store_path("acme"))
    crashed_db, reference_db = (sqlite3.connect(c.store_path("acme")) for c in (crashed, reference))
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"  # indexes set aside by a first load are back
    assert crashed_db.execute(schema).fetchall() == reference_db.execute(schema).fetchall()
    outcomes = [r[0] for r in crashed_db.execute("SELECT outcome FROM sync_runs ORDER BY id")]
    assert outcomes == ["interrupted", "interrupted", "interrupted", "succeeded"]


def test_sigkill_while_applying_changes_then_rerun_gives_the_uninterrupted_store(
        tmp_path: Path, ledgers: tuple[Path, Path]) -> None:
    first, second = ledgers
    reference, crashed = client(tmp_path, "reference", first), client(tmp_path, "crashed", first)
    sync(reference)
    sync(crashed)
    point_at(reference, second)
    point_at(crashed, second)
    took = sync(reference)

    assert kill_after(crashed, wal_larger_than(crashed, 256 << 10)), "the sync finished before it could be killed"
    assert kill_after(crashed, after(took * 0.6)), "the sync finished before it could be killed"
    sync(crashed)

    expected = dump_store(reference.store_path("acme"), deleted_as_flag=True)
    assert dump_store(crashed.store_path("acme"), deleted_as_flag=True) == expected
    (deleted,) = sqlite3.connect(reference.store_path("acme")).execute(
        "SELECT COUNT(*) FROM invoices WHERE deleted_at IS NOT NULL").fetchone()
    assert deleted > 100  # the edit really deleted invoices, and the crashed store agrees on which
