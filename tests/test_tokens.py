"""Token storage and refresh: atomic, private, one refresh at a time, and no refresh token ever lost."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from connector.adapters.tokens import Tokens, TokenStore, refresher
from connector.errors import AuthError
from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.sandbox_auth import CLIENT_ID, SECRET, code_flow


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=14, invoices=60), rate_limits="off") as server:
        yield server


def connected(sandbox: SandboxServer, folder: Path, host: str = "xero") -> TokenStore:
    store = TokenStore(folder, "acme", host)
    body = code_flow(sandbox, "xero" if host == "xero" else "qbo")
    store.save(Tokens.from_response(body, host, time.time()))
    return store


def refresh_for(sandbox: SandboxServer, host: str = "xero"):  # type: ignore[no-untyped-def]
    url = sandbox.url + ("/connect/token" if host == "xero" else "/oauth2/v1/tokens/bearer")
    return refresher(requests.Session(), url, CLIENT_ID, SECRET, host, "acme")


def expire_access_tokens(sandbox: SandboxServer, store: TokenStore) -> None:
    requests.post(f"{sandbox.url}/_sandbox/oauth", json={"expire_access_tokens": True}, timeout=10)
    tokens = store.load()
    assert tokens is not None
    store.save(replace(tokens, access_expires_at=0))


def token_calls(sandbox: SandboxServer) -> int:
    return sum(1 for r in requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()
               if r["path"] == "/connect/token" and r["method"] == "POST")


def test_the_token_file_is_private_and_tokens_never_print(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = connected(sandbox, tmp_path)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    tokens = store.load()
    assert tokens is not None and tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)


def test_a_crash_while_writing_leaves_the_previous_tokens(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = connected(sandbox, tmp_path)
    before = store.load()
    store.path.with_suffix(".json.tmp").write_text('{"access_tok')  # a write that never got renamed
    assert store.load() == before


def _refresh_in_child(folder: str, url: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = TokenStore(Path(folder), "acme", "xero")
    tokens = store.fresh(refresher(requests.Session(), url, CLIENT_ID, SECRET, "xero", "acme"))
    queue.put(tokens.access_token)


def test_concurrent_processes_refresh_once_and_share_the_result(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = connected(sandbox, tmp_path)
    expire_access_tokens(sandbox, store)
    before = token_calls(sandbox)
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    children = [multiprocessing.get_context("fork").Process(
        target=_refresh_in_child, args=(str(tmp_path), f"{sandbox.url}/connect/token", queue)) for _ in range(4)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
    results = {queue.get(timeout=5) for _ in children}
    assert len(results) == 1 and token_calls(sandbox) - before == 1


def test_a_crash_between_the_hosts_answer_and_the_save_loses_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = connected(sandbox, tmp_path)
    old = store.load()
    assert old is not None
    refresh_for(sandbox)(old.refresh_token)  # the host rotated, and the process died before saving
    expire_access_tokens(sandbox, store)
    fresh = store.fresh(refresh_for(sandbox))  # the old refresh token still works within the grace period
    assert fresh.refresh_token != old.refresh_token and store.load() == fresh


@pytest.mark.parametrize("host", ["xero", "quickbooks"])
def test_fifty_runs_across_rotations_end_with_a_working_connection(sandbox: SandboxServer, tmp_path: Path,
                                                                   host: str) -> None:
    store = connected(sandbox, tmp_path, host)
    seen = set()
    for _ in range(50):
        expire_access_tokens(sandbox, store)
        seen.add(store.fresh(refresh_for(sandbox, host)).refresh_token)
    assert len(seen) == 50
    tokens = store.load()
    assert tokens is not None
    if host == "xero":
        answer = requests.get(f"{sandbox.url}/api.xro/2.0/Contacts", timeout=10, headers={
            "Authorization": f"Bearer {tokens.access_token}", "xero-tenant-id": sandbox.app.config["TENANT"]})
    else:
        answer = requests.get(f"{sandbox.url}/v3/company/9130357766900456/query", timeout=10,
                              params={"query": "SELECT COUNT(*) FROM Invoice"},
                              headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert answer.status_code == 200


def test_a_dead_refresh_token_says_reconnect(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = connected(sandbox, tmp_path)
    old = store.load()
    assert old is not None
    refresh_for(sandbox)(old.refresh_token)  # rotated away and never saved...
    requests.post(f"{sandbox.url}/_sandbox/oauth", json={"advance_seconds": 3600}, timeout=10)  # ...past the grace
    expire_access_tokens(sandbox, store)
    with pytest.raises(AuthError, match="reconnect with `connector auth acme`") as caught:
        store.fresh(refresh_for(sandbox))
    assert old.refresh_token not in str(caught.value)


def test_expiry_warning_for_the_refresh_token_and_the_qbo_five_year_cap(tmp_path: Path) -> None:
    now = [1_000_000_000.0]
    store = TokenStore(tmp_path, "acme", "quickbooks", clock=lambda: now[0])
    store.save(Tokens("a", "r", now[0] + 3600, now[0] + 100 * 86400, first_issued_at=now[0] - 5 * 365 * 86400 + 5 * 86400))
    assert "expires in 5 day(s)" in (store.expiry_warning() or "")
    store.save(Tokens("a", "r", now[0] + 3600, now[0] + 100 * 86400, first_issued_at=now[0]))
    assert store.expiry_warning() is None
    assert json.loads(store.path.read_text())["refresh_token"] == "r"


def test_clients_warns_about_unconnected_and_expiring_connections(tmp_path: Path) -> None:
    from connector.config import Workspace
    from tests.conftest import cli

    workspace = Workspace(tmp_path / "config", tmp_path / "data")
    workspace.create_client("qbo", "quickbooks")
    workspace.create_client("xer", "xero")
    store = TokenStore(workspace.client_data_dir("xer"), "xer", "xero")
    now = time.time()
    store.save(Tokens("a", "r", now + 1800, now + 3 * 86400, first_issued_at=now - 57 * 86400))
    result = cli(workspace, "clients", "--json")
    assert result.exit_code == 0
    warnings = {c["client"]: c["warning"] for c in json.loads(result.stdout)["clients"]}
    assert "not connected: run `connector auth qbo`" in warnings["qbo"]
    assert "expires in 3 day(s)" in warnings["xer"]
