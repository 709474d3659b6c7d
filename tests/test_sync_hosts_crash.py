"""A host sync killed with SIGKILL part-way, then run again, gives the store an uninterrupted sync gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.config import Workspace
from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.conftest import connect_host, dump_store
from tests.sandbox_auth import CLIENT_ID, SECRET


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=41, invoices=12_000, home_currency="GBP"), rate_limits="off") as server:
        yield server


def run(workspace: Workspace, key: str, kill_after: float | None = None) -> float:
    """A whole sync (returning how long it took), or one killed after `kill_after` seconds (returning its
    exit status)."""
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace.config_dir),
           "CONNECTOR_DATA_DIR": str(workspace.data_dir), "QBO_CLIENT_ID": CLIENT_ID, "QBO_CLIENT_SECRET": SECRET,
           "XERO_CLIENT_ID": CLIENT_ID, "XERO_CLIENT_SECRET": SECRET}
    process = subprocess.Popen([sys.executable, "-m", "connector", "sync", key, "--json"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        started = time.monotonic()
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors.decode()[-2000:]
        return time.monotonic() - started
    time.sleep(kill_after)
    assert process.poll() is None, "the sync finished before it could be killed: make the company larger"
    process.send_signal(signal.SIGKILL)
    process.wait()
    return process.returncode


@pytest.mark.parametrize("host", ["quickbooks", "xero"])
def test_sigkill_mid_host_sync_then_rerun(sandbox: SandboxServer, tmp_path: Path, host: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    reference = Workspace(tmp_path / "ref" / "config", tmp_path / "ref" / "data")
    crashed = Workspace(tmp_path / "crash" / "config", tmp_path / "crash" / "data")
    key = connect_host(reference, sandbox, host, monkeypatch)
    connect_host(crashed, sandbox, host, monkeypatch)
    took = run(reference, key)
    # Kill points as shares of a whole run, however fast this machine is; the same share twice, since the
    # second run starts from what the first one merged (Xero merges as it goes), so it stops elsewhere.
    for share in (0.4, 0.4):
        assert run(crashed, key, kill_after=took * share) == -signal.SIGKILL
    run(crashed, key)
    assert dump_store(crashed.store_path(key)) == dump_store(reference.store_path(key))
