"""Load a large csv ledger into a fresh store: rows per second and peak memory.

Generates a sample company (not timed) of N invoices with their payments and credit notes, then runs
`connector sync` in a child process, timing it and reading the child's peak RSS.  Then it runs the same
sync again with `--full` (every file re-read, nothing to change).  Prints a table; asserts nothing.

    python benchmarks/csv_load.py --invoices 1000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from child import run_connector

from connector.config import Workspace
from connector.sandbox.company import CompanySpec, generate
from connector.sandbox.csv_export import write_csv_company


def run_sync(workspace: Workspace, *extra: str) -> tuple[float, float, dict]:
    """(wall seconds, peak RSS in MB of the sync process, its JSON report)."""
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace.config_dir),
           "CONNECTOR_DATA_DIR": str(workspace.data_dir)}
    seconds, peak, output = run_connector(["sync", "bench", *extra], env)
    return seconds, peak, output["clients"][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="connector-bench-") as temp:
        root = Path(temp)
        started = time.perf_counter()
        counts = write_csv_company(generate(CompanySpec(seed=args.seed, invoices=args.invoices)), root / "ledger")
        generated = time.perf_counter() - started
        workspace = Workspace(root / "config", root / "data")
        workspace.create_client("bench", "csv", path=str(root / "ledger"), currency="GBP")
        rows = sum(counts.values())
        first, first_rss, report = run_sync(workspace)
        again, again_rss, _ = run_sync(workspace, "--full")
        size = sum(f.stat().st_size for f in (root / "data" / "bench").iterdir()) / 1e6
    print(f"generated {rows:,} rows in {generated:.1f} s: "
          + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
    print(f"store: {size:,.0f} MB; records: {report['new']:,}")
    print(f"{'run':<28}{'seconds':>10}{'rows/s':>12}{'peak RSS MB':>14}")
    for label, seconds, rss in (("first load", first, first_rss), ("re-read, nothing changed", again, again_rss)):
        print(f"{label:<28}{seconds:>10.1f}{rows / seconds:>12,.0f}{rss:>14,.0f}")


if __name__ == "__main__":
    main()
