"""The QuickBooks and Xero adapters on real recorded payloads, replayed by vcrpy (tests/cassettes)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
import vcr

from connector.adapters.tokens import Tokens, TokenStore
from connector.config import Workspace
from connector.sync import runner
from connector.sync.runner import sync_client

CASSETTES = Path(__file__).parent / "cassettes"
REPLAY = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                 match_on=["method", "scheme", "host", "port", "path", "query"])


def connected(workspace: Workspace, host: str, company: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(runner, "HOSTS_IN_WORKER", False)  # the cassette replays in this process only
    prefix = "QBO" if host == "quickbooks" else "XERO"
    monkeypatch.setenv(f"{prefix}_CLIENT_ID", "cassette-client")
    monkeypatch.setenv(f"{prefix}_CLIENT_SECRET", "cassette-secret")
    key = "real"
    workspace.create_client(key, host, currency="USD" if host == "quickbooks" else "NZD")  # type: ignore[arg-type]
    file = workspace.client_file(key)
    field = "realm_id" if host == "quickbooks" else "tenant_id"
    file.write_text(file.read_text().replace(f'host = "{host}"', f'host = "{host}"\n{field} = "{company}"'))
    now = time.time()
    TokenStore(workspace.client_data_dir(key), key, host).save(
        Tokens("cassette-access", "cassette-refresh", now + 3600, now + 86400 * 90, now, company))
    return key


def test_quickbooks_sandbox_records_sync_with_their_links(workspace: Workspace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = connected(workspace, "quickbooks", "9130355377388596", monkeypatch)
    with REPLAY.use_cassette("qbo_full_sync.yaml", allow_playback_repeats=False) as cassette:
        report = sync_client(workspace, key)
    assert report.outcome == "succeeded", report.error
    assert cassette.all_played and report.api_calls == 4  # one page per entity
    assert {e: c.new for e, c in report.counts.items()} == {"customers": 5, "invoices": 5, "payments": 5,
                                                           "credit_notes": 1}
    conn = sqlite3.connect(workspace.store_path(key))
    balances = dict(conn.execute("SELECT number, balance FROM invoices").fetchall())
    hosts = dict(conn.execute("SELECT number, host_balance FROM invoices").fetchall())
    assert balances["1031"] == hosts["1031"] == 0  # payment 128 (387.00) settles invoice 96 (1031)
    assert conn.execute("SELECT amount FROM allocations WHERE source_id = '128' AND invoice_id = '96'").fetchone() == (38700,)
    for number in ("1035", "1036", "1037"):
        assert balances[number] == hosts[number] > 0  # open, as QuickBooks says
    # invoice 1004 is paid by payments the recording does not hold: our balance keeps what we can see, and the
    # host's own balance is kept beside it for reconciliation
    assert (balances["1004"], hosts["1004"]) == (69400, 0)
    raw = json.loads(conn.execute("SELECT raw FROM invoices WHERE number = '1035'").fetchone()[0])
    assert raw["CustomField"][0]["Name"] == "Crew #"  # fields we do not model are kept


def test_xero_demo_company_invoices_sync_to_their_amounts_due(workspace: Workspace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = connected(workspace, "xero", "a46fcb6f-2773-40c4-a119-8aa08bca1e8e", monkeypatch)
    with REPLAY.use_cassette("xero_full_sync.yaml", allow_playback_repeats=False) as cassette:
        report = sync_client(workspace, key)
    assert report.outcome == "succeeded", report.error
    assert cassette.all_played
    recorded = json.loads((Path(__file__).parent / "data" / "xero" / "demo_company_invoices.json").read_text())
    receivable = [i for i in recorded["Invoices"] if i["Status"] in ("AUTHORISED", "PAID", "VOIDED")]
    assert report.counts["invoices"].new == len(receivable)
    conn = sqlite3.connect(workspace.store_path(key))
    ours = dict(conn.execute("SELECT id, balance FROM invoices").fetchall())
    checked = 0
    for invoice in receivable:
        if invoice["Status"] != "VOIDED" and not invoice.get("AmountCredited"):
            assert ours[invoice["InvoiceID"]] == round(invoice["AmountDue"] * 100), invoice["InvoiceNumber"]
            checked += 1
    assert checked > 20  # every invoice settled by payments alone matches Xero's AmountDue to the cent
