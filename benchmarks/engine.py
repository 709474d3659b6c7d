"""Aging, metrics and plan on a large store, against the bare SQLite scan of the same store.

Generates a sample company (N invoices, N/10 customers), loads it with `connector sync`, then times, in
one process: the bare scan `SELECT customer_id, SUM(balance) FROM invoices GROUP BY customer_id`, and the
library calls behind `connector aging`, `metrics` and `plan` (the target: their sum within 5 × the scan),
then, for the record, `segments`, `forecast`, `allowance` and `aging --by invoice`.  Prints a table with the
peak RSS.

    python benchmarks/engine.py --invoices 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from connector import planning, reports
from connector.config import Workspace
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.csv_export import write_csv_company
from connector.sync.runner import sync_client

TODAY = dt.date(2026, 6, 30)


def timed(label: str, action, rows: list) -> object:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    rows.append((label, time.perf_counter() - started))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="connector-bench-") as temp:
        root = Path(temp)
        write_csv_company(generate(CompanySpec(seed=1, invoices=args.invoices, today=TODAY)), root / "ledger")
        workspace = Workspace(root / "config", root / "data")
        workspace.create_client("bench", "csv", path=str(root / "ledger"), currency="GBP")
        report = sync_client(workspace, "bench")
        assert report.outcome == "succeeded", report.error
        rows: list[tuple[str, float]] = []
        conn = sqlite3.connect(workspace.store_path("bench"))
        scan = timed("bare scan (GROUP BY customer_id)", lambda: conn.execute(
            "SELECT customer_id, SUM(balance) FROM invoices GROUP BY customer_id").fetchall(), rows)
        aging = timed("aging", lambda: reports.aging(workspace, "bench", as_of=TODAY), rows)
        timed("metrics", lambda: reports.metrics(workspace, "bench", as_of=TODAY), rows)
        plan = timed("plan", lambda: planning.plan(workspace, "bench", as_of=TODAY), rows)
        others: list[tuple[str, float]] = []  # the other reports, outside the target
        timed("segments", lambda: reports.segments(workspace, "bench", as_of=TODAY), others)
        timed("forecast", lambda: reports.forecast(workspace, "bench", as_of=TODAY), others)
        timed("allowance", lambda: reports.allowance(workspace, "bench", as_of=TODAY), others)
        timed("aging by invoice", lambda: reports.aging(workspace, "bench", as_of=TODAY, by="invoice"), others)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base = rows[0][1]
    print(f"{args.invoices:,} invoices, {len(scan):,} customers, {len(aging.lines):,} owing, "  # type: ignore[attr-defined]
          f"{len(plan.actions):,} actions, {len(plan.holds):,} holds")  # type: ignore[attr-defined]
    print(f"{'step':<36}{'seconds':>9}{'× scan':>9}")
    for label, seconds in rows:
        print(f"{label:<36}{seconds:>9.2f}{seconds / base:>9.1f}")
    engine = sum(s for _, s in rows[1:])
    print(f"{'aging + metrics + plan':<36}{engine:>9.2f}{engine / base:>9.1f}")
    for label, seconds in others:
        print(f"{label + ' (not in the target)':<36}{seconds:>9.2f}{seconds / base:>9.1f}")
    print(f"peak RSS of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
