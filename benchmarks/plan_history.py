"""The plan of a client chased every day: after days of recorded plans, and after a year's worth of them.

`benchmarks/engine.py` times the plan of a ledger never chased before: nothing executed, no contacts.  A
client run every day has its plans' actions recorded as executed (by push, or `plan --record`), thousands a
day, kept for good as the audit trail.  This copies the benchmark's store, records the plans of the `--days`
days before the as-of date one by one (`connector plan --record`, each in a process of its own), times the plan of
the as-of date, then adds the executed steps a year of daily runs would have left on the invoices paid
before those days (each step whose offset an invoice passed before it was paid, executed on the day it was
reached: synthetic, written with SQL, since a year of real runs takes hours) and times the plan again.

    python benchmarks/plan_history.py --keep DIR [--days 10] [--runs 3]

DIR is a folder `benchmarks/engine.py --keep DIR` prepared (it is generated and loaded there if it is not);
the copy is made in a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from child import run_connector
from engine import TODAY, prepared, spread
from connector import planning
from connector.config import Workspace
from connector.sync.store import Store

# One executed action per step an invoice paid before :before passed while it was open, run on the day it
# was reached: what daily runs would have recorded on it (keys unlike any a plan makes).
_PAST_STEPS = """
    WITH steps(name, kind, channel, offset) AS (
        SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]' FROM json_each(:steps))
    SELECT 'past:' || i.id || ':' || s.name, i.customer_id, s.name, s.kind, s.channel,
           date(i.due_date, printf('%+d days', s.offset)) AS executed_on, s.offset, i.id
    FROM invoices i INDEXED BY invoices_paid JOIN steps s
    WHERE i.paid_on < :before AND i.balance = 0 AND i.paid_on > date(i.due_date, printf('%+d days', s.offset))
"""


def past_steps(store: Path, workspace: Workspace, before: dt.date) -> None:
    """Add the executed steps of a year's daily runs on the invoices paid before `before`."""
    policy = workspace.load_policy(workspace.load_client("bench").policy)
    steps = json.dumps([[s.name, s.action, s.channel, s.offset_days] for s in policy.steps])
    conn = sqlite3.connect(store)
    with conn:
        rows = conn.execute(_PAST_STEPS, {"steps": steps, "before": before.isoformat()}).fetchall()
        conn.executemany("INSERT INTO actions (key, customer_id, step, kind, channel, repeat, executed_on, due_at, "
                         "recorded_at, recorded_by, source, offset_days) VALUES (?, ?, ?, ?, ?, 0, ?6, "
                         "?6 || 'T09:00:00+00:00', '2025-01-01T00:00:00+00:00', 'benchmark', 'record', ?7)",
                         [row[:7] for row in rows])
        conn.executemany("INSERT INTO action_invoices VALUES (?, ?)", [(row[0], row[7]) for row in rows])
    conn.close()


def timed_plans(workspace: Workspace, runs: int) -> tuple[list[float], int]:
    seconds, actions = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        plan = planning.plan(workspace, "bench", as_of=TODAY)
        seconds.append(time.perf_counter() - started)
        actions = len(plan.actions)
    return seconds, actions


def executed(store: Path) -> tuple[int, int]:
    conn = sqlite3.connect(store)
    counts = conn.execute("SELECT (SELECT COUNT(*) FROM actions), (SELECT COUNT(*) FROM action_invoices)").fetchone()
    conn.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, required=True, help="the folder benchmarks/engine.py --keep uses")
    parser.add_argument("--invoices", type=int, default=1_000_000, help="if DIR has no store yet")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    prepared(args.keep, args.invoices)
    with tempfile.TemporaryDirectory(prefix="connector-bench-") as temp:
        root = Path(temp)
        for part in ("config", "data"):
            shutil.copytree(args.keep / part, root / part)
        workspace = Workspace(root / "config", root / "data")
        store = workspace.store_path("bench")
        Store(store).close()  # (a store from an older version is migrated here, not in the first timed plan)
        conn = sqlite3.connect(store)
        (invoices,) = conn.execute("SELECT COUNT(*) FROM invoices").fetchone()  # (DIR's, whatever --invoices says)
        conn.close()
        rows = [("never chased", *timed_plans(workspace, args.runs), *executed(store))]
        env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(root / "config"), "CONNECTOR_DATA_DIR": str(root / "data")}
        for n in range(args.days, 0, -1):  # (each day's run in a process of its own, as a scheduled job's is)
            run_connector(["plan", "bench", "--as-of", str(TODAY - dt.timedelta(days=n)), "--record"], env)
        rows.append((f"after {args.days} days recorded", *timed_plans(workspace, args.runs), *executed(store)))
        past_steps(store, workspace, TODAY - dt.timedelta(days=args.days + 5))
        rows.append(("and a year's steps before", *timed_plans(workspace, args.runs), *executed(store)))
    print(f"plan as of {TODAY} of a store of {invoices:,} invoices; {args.runs} run(s) each")
    print(f"{'store':<30}{'executed actions':>18}{'their invoices':>16}{'actions planned':>17}{'seconds':>14}")
    for label, seconds, actions, done, linked in rows:
        print(f"{label:<30}{done:>18,}{linked:>16,}{actions:>17,}{spread(seconds):>14}")


if __name__ == "__main__":
    main()
