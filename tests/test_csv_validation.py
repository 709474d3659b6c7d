"""Bad csv files: each is refused with file, line, column and reason, exit status 2, store untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import Workspace
from tests.conftest import cli, dump_store

GOOD = {
    "customers.csv": "id,name,email,currency,timezone\n"
                     "C1,O'Brien & Sons,ob@example.com,,Europe/London\n"
                     "C2,Zoë Çelik GmbH,,EUR,Europe/Berlin\n",
    "invoices.csv": "id,customer_id,issue_date,due_date,total,number,currency,exchange_rate\n"
                    "I1,C1,2026-01-01,2026-01-31,100.00,1001,,\n"
                    "I2,C1,2026-02-01,2026-03-03,250.50,1002,,\n"
                    "I3,C2,2026-02-01,2026-03-03,80.00,1003,EUR,0.86\n",
    "payments.csv": "id,customer_id,date,amount,invoice_id,currency\n"
                    "P1,C1,2026-02-10,100.00,I1,\n"
                    "P1,C1,2026-02-10,50.00,I2,\n"
                    "P2,C2,2026-03-10,30.00,I3,EUR\n",
    "credit_notes.csv": "id,customer_id,date,amount,invoice_id,reason\n"
                        "N1,C1,2026-03-01,20.00,I2,bad_debt\n",
}


def write_ledger(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def loaded(workspace: Workspace, tmp_path: Path) -> tuple[Workspace, Path]:
    """A client whose good ledger is already in the store."""
    ledger = tmp_path / "ledger"
    write_ledger(ledger, GOOD)
    assert cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger), "--currency", "GBP").exit_code == 0
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 0, result.output
    return workspace, ledger


def replace(name: str, old: str, new: str) -> dict[str, str]:
    assert old in GOOD[name]
    return {**GOOD, name: GOOD[name].replace(old, new)}


CASES = {
    "missing column": (replace("invoices.csv", ",due_date,", ",due,"),
                       "invoices.csv, line 1, column due_date: required column missing"),
    "impossible date": (replace("invoices.csv", "2026-03-03,250.50", "2026-02-30,250.50"),
                        "invoices.csv, line 3, column due_date: '2026-02-30' is an impossible date"),
    "date not ISO": (replace("payments.csv", "P2,C2,2026-03-10", "P2,C2,10/03/2026"),
                     "payments.csv, line 4, column date: '10/03/2026' is not a date as YYYY-MM-DD"),
    "malformed amount": (replace("invoices.csv", "250.50", "1,250.50"),
                         "invoices.csv, line 3: 9 fields where the header has 8"),
    "malformed quoted amount": (replace("invoices.csv", "250.50", '"1,250.50"'),
                                "invoices.csv, line 3, column total: '1,250.50' is not a plain decimal"),
    "too many decimals": (replace("payments.csv", "50.00", "50.005"),
                          "payments.csv, line 3, column amount: '50.005' has 3 decimal places; GBP has 2"),
    "negative payment": (replace("payments.csv", "50.00", "-50.00"),
                         "payments.csv, line 3, column amount: '-50.00' must be more than zero"),
    "duplicate id": (replace("invoices.csv", "I2,C1", "I1,C1"),
                     "invoices.csv, line 3, column id: duplicate id 'I1' (first at line 2)"),
    "payment rows apart": ({**GOOD, "payments.csv": GOOD["payments.csv"] + "P1,C1,2026-02-10,10.00,,\n"},
                           "payments.csv, line 5, column id: duplicate id 'P1' (first at line 2); "
                           "rows of one payment or credit note must be adjacent"),
    "one invoice twice in a payment": (replace("payments.csv", "100.00,I1,\nP1,C1,2026-02-10,50.00,I2,",
                                                "40.00,I1,\nP1,C1,2026-02-10,50.00,I1,"),
                                        "payments.csv, line 3, column invoice_id: allocates to invoice 'I1' "
                                        "more than once"),
    "allocation to unknown invoice": (replace("payments.csv", "50.00,I2", "50.00,I99"),
                                      "payments.csv, line 3, column invoice_id: unknown invoice 'I99'"),
    "unknown customer": (replace("invoices.csv", "I2,C1", "I2,C9"),
                         "invoices.csv, line 3, column customer_id: unknown customer 'C9'"),
    "currency mismatch on allocation": (replace("payments.csv", "P2,C2,2026-03-10,30.00,I3,EUR",
                                                "P2,C2,2026-03-10,30.00,I3,USD"),
                                        "payments.csv, line 4, column invoice_id: payment in USD allocated to "
                                        "invoice 'I3' in EUR"),
    "currency mismatch with customer": (replace("invoices.csv", "80.00,1003,EUR", "80.00,1003,USD"),
                                        "invoices.csv, line 4, column currency: invoice in USD for customer "
                                        "'C2', whose currency is EUR"),
    "payment for another customer's invoice": (replace("payments.csv", "P2,C2,2026-03-10,30.00,I3,EUR",
                                                       "P2,C2,2026-03-10,30.00,I1,GBP"),
                                               "payments.csv, line 4, column invoice_id: invoice 'I1' belongs "
                                               "to customer 'C1', not 'C2'"),
    "payment applied to a void invoice": (
        {**GOOD, "invoices.csv": "id,customer_id,issue_date,due_date,total,number,currency,exchange_rate,status\n"
                                 "I1,C1,2026-01-01,2026-01-31,100.00,1001,,,open\n"
                                 "I2,C1,2026-02-01,2026-03-03,250.50,1002,,,void\n"
                                 "I3,C2,2026-02-01,2026-03-03,80.00,1003,EUR,0.86,open\n"},
        "payments.csv, line 3, column invoice_id: invoice 'I2' is void: nothing can be applied to it (a payment "
        "kept as credit on account has no invoice_id)"),
    "over-allocated invoice": (replace("payments.csv", "100.00,I1", "150.00,I1"),
                               "invoices.csv, line 2, column total: payments and credits applied to invoice "
                               "'I1' come to 150.00, more than its total 100.00"),
    "foreign invoice without rate": (replace("invoices.csv", "EUR,0.86", "EUR,"),
                                     "invoices.csv, line 4, column exchange_rate: required for amounts in EUR"),
    "unknown status": ({**GOOD, "invoices.csv": "id,customer_id,issue_date,due_date,total,status\n"
                                                "I1,C1,2026-01-01,2026-01-31,100.00,paid\n"
                                                "I2,C1,2026-02-01,2026-03-03,250.50,open\n"
                                                "I3,C2,2026-02-01,2026-03-03,80.00,void\n"},
                       "invoices.csv, line 2, column status: 'paid' is not a status (open or void)"),
    "refund of an unknown payment": ({**GOOD, "refunds.csv": "payment_id,date,amount\nP9,2026-03-01,5.00\n"},
                                     "refunds.csv, line 2, column payment_id: no payment 'P9' in payments.csv"),
    "refund naming two records": ({**GOOD, "refunds.csv": "payment_id,credit_note_id,date,amount\n"
                                                          "P1,N1,2026-03-01,5.00\n"},
                                  "refunds.csv, line 2: a refund names the payment_id or the credit_note_id it "
                                  "refunds: one of them"),
    "refund of a payment refused": ({**replace("payments.csv", "2026-03-10,30.00,I3", "2026-03-10,-30.00,I3"),
                                     "refunds.csv": "payment_id,date,amount\nP2,2026-03-20,5.00\n"},
                                    "payments.csv, line 4, column amount: '-30.00' must be more than zero"),
    "refund before its payment": ({**GOOD, "refunds.csv": "payment_id,date,amount\nP1,2026-02-01,5.00\n"},
                                  "refunds.csv, line 2, column date: 2026-02-01 is before the payment it refunds "
                                  "(2026-02-10)"),
    "refund of credit already applied": ({**GOOD, "refunds.csv": "credit_note_id,date,amount\nN1,2026-03-02,5.00\n"},
                                         "refunds.csv, line 2, column amount: the refunds of credit note 'N1' add "
                                         "up to 5.00, more than the 0.00 it left unapplied"),
    "missing file": ({k: v for k, v in GOOD.items() if k != "payments.csv"}, "payments.csv: file not found"),
    "not utf-8": ({**GOOD, "customers.csv": None}, "customers.csv: not UTF-8 text"),
    "bad timezone": (replace("customers.csv", "Europe/Berlin", "Berlin"),
                     "customers.csv, line 3, column timezone: 'Berlin' is not an IANA time zone"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_with_its_place_and_the_store_is_unchanged(
        loaded: tuple[Workspace, Path], case: str) -> None:
    workspace, ledger = loaded
    files, message = CASES[case]
    store = workspace.data_dir / "acme" / "store.sqlite"
    before = dump_store(store)
    for name in GOOD:
        (ledger / name).unlink()
    for name, text in files.items():
        if text is None:
            (ledger / name).write_bytes(GOOD[name].encode("latin-1", "replace").replace(b"?", b"\xe9"))
        else:
            (ledger / name).write_text(text, encoding="utf-8")

    result = cli(workspace, "sync", "acme")

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "the store was not changed" in result.output
    assert dump_store(store) == before


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_first_sync_is_refused_the_same_way_and_leaves_the_store_empty(
        workspace: Workspace, tmp_path: Path, case: str) -> None:
    """A first sync loads straight into the store, where rows keep no line; a problem found there sends
    the ledger through staging again, so the message is the same as for any later sync."""
    files, message = CASES[case]
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    for name, text in files.items():
        if text is None:
            (ledger / name).write_bytes(GOOD[name].encode("latin-1", "replace").replace(b"?", b"\xe9"))
        else:
            (ledger / name).write_text(text, encoding="utf-8")
    assert cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger), "--currency", "GBP").exit_code == 0

    result = cli(workspace, "sync", "acme")

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert all(rows == [] for rows in dump_store(workspace.data_dir / "acme" / "store.sqlite").values())


def test_every_problem_is_listed_not_just_the_first(loaded: tuple[Workspace, Path]) -> None:
    workspace, ledger = loaded
    text = GOOD["invoices.csv"].replace("2026-01-31", "2026-13-01").replace("250.50", "abc")
    (ledger / "invoices.csv").write_text(text)
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 2
    assert "line 2, column due_date" in result.output and "line 3, column total" in result.output
    assert "2 problem(s)" in result.output


def test_credit_note_reason_bad_debt_is_kept_as_a_write_off(loaded: tuple[Workspace, Path]) -> None:
    import sqlite3

    workspace, _ = loaded
    conn = sqlite3.connect(workspace.data_dir / "acme" / "store.sqlite")
    assert conn.execute("SELECT reason, amount, unapplied FROM credit_notes").fetchall() == [("bad_debt", 2000, 0)]
    # I2: 250.50 less 50.00 paid and 20.00 written off
    assert conn.execute("SELECT balance FROM invoices WHERE id = 'I2'").fetchone() == (18050,)
    assert conn.execute("SELECT balance FROM invoices WHERE id = 'I3'").fetchone() == (5000,)


def test_a_ledger_first_synced_empty_loads_when_its_rows_arrive(workspace: Workspace, tmp_path: Path) -> None:
    """An empty ledger's sync leaves a cursor and an empty store; the next sync is still a first load."""
    ledger = tmp_path / "ledger"
    write_ledger(ledger, {name: text.splitlines(keepends=True)[0] for name, text in GOOD.items()})
    assert cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger), "--currency", "GBP").exit_code == 0
    assert cli(workspace, "sync", "acme").exit_code == 0
    write_ledger(ledger, GOOD)
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 0, result.output
    assert len(dump_store(workspace.data_dir / "acme" / "store.sqlite")["invoices"]) == 3


