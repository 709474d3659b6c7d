"""A reader run in a worker process: what it yields arrives whole, its errors arrive as they were raised."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from connector.adapters import csv as csv_host
from connector.adapters.worker import WorkerDied, iterate_in_worker
from connector.config import Workspace
from connector.errors import InvalidLedgerData, Problem
from connector.sync.rows import Prepared
from tests.conftest import cli, dump_store, make_company, read_rows, write_rows


def numbers(count: int) -> Iterator[tuple[int, str]]:
    yield from ((n, f"row {n}") for n in range(count))


def refuse(after: int) -> Iterator[int]:
    yield from range(after)
    raise InvalidLedgerData([Problem("invoices.csv", 7, "total", "'x' is not a plain decimal amount")])


def die(after: int) -> Iterator[int]:
    yield from range(after)
    os.kill(os.getpid(), signal.SIGKILL)
    yield -1  # never reached


class _NeedsAResponse(Exception):
    """Like intuit-oauth's AuthClientError: pickles, but its constructor wants what it was made from."""

    def __init__(self, response: object) -> None:
        super().__init__(f"HTTP status {response.status}")  # type: ignore[attr-defined]


def raise_unportable() -> Iterator[int]:
    yield 1
    raise _NeedsAResponse(type("Response", (), {"status": 503})())


def pid_then_wait() -> Iterator[int]:
    for _ in range(20):  # enough to fill the first sends
        yield os.getpid()
    signal.pause()  # blocks until the parent stops it
    yield -1


def test_items_arrive_whole_and_in_order() -> None:
    assert list(iterate_in_worker("tests.test_worker:numbers", 1000)) == list(numbers(1000))


def prepared_rows() -> Iterator[Prepared]:
    yield Prepared("invoices", [("I1", "C1", None, 2, "O'Brien", "invoices.csv:2")],
                   [("payments", "P1", "I1", "2026-01-01", 500, "payments.csv:2")], (("raw", None), ("kind", "payment")))
    yield Prepared("customers", [("C1", Decimal("1.5"))], [])  # not a value marshal knows: pickled as usual


def test_prepared_rows_arrive_exactly_as_sent() -> None:
    """Prepared rows travel as one marshal blob each (or pickled as usual when marshal cannot take them)."""
    assert list(iterate_in_worker("tests.test_worker:prepared_rows")) == list(prepared_rows())


def test_the_readers_own_error_is_raised_in_the_parent_with_its_problems() -> None:
    seen: list[int] = []
    with pytest.raises(InvalidLedgerData) as raised:
        seen.extend(iterate_in_worker("tests.test_worker:refuse", 20))
    assert seen == list(range(20))
    assert raised.value.problems == [Problem("invoices.csv", 7, "total", "'x' is not a plain decimal amount")]
    assert "invoices.csv, line 7" in str(raised.value)


def test_a_worker_killed_midway_is_an_error_not_a_short_read() -> None:
    with pytest.raises(WorkerDied, match="ended unexpectedly"):
        list(iterate_in_worker("tests.test_worker:die", 3))


def test_stopping_early_stops_the_worker() -> None:
    items = iterate_in_worker("tests.test_worker:pid_then_wait")
    pid = next(items)
    items.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


_PARENT_SCRIPT = """
import sys, time
from connector.adapters.worker import iterate_in_worker
items = iterate_in_worker("tests.test_worker:pid_then_wait")
print(next(items), flush=True)
time.sleep(60)
"""


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, and not a zombie nobody has reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_a_worker_whose_parent_is_killed_ends_too() -> None:
    """A sync killed with SIGKILL (the OOM killer, a timer's stop) must not leave its reader running on: an
    orphan reading a host would go on spending its rate limit and could rotate its refresh token."""
    parent = subprocess.Popen([sys.executable, "-c", _PARENT_SCRIPT], stdout=subprocess.PIPE,
                              cwd=Path(__file__).parent.parent)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    assert _running(worker)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _running(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)  # (not left behind by the test either)
    assert not alive, "the worker went on after its parent was killed"


