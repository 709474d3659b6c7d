"""Aging, metrics and plan on a large store, against the bare SQLite scan of the same store.

Generates a sample company (N invoices, N/10 customers), loads it with `connector sync`, then times, in
one process: the bare scan `SELECT customer_id, SUM(balance) FROM invoices GROUP BY customer_id`, and the
library calls behind `connector aging`, `metrics` and `plan` (the target: their sum within 5 × the scan),
then, for the record, `segments`, `forecast`, `allowance` and `aging --by invoice`.  Prints a table with the
peak RSS.

    python benchmarks/engine.py --invoices 1000000 [--runs 3] [--keep DIR]

`--runs N` times every step N times over (the scan first in each round, so that each round's ratio is of
its own scan) and prints each step's fastest and slowest: whole runs on a shared machine vary by up to a
fifth.  `--keep DIR` keeps the generated company and its store in DIR, and reuses them when DIR already holds
them (a million invoices take half a minute to generate and load).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from connector import planning, reports
from connector.config import Workspace
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.csv_export import write_csv_company
from connector.sync.runner import sync_client

TODAY = dt.date(2026, 6, 30)
TARGET = ("aging", "metrics", "plan")


def prepared(root: Path, invoices: int) -> Workspace:
    """The benchmark client in `root`: generated and synced, unless a previous run left it there."""
    workspace = Workspace(root / "config", root / "data")
    if workspace.client_file("bench").exists() and workspace.store_path("bench").exists():
        return workspace
    write_csv_company(generate(CompanySpec(seed=1, invoices=invoices, today=TODAY)), root / "ledger")
    workspace.create_client("bench", "csv", path=str(root / "ledger"), currency="GBP", force=True)
    report = sync_client(workspace, "bench")
    assert report.outcome == "succeeded", report.error
    return workspace


def steps(workspace: Workspace) -> dict[str, Callable[[], object]]:
    conn = sqlite3.connect(workspace.store_path("bench"))
    return {
        "bare scan (GROUP BY customer_id)": lambda: conn.execute(
            "SELECT customer_id, SUM(balance) FROM invoices GROUP BY customer_id").fetchall(),
        "aging": lambda: reports.aging(workspace, "bench", as_of=TODAY),
        "metrics": lambda: reports.metrics(workspace, "bench", as_of=TODAY),
        "plan": lambda: planning.plan(workspace, "bench", as_of=TODAY),
        "segments": lambda: reports.segments(workspace, "bench", as_of=TODAY),
        "forecast": lambda: reports.forecast(workspace, "bench", as_of=TODAY),
        "allowance": lambda: reports.allowance(workspace, "bench", as_of=TODAY),
        "aging by invoice": lambda: reports.aging(workspace, "bench", as_of=TODAY, by="invoice"),
    }


def measure(workspace: Workspace, runs: int) -> tuple[dict[str, list[float]], list[float], str]:
    """Seconds per step per round, the target's ratio to the scan per round, and what the reports held.

    Each result is let go before the next step runs, as each command's would be: the peak RSS is of one
    report at a time (with the store's caches), not of all of them together.
    """
    seconds: dict[str, list[float]] = defaultdict(list)
    ratios, counts = [], {}
    for _ in range(runs):
        for label, action in steps(workspace).items():
            started = time.perf_counter()
            result = action()
            seconds[label].append(time.perf_counter() - started)
            if label in ("bare scan (GROUP BY customer_id)", "aging", "plan"):
                counts[label] = _count(label, result)
            del result
        scan = seconds["bare scan (GROUP BY customer_id)"][-1]
        ratios.append(sum(seconds[label][-1] for label in TARGET) / scan)
    held = (f"{counts['bare scan (GROUP BY customer_id)']:,} customers, {counts['aging']:,} owing, "
            f"{counts['plan']}")
    return seconds, ratios, held


def _count(label: str, result: object) -> object:
    if label == "plan":
        return f"{len(result.actions):,} actions, {len(result.holds):,} holds"  # type: ignore[attr-defined]
    return len(result.lines) if label == "aging" else len(result)  # type: ignore[attr-defined, arg-type]


def spread(values: list[float], digits: int = 2) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}f}" if f"{low:.{digits}f}" == f"{high:.{digits}f}" else \
        f"{low:.{digits}f} – {high:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the company and its store in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="connector-bench-") as temp:
        root = args.keep or Path(temp)
        root.mkdir(parents=True, exist_ok=True)
        seconds, ratios, held = measure(prepared(root, args.invoices), args.runs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.invoices:,} invoices, {held}; {args.runs} run(s)")
    print(f"{'step':<40}{'seconds':>16}")
    for label, values in seconds.items():
        note = "" if label in (*TARGET, "bare scan (GROUP BY customer_id)") else " (not in the target)"
        print(f"{label + note:<40}{spread(values):>16}")
    engine = [sum(seconds[label][n] for label in TARGET) for n in range(args.runs)]
    print(f"{'aging + metrics + plan':<40}{spread(engine):>16}")
    print(f"{'… × the scan of the same round':<40}{spread(ratios, 1):>16}   (target ≤ 5)")
    print(f"peak RSS of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
