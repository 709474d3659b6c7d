"""`connector auth` end to end against the sandbox: consent URL, loopback redirect, state, code exchange,
tokens stored, and the realm or tenant written into the client's config."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from connector.adapters import authorize as authorize_module
from connector.adapters.authorize import authorize
from connector.adapters.tokens import TokenStore
from connector.config import Workspace
from connector.errors import AuthError
from connector.sandbox.company import CompanySpec
from connector.sandbox.server import SandboxServer
from tests.conftest import cli
from tests.sandbox_auth import CLIENT_ID, SECRET


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(CompanySpec(seed=15, invoices=60), rate_limits="off") as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configure(workspace: Workspace, sandbox: SandboxServer, host: str) -> None:
    workspace.create_client("acme", host)  # type: ignore[arg-type]
    file = workspace.client_file("acme")
    text = file.read_text()
    if host == "quickbooks":
        extra = f'\n[endpoints]\ndiscovery_url = "{sandbox.url}/.well-known/openid_sandbox_configuration"\n'
        text = text.replace("# [endpoints]", "# endpoints", 1)
    else:
        extra = (f'\n[endpoints]\nauthorize_url = "{sandbox.url}/identity/connect/authorize"\n'
                 f'token_url = "{sandbox.url}/connect/token"\nconnections_url = "{sandbox.url}/connections"\n')
        text = text.replace("# [endpoints]", "# endpoints", 1)
    file.write_text(text + extra)


@pytest.mark.parametrize("host", ["quickbooks", "xero"])
def test_auth_connects_a_client_through_the_consent_redirect(workspace: Workspace, sandbox: SandboxServer,
                                                              host: str) -> None:
    configure(workspace, sandbox, host)
    prefix = "QBO" if host == "quickbooks" else "XERO"
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace.config_dir),
           "CONNECTOR_DATA_DIR": str(workspace.data_dir), f"{prefix}_CLIENT_ID": CLIENT_ID,
           f"{prefix}_CLIENT_SECRET": SECRET, "COLUMNS": "80"}
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "connector", "auth", "acme", "--no-browser", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()  # type: ignore[union-attr]
    assert url.startswith(sandbox.url) and "state=" in url  # the consent URL, on a line of its own
    page = requests.get(url, timeout=30)  # the user consents; the browser follows the redirect home
    assert page.status_code == 200 and "authorised" in page.text
    out, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    config = workspace.load_client("acme")
    company = config.realm_id if host == "quickbooks" else config.tenant_id
    assert company == (sandbox.app.config["REALM"] if host == "quickbooks" else sandbox.app.config["TENANT"])
    tokens = TokenStore(workspace.client_data_dir("acme"), "acme", host).load()
    assert tokens is not None and tokens.tenant == company
    assert tokens.access_token not in out + errors  # tokens never printed
    assert "# " in workspace.client_file("acme").read_text()  # the file kept its comments


def test_auth_without_the_credentials_names_the_variable(workspace: Workspace, sandbox: SandboxServer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    configure(workspace, sandbox, "xero")
    monkeypatch.delenv("XERO_CLIENT_ID", raising=False)
    result = cli(workspace, "auth", "acme", "--no-browser")
    assert result.exit_code == 2 and "XERO_CLIENT_ID is not set" in result.output


def test_auth_of_a_csv_client_is_a_usage_error(workspace: Workspace, tmp_path: Path) -> None:
    workspace.create_client("books", "csv", path=str(tmp_path))
    file = workspace.client_file("books")
    file.write_text(file.read_text() + '\n[credentials]\nclient_id_env = "A"\nclient_secret_env = "B"\n')
    result = cli(workspace, "auth", "books", "--no-browser")
    assert result.exit_code == 2 and json.dumps("needs no authorisation")[1:-1] in result.output


@pytest.mark.parametrize("host", ["quickbooks", "xero"])
def test_a_browser_faster_than_the_listening_thread_still_finds_the_listener(
        workspace: Workspace, sandbox: SandboxServer, host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The consent page redirects home at once, and a browser (or the demo, which plays one) can get there
    before the thread that answers has started: here that thread starts half a second late.  The listener
    is bound before the URL is shown, so the redirect waits in its queue instead of being refused (the demo
    once failed so, one run in many, with "connection refused" and then a misleading state error)."""
    class LateThread(threading.Thread):
        def run(self) -> None:
            time.sleep(0.5)
            super().run()

    monkeypatch.setattr(authorize_module, "threading", SimpleNamespace(Thread=LateThread))
    configure(workspace, sandbox, host)
    prefix = "QBO" if host == "quickbooks" else "XERO"
    monkeypatch.setenv(f"{prefix}_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv(f"{prefix}_CLIENT_SECRET", SECRET)
    pages: list[requests.Response] = []
    tokens = authorize(workspace, "acme", port=free_port(), open_browser=False, timeout=20,
                       show=lambda url: pages.append(requests.get(url, timeout=20)))
    assert pages[0].status_code == 200 and "authorised" in pages[0].text
    assert tokens.tenant


def test_auth_says_when_its_port_is_taken_or_no_answer_comes(workspace: Workspace, sandbox: SandboxServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    configure(workspace, sandbox, "xero")
    monkeypatch.setenv("XERO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("XERO_CLIENT_SECRET", SECRET)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AuthError, match=f"127.0.0.1:{port}.*another --port"):
            authorize(workspace, "acme", port=port, open_browser=False, show=lambda url: None)
    with pytest.raises(AuthError, match="no answer from the consent page within 1 s"):
        authorize(workspace, "acme", port=free_port(), open_browser=False, show=lambda url: None, timeout=1)
    assert TokenStore(workspace.client_data_dir("acme"), "acme", "xero").load() is None


def test_auth_with_the_host_unreachable_says_so_without_a_traceback(workspace: Workspace, sandbox: SandboxServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The discovery document is fetched through the host policy: retried, then a one-line error (it was a
    raw ConnectionError traceback)."""
    configure(workspace, sandbox, "quickbooks")
    closed = f"http://127.0.0.1:{free_port()}/.well-known/openid_sandbox_configuration"
    file = workspace.client_file("acme")
    file.write_text(file.read_text().replace(f"{sandbox.url}/.well-known/openid_sandbox_configuration", closed))
    monkeypatch.setattr(authorize_module, "HostPolicy",
                        functools.partial(authorize_module.HostPolicy, sleep=lambda _: None))  # (no waits)
    monkeypatch.setenv("QBO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("QBO_CLIENT_SECRET", SECRET)
    result = cli(workspace, "auth", "acme", "--no-browser", "--port", str(free_port()))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # (not a traceback)
    assert f"GET {closed}: still failing after 6 tries (ConnectionError)" in result.output
