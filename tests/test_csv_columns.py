"""The column-wise csv path gives exactly the store rows of the row-by-row path, and steps aside when unsure."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from connector.adapters import csv as csv_host
from connector.adapters import csv_columns
from connector.adapters.csv import CsvLedger
from connector.adapters.csv_columns import Chunk, Layout
from connector.records import ENTITIES
from connector.sync.rows import Prepared
from connector.sync.staging import Staging
from tests.conftest import make_company, read_rows, write_rows


def staged(folder: Path, *, columnwise: bool) -> tuple[dict[str, list[tuple]], int]:
    """Every staged row (origins included), and how many chunks came prepared."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    staging, prepared = Staging(conn), 0
    for item in CsvLedger(folder, "GBP", columnwise=columnwise).read():
        prepared += isinstance(item, Prepared)
        staging.add(item)
    staging.flush()
    return {name: conn.execute(f"SELECT * FROM stg_{name} ORDER BY rowid").fetchall()
            for name in (*ENTITIES, "allocations")}, prepared


def test_plain_company_is_read_column_wise_into_the_same_rows(tmp_path: Path) -> None:
    folder = make_company(tmp_path / "ledger", invoices=3_000)
    fast, prepared = staged(folder, columnwise=True)
    slow, none = staged(folder, columnwise=False)
    assert none == 0 and prepared >= 3  # customers, invoices and payments came column-wise
    assert fast == slow
    assert len(fast["invoices"]) == 3_000 and fast["allocations"]


def test_unusual_rows_fall_back_row_by_row_with_the_same_result(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks, so that plain and unusual chunks alternate and multi-row payments straddle the cuts."""
    monkeypatch.setattr(csv_host, "CHUNK_ROWS", 7)
    folder = make_company(tmp_path / "ledger", invoices=400)
    header, rows = read_rows(folder / "invoices.csv")
    total = header.index("total")
    rows[3][total] = rows[3][total].rstrip("0").rstrip(".") or "0"  # one decimal place, or none
    rows[20][total] = f" {rows[20][total]}"  # a value to strip
    rows[40][header.index("status")] = "VOID"  # a status in capitals
    header.append("memo")
    for at, row in enumerate(rows):
        row.append("line one\nline two" if at % 50 == 9 else f"memo {at}" if at % 3 == 0 else "")
    write_rows(folder / "invoices.csv", header, rows)
    header, rows = read_rows(folder / "payments.csv")
    rows.insert(30, [])  # a blank line
    rows[60][header.index("date")] = "2024-W01-1"  # an ISO week date: what the row-by-row reader makes of it
    write_rows(folder / "payments.csv", header, rows)
    header, rows = read_rows(folder / "customers.csv")
    header.append("credit_limit")
    for at, row in enumerate(rows):
        row.append(("5000", "0100.50", "", "250.5")[at % 4])
    rows[5][header.index("timezone")] = ""
    write_rows(folder / "customers.csv", header, rows)

    fast, prepared = staged(folder, columnwise=True)
    slow, _ = staged(folder, columnwise=False)
    assert prepared > 0
    assert fast == slow
    origins = [row[-1] for row in fast["invoices"]]
    assert origins[11] == "invoices.csv:14"  # the row after a two-line value ends a line later
    assert {row[7] for row in fast["customers"]} == {"5000", "100.50", None, "250.5"}


def layout(*header: str) -> Layout:
    return Layout("invoices.csv", len(header), {name: at for at, name in enumerate(header)}, [])


@pytest.mark.parametrize(("row", "why"), [
    (["I1", "C1", "2024-01-01", "2024-01-31", "10.00"], None),
    (["I1", "C1", "2024-01-01", "2024-01-31", "10"], "whole amount"),
    (["I1", "C1", "2024-01-01", "2024-01-31", "10.001"], "three decimals"),
    (["I1", "C1", "2024-01-01", "2024-01-31", "-1.00"], "negative"),
    (["I1", "C1", "2024-02-30", "2024-03-31", "10.00"], "impossible date"),
    (["I1", "C1", "2024-01-31", "2024-01-01", "10.00"], "due before issued"),
    (["I1", "", "2024-01-01", "2024-01-31", "10.00"], "no customer"),
    (["I1 ", "C1", "2024-01-01", "2024-01-31", "10.00"], "a space to strip"),
    (["I1", "C1", "2024-01-01", "2024-01-31"], "ragged"),
])
def test_a_chunk_with_anything_unusual_is_left_to_the_row_by_row_reader(row: list[str], why: str | None) -> None:
    chunk = Chunk(layout("id", "customer_id", "issue_date", "due_date", "total"),
                  [["I0", "C1", "2024-01-01", "2024-01-31", "1.00"], row], range(2, 4))
    prepared = csv_columns.invoices(chunk, lambda customer: "GBP", "GBP")
    assert (prepared is None) == (why is not None), why
    if prepared is not None:
        assert [r[6] for r in prepared.records] == [100, 1000]
        assert [r[-1] for r in prepared.records] == ["invoices.csv:2", "invoices.csv:3"]


def test_foreign_invoices_need_a_rate_and_home_ones_a_rate_of_one() -> None:
    def chunk(currency: str, rate: str) -> Chunk:
        return Chunk(layout("id", "customer_id", "issue_date", "due_date", "total", "currency", "exchange_rate"),
                     [["I1", "C1", "2024-01-01", "2024-01-31", "10.00", currency, rate]], range(2, 3))

    def read(currency: str, rate: str) -> Prepared | None:
        return csv_columns.invoices(chunk(currency, rate), lambda customer: "GBP", "GBP")

    assert read("USD", "") is None and read("GBP", "1.2") is None and read("USD", "abc") is None
    assert read("USD", "0.79").records[0][7] == "0.79"  # type: ignore[union-attr]
    assert read("GBP", "").records[0][7] is None  # type: ignore[union-attr]