def test_a_refused_payments_refunds_are_not_reported_as_refunding_nothing(loaded: tuple[Workspace, Path]) -> None:
    """The payment's own problem is the one to fix; "no payment 'P2'" beside it would send the reader looking
    for a payment that is there."""
    workspace, ledger = loaded
    files, _ = CASES["refund of a payment refused"]
    for name, text in files.items():
        (ledger / name).write_text(text, encoding="utf-8")
    result = cli(workspace, "sync", "acme")
    assert result.exit_code == 2 and "'-30.00' must be more than zero" in result.output
    assert "no payment" not in result.output and "1 problem(s)" in result.output


def test_one_reason_failing_many_rows_is_told_once_with_its_lines(workspace: Workspace, tmp_path: Path) -> None:
    """A consultant who set the wrong home currency sees one line naming the cause and the rows, not a hundred
    copies of it that hide the other problems; checking stops at a hundred problems, and says so."""
    ledger = tmp_path / "ledger"
    rows = "".join(f"I{n},C2,2026-02-01,2026-03-03,80.00,{n},EUR,\n" for n in range(1, 131))
    write_ledger(ledger, {**GOOD, "invoices.csv": GOOD["invoices.csv"].splitlines(keepends=True)[0] + rows
                          + "I999,C1,2026-02-01,2026-02-30,5.00,999,,\n",
                          "payments.csv": GOOD["payments.csv"].splitlines(keepends=True)[0],
                          "credit_notes.csv": GOOD["credit_notes.csv"].splitlines(keepends=True)[0]})
    assert cli(workspace, "init", "acme", "--host", "csv", "--path", str(ledger), "--currency", "GBP").exit_code == 0

    result = cli(workspace, "sync", "acme")

    assert result.exit_code == 2
    assert ("invoices.csv, lines 2-101 (100 lines), column exchange_rate: required for amounts in EUR "
            "(home currency GBP, from the client's config: is that right?)") in " ".join(result.output.split())
    assert "checking stopped after 100 problems" in result.output
    assert result.output.count("exchange_rate") == 1

    # Under the cap, each kind of problem is told once, its lines as ranges; a single one as before.
    header = GOOD["invoices.csv"].splitlines(keepends=True)[0]
    write_ledger(ledger, {"invoices.csv": header + "I1,C2,2026-02-01,2026-03-03,80.00,1,EUR,\n"
                          "I2,C2,2026-02-01,2026-03-03,80.00,2,EUR,\n"
                          "I3,C2,2026-02-01,2026-03-03,80.00,3,EUR,0.86\n"
                          "I4,C2,2026-02-01,2026-03-03,80.00,4,EUR,\n"
                          "I5,C1,2026-02-01,2026-02-30,5.00,5,,\n"})
    result = cli(workspace, "sync", "acme")
    told = " ".join(result.output.split())
    assert result.exit_code == 2 and "4 problem(s)" in told and "checking stopped" not in told
    assert "invoices.csv, lines 2-3, 5 (3 lines), column exchange_rate" in told
    assert "invoices.csv, line 6, column due_date: '2026-02-30' is an impossible date" in told