def test_a_large_folder_read_in_a_worker_gives_the_store_of_one_read_in_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_company(tmp_path / "ledger", invoices=2_000)
    stores = []
    for name, threshold in (("inproc", 10**9), ("worker", 10)):
        monkeypatch.setattr(csv_host, "WORKER_ROWS", threshold)
        workspace = Workspace(tmp_path / name / "config", tmp_path / name / "data")
        workspace.create_client("acme", "csv", path=str(folder), currency="GBP")
        assert cli(workspace, "sync", "acme").exit_code == 0
        stores.append(dump_store(workspace.store_path("acme")))
    assert stores[0] == stores[1] and len(stores[0]["invoices"]) == 2_000


def test_a_bad_row_read_in_a_worker_is_reported_with_file_line_and_column(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_host, "WORKER_ROWS", 10)
    folder = make_company(tmp_path / "ledger", invoices=500)
    header, rows = read_rows(folder / "invoices.csv")
    rows[99][header.index("total")] = "12,50"
    write_rows(folder / "invoices.csv", header, rows)
    workspace = Workspace(tmp_path / "config", tmp_path / "data")
    workspace.create_client("acme", "csv", path=str(folder), currency="GBP")
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 2
    assert "invoices.csv, line 101, column total: '12,50' is not a plain decimal amount" in result.output


def test_a_duplicate_id_met_while_a_first_load_is_still_reading_is_reported_with_its_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first load writes straight into the store, whose keys refuse a duplicate id while the reader
    process is still sending; that reader is stopped, the ledger read again through staging, and the
    problem reported with both lines."""
    monkeypatch.setattr(csv_host, "WORKER_ROWS", 10)
    folder = make_company(tmp_path / "ledger", invoices=12_000)  # (the first 5,000 are written while it reads on)
    header, rows = read_rows(folder / "invoices.csv")
    rows[1_200][0] = rows[200][0]
    write_rows(folder / "invoices.csv", header, rows)
    workspace = Workspace(tmp_path / "config", tmp_path / "data")
    workspace.create_client("acme", "csv", path=str(folder), currency="GBP")
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 2, result.output
    assert f"invoices.csv, line 1202, column id: duplicate id '{rows[200][0]}' (first at line 202)" in result.output
    assert all(table == [] for table in dump_store(workspace.store_path("acme")).values())


def read_then_die(folder: Path, home: str, columnwise: bool) -> Iterator[object]:
    for count, item in enumerate(csv_host.read_folder(folder, home, columnwise)):
        if count == 2:  # customers and invoices read, payments not
            os.kill(os.getpid(), signal.SIGKILL)
        yield item


def test_a_reader_process_that_dies_fails_the_run_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_company(tmp_path / "ledger", invoices=1_000)
    workspace = Workspace(tmp_path / "config", tmp_path / "data")
    workspace.create_client("acme", "csv", path=str(folder), currency="GBP")
    monkeypatch.setattr(csv_host, "WORKER_ROWS", 10**9)
    assert cli(workspace, "sync", "acme").exit_code == 0
    before = dump_store(workspace.store_path("acme"))
    header, rows = read_rows(folder / "invoices.csv")
    rows[-1][header.index("total")] = "999999.99"  # a change the dying run must not half-apply
    write_rows(folder / "invoices.csv", header, rows)

    real = csv_host.iterate_in_worker
    monkeypatch.setattr(csv_host, "WORKER_ROWS", 10)
    monkeypatch.setattr(csv_host, "iterate_in_worker",
                        lambda target, *args: real("tests.test_worker:read_then_die", *args))
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 1, result.output
    assert "reader process ended unexpectedly" in result.output
    assert dump_store(workspace.store_path("acme")) == before


def test_an_error_that_cannot_make_the_trip_arrives_as_a_plain_error_naming_it() -> None:
    with pytest.raises(RuntimeError) as raised:
        list(iterate_in_worker("tests.test_worker:raise_unportable"))
    assert str(raised.value) == "tests.test_worker._NeedsAResponse in the reader process: HTTP status 503"
